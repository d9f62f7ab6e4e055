package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"testing"
)

// BenchmarkSearchR4 measures the searches of issue 11 through the Echo
// router on the embedded store holding 1,000 and 10,000 persons (set
// CONTIGO_BENCH_SEARCH_SIZES=off to run 1,000 only): each names a patient
// (compartment, chain, _revinclude from an identifier search) and should
// cost the same at both sizes, since it reads that record by its id. The
// test store is not the exclusive embedded one, so a chain on an
// identifier without its system (a Patient search by idx, answered by
// MongoDB's index or the embedded in-process index in production) is left
// out: here it would read every head.
func BenchmarkSearchR4(b *testing.B) {
	sizes := []int{1000, 10_000}
	if os.Getenv("CONTIGO_BENCH_SEARCH_SIZES") == "off" {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("persons=%d", n), func(b *testing.B) {
			e := newEnv(b)
			big := seed(b, e, n)
			// seed stores the big record without its identifier claim.
			if _, err := e.store.Claim(context.Background(), "CO", "identifier", "urn:contigo:test|big", big); err != nil {
				b.Fatal(err)
			}
			for _, c := range []struct {
				name, path string
				entries    int
			}{
				{"compartment-value-quantity", "/fhir/Patient/" + big + "/Observation?value-quantity=gt9||kg&_count=100", 48},
				{"chain-include", "/fhir/Observation?subject.identifier=urn:contigo:test|big&_include=Observation:subject&_count=100", 100},
				{"elements", "/fhir/Observation?patient=" + big + "&_elements=code,value&_count=100", 99},
				{"revinclude", "/fhir/Patient?identifier=urn:contigo:test|big&_revinclude=Observation:subject", 100},
			} {
				b.Run(c.name, func(b *testing.B) {
					r := e.do("GET", c.path, e.hw, "")
					if got := len(entriesByMode(must(b, r, http.StatusOK).JSON(b))["match"]) + len(entriesByMode(r.JSON(b))["include"]); got != c.entries {
						b.Fatalf("%s: %d entries, want %d", c.path, got, c.entries)
					}
					b.ReportAllocs()
					for b.Loop() {
						benchDo(b, e, "GET", c.path, "", http.StatusOK)
					}
				})
			}
			b.Run("read-baseline", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					benchDo(b, e, "GET", "/fhir/Patient/"+benchPersonID(rand.IntN(n)), "", http.StatusOK)
				}
			})
			b.Run("read-summary", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					benchDo(b, e, "GET", "/fhir/Patient/"+benchPersonID(rand.IntN(n))+"?_summary=true", "", http.StatusOK)
				}
			})
		})
	}
}
