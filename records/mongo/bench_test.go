package mongo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// benchSchema names the layout of the cached benchmark datasets; change it
// whenever personDoc or the seed changes, so that stale caches are rebuilt.
const benchSchema = "4" // stored format 2 (the commit log)

// BenchmarkStore measures the hot paths on the embedded engine holding
// 1,000 persons (and 100,000 with CONTIGO_BENCH_100K=1), with and without
// the SQLite _id expression index. Datasets are built once into
// $TMPDIR/contigo-bench-<schema>-<n> and reused.
//
//	go test -run='^$' -bench=Store ./records/mongo/
//	CONTIGO_BENCH_100K=1 go test -run='^$' -bench=Store -timeout=60m ./records/mongo/
func BenchmarkStore(b *testing.B) {
	sizes := []int{1000}
	if os.Getenv("CONTIGO_BENCH_10K") == "1" {
		sizes = append(sizes, 10_000)
	}
	if os.Getenv("CONTIGO_BENCH_100K") == "1" {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		for _, index := range []bool{true, false} {
			b.Run(fmt.Sprintf("persons=%d/sqlite_index=%v", n, index), func(b *testing.B) {
				benchDataset(b, n, index)
			})
		}
	}
}

func benchDataset(b *testing.B, n int, index bool) {
	dir := cachedDataset(b, n)
	ctx := context.Background()
	s, err := recmongo.Open(ctx, recmongo.Config{DataDir: dir, Countries: []records.Country{"CO"}, NoSQLiteIndexes: !index})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	benchStore(b, s, n)
}

// BenchmarkStorePostgres is BenchmarkStore on FerretDB over PostgreSQL, with
// and without the GIN indexes of --postgresql-url: 1,000 persons (10,000
// with CONTIGO_BENCH_10K=1), seeded into fresh databases each run.
//
//	CONTIGO_TEST_ENGINE=postgres go test -run='^$' -bench=StorePostgres ./records/mongo/
func BenchmarkStorePostgres(b *testing.B) {
	if mongotest.Engine() != "postgres" {
		b.Skip("CONTIGO_TEST_ENGINE=postgres only")
	}
	sizes := []int{1000}
	if os.Getenv("CONTIGO_BENCH_10K") == "1" {
		sizes = append(sizes, 10_000)
	}
	for _, n := range sizes {
		for _, index := range []bool{true, false} {
			b.Run(fmt.Sprintf("persons=%d/pg_index=%v", n, index), func(b *testing.B) {
				cfg := recmongo.Config{Countries: []records.Country{"CO"}}
				s := mongotest.NewStoreConfig(b, cfg)
				if !index {
					// A second store on the same server without the URL
					// would still find the indexes: drop them instead.
					if err := recmongo.DropPostgresIndexes(b.Context(), mongotest.PostgreSQLURL(), s.DatabaseName("CO")); err != nil {
						b.Fatal(err)
					}
				}
				seedBench(b, s, n)
				benchStore(b, s, n)
			})
		}
	}
}

// benchStore runs the hot paths on s, which holds the persons of seed.
func benchStore(b *testing.B, s *recmongo.Store, n int) {
	ctx := context.Background()
	svc := records.NewService(s, records.ServiceOptions{})
	rnd := rand.New(rand.NewPCG(1, 2))
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Person(ctx, "CO", benchID(rnd.IntN(n))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("find_by_identifier", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.FindByIdentifier(ctx, "CO", benchIdent(rnd.IntN(n))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("search_family_page", func(b *testing.B) {
		// Every seeded person is a Perez: the in-process Patient index
		// answers, then the page is sorted from all n matches.
		b.ReportAllocs()
		q := records.Query{Type: "Patient", Count: 20, Conds: []records.Cond{{Key: "family", Values: []string{"perez"}}}}
		for b.Loop() {
			page, err := svc.Search(ctx, "CO", q)
			if err != nil || len(page.Resources) != 20 {
				b.Fatalf("got %d resources, %v", len(page.Resources), err)
			}
		}
	})
	b.Run("everything_100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rs, err := svc.Everything(ctx, "CO", "big0000")
			if err != nil || len(rs) != 101 {
				b.Fatalf("got %d resources, %v", len(rs), err)
			}
		}
	})
	b.Run("write_visit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			id := benchID(rnd.IntN(n))
			changes := []records.Change{{Method: "create", Resource: benchResource(id, "Encounter", "", "2026-03-01")}}
			for _, code := range []string{"29463-7", "8302-2", "56072-2", "8287-5"} {
				changes = append(changes, records.Change{Method: "create", Resource: benchResource(id, "Observation", code, "2026-03-01")})
			}
			if _, err := svc.Write(ctx, "CO", records.Write{PersonID: id, Changes: changes}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchID(i int) string    { return fmt.Sprintf("p%07d", i) }
func benchIdent(i int) string { return fmt.Sprintf("urn:co:rc|%07d", i) }

func benchResource(person, typ, code, date string) records.Resource {
	id := records.NewResourceID(person)
	r := records.Resource{Type: typ, ID: id, Version: 1, Updated: time.Now().UTC().Truncate(time.Millisecond),
		Body: fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"1"},"status":"final","subject":{"reference":"Patient/%s"},"effectiveDateTime":%q}`, typ, id, person, date),
		Keys: records.Keys{"subject": {"Patient/" + person}, "date": {date}}}
	if code != "" {
		r.Body = fmt.Appendf(r.Body[:len(r.Body)-1], `,"code":{"coding":[{"system":"http://loinc.org","code":%q}]},"valueQuantity":{"value":12.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`, code)
		r.Keys["code"] = []string{"http://loinc.org|" + code}
	}
	return r
}

// benchPerson is a child with a Patient, an Encounter and two measurements.
func benchPerson(id, ident string, extra int) *records.Person {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pt := records.Resource{Type: "Patient", ID: id, Version: 1, Updated: now,
		Body: fmt.Appendf(nil, `{"resourceType":"Patient","id":%q,"meta":{"versionId":"1"},"identifier":[{"system":"urn:co:rc","value":%q}],"name":[{"family":"Perez","given":["Ana"]}],"gender":"female","birthDate":"2024-01-15"}`, id, ident),
		Keys: records.Keys{"identifier": {ident}, "family": {"perez"}, "given": {"ana"}, "name": {"ana", "perez"}, "gender": {"female"}, "birthdate": {"2024-01-15"}}}
	p := &records.Person{ID: id, Country: "CO", Version: 1, Created: now, Updated: now, Resources: []records.Resource{pt,
		benchResource(id, "Encounter", "", "2026-01-01"),
		benchResource(id, "Observation", "29463-7", "2026-01-01"),
		benchResource(id, "Observation", "8302-2", "2026-01-01")}}
	for i := range extra {
		p.Resources = append(p.Resources, benchResource(id, "Observation", "29463-7", fmt.Sprintf("2025-%02d-%02d", i%12+1, i%28+1)))
	}
	return p
}

// cachedDataset returns the data dir of the embedded engine holding n
// persons p0000000... with identifiers urn:co:rc|0000000..., plus big0000
// (a record of 101 current resources), and their identifier claims.
func cachedDataset(b *testing.B, n int) string {
	b.Helper()
	return mongotest.CachedDataDir(b, fmt.Sprintf("contigo-bench-%s-%d", benchSchema, n), []records.Country{"CO"}, func(s *recmongo.Store) { seedBench(b, s, n) })
}

// seedBench inserts n persons p0000000... with identifiers urn:co:rc|0000000...,
// their identifier claims, and big0000.
func seedBench(b *testing.B, s *recmongo.Store, n int) {
	ctx := context.Background()
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		var ps []*records.Person
		for i := lo; i < min(lo+batch, n); i++ {
			ps = append(ps, benchPerson(benchID(i), benchIdent(i), 0))
		}
		if err := s.InsertMany(ctx, "CO", ps); err != nil {
			b.Fatal(err)
		}
		claims := make([]any, len(ps))
		for i, p := range ps {
			claims[i] = map[string]string{"_id": "identifier:" + p.Identifiers()[0], "owner": p.ID}
		}
		if _, err := s.Client().Database(s.DatabaseName("CO")).Collection("claims").InsertMany(ctx, claims); err != nil {
			b.Fatal(err)
		}
	}
	big := benchPerson("big0000", "urn:co:rc|big0000", 97)
	if err := s.Insert(ctx, "CO", big); err != nil {
		b.Fatal(err)
	}
}
