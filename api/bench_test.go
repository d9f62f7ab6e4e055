package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/records"
	recmongo "contigo/records/mongo"
)

// BenchmarkAPI measures requests through the Echo router on the embedded
// store holding 1,000 persons (and 100,000 with CONTIGO_BENCH_100K=1),
// seeded through the store in batches. Every request includes its audit
// entry, a database write of its own.
func BenchmarkAPI(b *testing.B) {
	sizes := benchSizes()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("persons=%d", n), func(b *testing.B) {
			e := newEnv(b)
			big := seed(b, e, n)
			b.Run("everything-100", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					benchDo(b, e, "GET", "/fhir/Patient/"+big+"/$everything", "", http.StatusOK)
				}
			})
			b.Run("search-identifier", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					benchDo(b, e, "GET", "/fhir/Patient?identifier=urn:contigo:bench|"+benchIdent(rand.IntN(n)), "", http.StatusOK)
				}
			})
			b.Run("read", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					benchDo(b, e, "GET", "/fhir/Patient/"+benchPersonID(rand.IntN(n)), "", http.StatusOK)
				}
			})
			b.Run("upload-visit", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					benchDo(b, e, "POST", "/fhir", visitBundle(fmt.Sprintf("visit-%d-%d", time.Now().UnixNano(), i), "2025-05-05"), http.StatusOK)
				}
			})
		})
	}
}

func benchPersonID(i int) string { return fmt.Sprintf("bench%021d", i) }
func benchIdent(i int) string    { return fmt.Sprintf("%07d", i) }

// benchDo sends one request without schema validation.
func benchDo(b *testing.B, e *env, method, path, body string, want int) {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("Authorization", "Bearer "+e.hw)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: status %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
}

// seed stores n persons (with identifier claims) in CO through the store,
// in batches, plus one record of 100 resources whose id it returns.
func seed(b *testing.B, e *env, n int) string {
	b.Helper()
	ctx := context.Background()
	store := e.store.(*recmongo.Store)
	now := time.Now().UTC().Truncate(time.Millisecond)
	start := time.Now()
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		var ps []*records.Person
		claims := []any{}
		for i := lo; i < min(lo+batch, n); i++ {
			body := strings.Replace(patientJSON("Benítez", "José", benchIdent(i)), "urn:contigo:test", "urn:contigo:bench", 1)
			r, err := fhir.Parse([]byte(body), "Patient", now)
			if err != nil {
				b.Fatal(err)
			}
			r.ID, r.Version, r.Updated = benchPersonID(i), 1, now
			ps = append(ps, &records.Person{ID: r.ID, Country: "CO", Version: 1, Created: now, Updated: now, Resources: []records.Resource{r}})
			claims = append(claims, map[string]string{"_id": "identifier:urn:contigo:bench|" + benchIdent(i), "owner": r.ID})
		}
		if err := store.InsertMany(ctx, "CO", ps); err != nil {
			b.Fatal(err)
		}
		if _, err := store.Client().Database(store.DatabaseName("CO")).Collection("claims").InsertMany(ctx, claims); err != nil {
			b.Fatal(err)
		}
	}
	// One record of 100 entries: the Patient and 99 weights.
	bigID := "bigrecord0000000000000000a"
	p, err := fhir.Parse([]byte(patientJSON("Grande", "Ana", "big")), "Patient", now)
	if err != nil {
		b.Fatal(err)
	}
	p.ID, p.Version, p.Updated = bigID, 1, now
	big := &records.Person{ID: bigID, Country: "CO", Version: 1, Created: now, Updated: now, Resources: []records.Resource{p}}
	for i := range 99 {
		date := now.AddDate(0, 0, -i-1).Format(time.DateOnly)
		o, err := fhir.Parse([]byte(weightJSON(bigID, date, 8+float64(i)/50, "kg")), "Observation", now)
		if err != nil {
			b.Fatal(err)
		}
		o.ID, o.Version, o.Updated = records.NewResourceID(bigID), 1, now
		big.Resources = append(big.Resources, o)
	}
	if err := store.Insert(ctx, "CO", big); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d persons in %v", n, time.Since(start).Round(time.Millisecond))
	return bigID
}

// benchSizes returns the numbers of persons the API benchmarks seed: 1,000,
// and 100,000 when CONTIGO_BENCH_100K=1 (minutes of seeding on the
// embedded engine, so off by default).
func benchSizes() []int {
	if os.Getenv("CONTIGO_BENCH_100K") == "1" {
		return []int{1000, 100_000}
	}
	return []int{1000}
}
