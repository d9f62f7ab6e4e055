package mongo

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/records"
)

// BenchmarkNarrowNameBirthdate measures the in-memory part of a Patient
// search by given and family name and birth date on the embedded engine
// (narrow, then records.Match on the candidates), at 10,000 and 100,000
// persons, on two data sets: BenchmarkScale's (60 family names, 36 given
// names, 40 birth dates: one day's list holds a fortieth of the persons)
// and one whose birth dates spread over five years as children under five
// are born (1,826 days), with the same names.
//
//	go test -run='^$' -bench=NarrowNameBirthdate ./records/mongo/
func BenchmarkNarrowNameBirthdate(b *testing.B) {
	const families, givens = 60, 36
	born := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	// name returns a name whose first three letters are k's alone, as
	// real names mostly differ there (the index keeps prefixes of one to
	// three letters).
	name := func(k int) string { return string([]byte{byte('A' + k%26), byte('a' + (k/26)%26), byte('a' + k/676)}) }
	for _, ds := range []struct {
		name string
		days func(i int) int // person i's birth date, in days after born
	}{
		{"scale-40-dates", func(i int) int { return 31 * (i % 40) }},
		{"spread-1826-dates", func(i int) int { return (i * 7919) % 1826 }},
	} {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("data=%s/persons=%d", ds.name, n), func(b *testing.B) {
				var ix patientIndex
				person := func(i int) (family, given, birth string) {
					return name((i/40)%families) + "ez", name(100+(i/7)%givens) + "a",
						born.AddDate(0, 0, ds.days(i)).Format(time.DateOnly)
				}
				for i := range n {
					id := fmt.Sprintf("p%07d", i)
					family, given, birth := person(i)
					body := `{"resourceType":"Patient","id":"` + id + `","name":[{"family":"` + family + `","given":["` + given + `"]}],"birthDate":"` + birth + `"}`
					r, err := fhir.Parse([]byte(body), "Patient", born.AddDate(6, 0, 0))
					if err != nil {
						b.Fatal(err)
					}
					r.ID, r.Version = id, 1
					ix.put("CO", id, 1, r, true, []string{"Patient"})
				}
				ps := ix.country("CO")
				rnd := rand.New(rand.NewPCG(1, 2))
				queries := make([]records.Query, 256)
				for k := range queries {
					family, given, birth := person(rnd.IntN(n))
					req, err := fhir.ParseSearch("Patient", url.Values{"family": {family}, "given": {given}, "birthdate": {birth}})
					if err != nil {
						b.Fatal(err)
					}
					queries[k] = req.Query
				}
				found := 0
				b.ReportAllocs()
				k := 0
				for b.Loop() {
					q := queries[k%len(queries)]
					k++
					ids, _, _ := ps.narrow(queryTerms(q))
					found += len(slices.DeleteFunc(ids, func(id string) bool { return !records.Match(ps.current[id], q.Conds) }))
				}
				b.ReportMetric(float64(found)/float64(k), "matches/op")
			})
		}
	}
}
