package mongo_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// BenchmarkPatientTermsPostgres measures what the Patient terms kept by a
// trigger (pgpatientterms.go) cost on FerretDB-PostgreSQL, on 10,000
// persons (100,000 with CONTIGO_BENCH_100K=1): "fill" is what a start that
// finds no trigger does (every head's terms written again, once: -benchtime
// is ignored; writers-held-s is the part after the build, which holds the
// writers, with the commit and the vacuum after it), then a visit written
// and a new person inserted with the trigger and without it; run it with
// -count and compare with benchstat:
//
//	CONTIGO_TEST_ENGINE=postgres go test -run='^$' -bench=PatientTermsPostgres -count=6 ./records/mongo/ | tee b.txt
//	benchstat -col /trigger b.txt
func BenchmarkPatientTermsPostgres(b *testing.B) {
	if mongotest.Engine() != "postgres" {
		b.Skip("CONTIGO_TEST_ENGINE=postgres only")
	}
	n := 10_000
	if os.Getenv("CONTIGO_BENCH_100K") == "1" {
		n = 100_000
	}
	b.Run(fmt.Sprintf("persons=%d", n), func(b *testing.B) {
		ctx := b.Context()
		s := mongotest.NewStoreConfig(b, recmongo.Config{Countries: []records.Country{"CO"}})
		start := time.Now()
		seedBench(b, s, n)
		b.Logf("seeded %d persons in %v", n, time.Since(start).Round(time.Second))
		db := s.DatabaseName("CO")
		b.Run("fill", func(b *testing.B) {
			if err := recmongo.PatientTerms(ctx, mongotest.PostgreSQLURL(), db, false); err != nil {
				b.Fatal(err)
			}
			var built time.Time
			start := time.Now()
			if err := recmongo.FillPatientTermsWriting(ctx, mongotest.PostgreSQLURL(), db, func() error { built = time.Now(); return nil }); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds()), "ns/op")
			b.ReportMetric(time.Since(built).Seconds(), "writers-held-s") // the fill after the build, the commit and the vacuum
		})
		// Every seeded person is a Perez: the plan of an exact search
		// matching them all.
		plan, err := recmongo.ExplainExact(ctx, s, "CO", records.Query{Type: "Patient",
			Conds: []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"p"}}}}, true, false)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("family=p:\n%s", plan)
		svc := records.NewService(s, records.ServiceOptions{})
		i := 0
		for _, keep := range []bool{true, false} {
			if err := recmongo.PatientTerms(ctx, mongotest.PostgreSQLURL(), db, keep); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("write-visit/trigger=%v", keep), func(b *testing.B) {
				for b.Loop() {
					i++
					id := benchID(i * 7919 % n)
					changes := []records.Change{{Method: "create", Resource: benchResource(id, "Encounter", "", "2026-03-01")}}
					changes = append(changes, records.Change{Method: "create", Resource: benchResource(id, "Observation", "29463-7", "2026-03-01")})
					if _, err := svc.Write(ctx, "CO", records.Write{PersonID: id, Changes: changes}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("insert-person/trigger=%v", keep), func(b *testing.B) {
				for b.Loop() {
					i++
					id := fmt.Sprintf("new%07d", i)
					if err := s.Insert(ctx, "CO", benchPerson(id, "urn:co:rc|"+id, 0)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
