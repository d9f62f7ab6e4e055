package api

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"contigo/records"
)

// Names for the seeded persons of BenchmarkMatch: common ones, so that
// blocking brings many candidates.
var (
	benchGiven   = []string{"María", "José", "Valentina", "Juan", "Camila", "Luis", "Sofía", "Carlos", "Daniela", "Miguel", "Ana", "Santiago"}
	benchSurname = []string{"García", "Rodríguez", "Pérez", "González", "López", "Martínez", "Quispe", "Mamani", "Rojas", "Torres", "Díaz", "Ramírez", "Flores", "Vargas", "Castillo", "Gómez"}
)

// benchPerson returns the Patient JSON of the i-th seeded person of r.
func benchPerson(r *rand.Rand) (given, family, birth string) {
	given = benchGiven[r.IntN(len(benchGiven))]
	family = benchSurname[r.IntN(len(benchSurname))] + " " + benchSurname[r.IntN(len(benchSurname))]
	birth = time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(1800)).Format(time.DateOnly)
	return given, family, birth
}

// BenchmarkMatch measures Patient/$match with n persons per node (see
// benchSizes): on one node, and from EC with _federated=true across CO,
// EC and PE (each its own database, mutual TLS on loopback). Queries are
// seeded persons with the accents and second surname dropped. It reports
// the 50th and 95th percentile latency of the iterations (p50-ms,
// p95-ms) besides the mean.
func BenchmarkMatch(b *testing.B) {
	for _, n := range benchSizes() {
		for _, tc := range []struct {
			name      string
			countries []records.Country
			path      string
		}{
			{"single-node", []records.Country{"EC"}, "/fhir/Patient/$match"},
			{"federated-3", []records.Country{"CO", "EC", "PE"}, "/fhir/Patient/$match?_federated=true"},
		} {
			b.Run(fmt.Sprintf("%s/persons=%d", tc.name, n), func(b *testing.B) {
				nodes := startFederation(b, fedOptions{}, tc.countries...)
				r := rand.New(rand.NewPCG(1, 2))
				var queries []string
				for _, node := range nodes {
					for range n {
						g, f, d := benchPerson(r)
						must(b, node.do("POST", "/fhir/Patient", node.hw, childJSON(g, f, d, "")), 201)
						if len(queries) < 200 {
							queries = append(queries, matchParams(childJSON(stripAccentsASCII(g), stripAccentsASCII(f[:len(f)/2]), d, ""), false))
						}
					}
				}
				ec := nodes["EC"]
				benchCall(b, ec, "POST", tc.path, queries[0], 200)
				var took []time.Duration
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					start := time.Now()
					benchCall(b, ec, "POST", tc.path, queries[i%len(queries)], 200)
					took = append(took, time.Since(start))
					i++
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
			})
		}
	}
}

// stripAccentsASCII replaces the accented letters of the bench names.
func stripAccentsASCII(s string) string {
	out := []rune(s)
	for i, c := range out {
		switch c {
		case 'á':
			out[i] = 'a'
		case 'é':
			out[i] = 'e'
		case 'í':
			out[i] = 'i'
		case 'ó':
			out[i] = 'o'
		case 'ú':
			out[i] = 'u'
		}
	}
	return string(out)
}
