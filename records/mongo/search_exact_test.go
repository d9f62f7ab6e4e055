package mongo_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
)

// TestExactSearch: exact Patient searches (equalities, name prefixes of
// one to three letters) are answered from indexes by their page alone: on
// FerretDB-PostgreSQL from the terms a trigger keeps (pgpatientterms.go),
// on MongoDB's code path (CONTIGO_TEST_MONGODB_PATHS=1) by a count and a
// sorted, limited find (exactSearch), on the embedded engine from the
// in-process index (indexedPage). Page after page, and in their totals and
// counts, they equal the Patients of a model of the writes that match
// (records.Match): on random names with accented letters, while Patients
// are renamed, deleted and added (on the servers through two replicas, on
// PostgreSQL the second without the PostgreSQL URL), for writes made while
// the trigger was missing (the terms filled again at the next start), and
// never for queries the indexes cannot answer exactly.
func TestExactSearch(t *testing.T) {
	t.Parallel()
	pg := mongotest.Engine() == mongotest.EnginePostgres && !mongotest.MongoDBPaths()
	var a, b *recmongo.Store
	exact := recmongo.ExactSearch
	if pg || mongotest.MongoDBPaths() {
		a = mongotest.NewStore(t, "CO")
		b = secondStore(t, a, recmongo.Config{MongoDBPaths: mongotest.MongoDBPaths()}) // on PostgreSQL: no PostgreSQL URL, FerretDB's queries
	} else {
		a, exact = mongotest.NewEmbedded(t, "CO"), recmongo.IndexedPage // one process on its directory: no second replica
	}
	ctx := t.Context()
	model := map[string]records.Resource{} // the current Patient of each person
	rnd := rand.New(rand.NewPCG(3, 4))
	syllables := []string{"ga", "gö", "ñu", "pe", "ro", "g", "o"}
	name := func() string {
		s := ""
		for range 1 + rnd.IntN(3) {
			s += syllables[rnd.IntN(len(syllables))]
		}
		return s
	}
	versions := map[string]int64{}
	person := func(i int) *records.Person {
		id := fmt.Sprintf("p%03d", i)
		p := newPerson(id)
		p.Resources[0].Keys["family"] = []string{name()}
		p.Resources[0].Keys["given"] = []string{name(), name()}
		versions[id] = 1
		model[id] = p.Resources[0]
		return p
	}
	var ps []*records.Person
	for i := range 120 {
		ps = append(ps, person(i))
	}
	if err := a.InsertMany(ctx, "CO", ps); err != nil {
		t.Fatal(err)
	}
	next := 120
	// mutate renames, deletes or adds n Patients, through store s.
	mutate := func(s *recmongo.Store, n int) {
		for range n {
			switch k := rnd.IntN(5); {
			case k == 0:
				if err := s.Insert(ctx, "CO", person(next)); err != nil {
					t.Fatal(err)
				}
				next++
			default:
				id := fmt.Sprintf("p%03d", rnd.IntN(next))
				v := versions[id] + 1
				r := patient(id, v, "urn:co|"+id)
				r.Keys["family"] = []string{name()}
				r.Keys["given"] = []string{name()}
				r.Deleted = k == 1
				if err := s.Append(ctx, "CO", &records.Commit{PersonID: id, Version: v, At: t0, Resources: []records.Resource{r}}); err != nil {
					t.Fatal(err)
				}
				versions[id] = v
				model[id] = r
			}
		}
	}
	pt := func(conds ...records.Cond) records.Query {
		return records.Query{Type: "Patient", Conds: conds, Count: 4 + rnd.IntN(9)}
	}
	prefix := func(key string, runes int) records.Cond {
		v := []rune(name())
		return records.Cond{Key: key, Op: records.OpPrefix, Values: []string{string(v[:min(runes, len(v))])}}
	}
	eq := func(key string, n int) records.Cond {
		c := records.Cond{Key: key}
		for range n {
			c.Values = append(c.Values, name())
		}
		return c
	}
	queries := func() []records.Query {
		var qs []records.Query
		for _, n := range []int{1, 2, 3} {
			qs = append(qs, pt(prefix("family", n)), pt(prefix("given", n)), pt(prefix("family", n), prefix("given", 1)))
		}
		return append(qs, pt(eq("family", 1)), pt(eq("family", 3)), pt(eq("given", 2), prefix("family", 1)),
			pt(records.Cond{Key: "identifier", Values: []string{"urn:co|p007", "urn:co|p100", "urn:co|p130"}}),
			pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"g", "ñ"}}),
			pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"g"}}, records.Cond{Key: "gender", Values: []string{"female"}}))
	}
	// check pages through every query on a (each page answered from the
	// server's indexes) and compares the answer with the model's.
	check := func(stage string) {
		t.Helper()
		for _, q := range queries() {
			var got []string
			var total int64 = -1
			for p := q; ; {
				page, ok, err := exact(ctx, a, "CO", p)
				if !ok && err == nil && b == nil && len(p.Conds) > 1 {
					// The embedded index intersects a group only while it
					// is not much longer than the candidates left
					// (patients.narrow); the others are checked one by one.
					page, err = a.Search(ctx, "CO", p)
					ok = true
				}
				if err != nil || !ok {
					t.Fatalf("%s: %+v: not answered from the indexes (%v)", stage, p.Conds, err)
				}
				if total >= 0 && page.Total != total {
					t.Errorf("%s: %+v: total %d, then %d", stage, q.Conds, total, page.Total)
				}
				total = page.Total
				got = append(got, ids(page.Resources)...)
				if page.Next == "" {
					break
				}
				p.After = page.Next
			}
			want := []string{}
			for id, r := range model {
				if !r.Deleted && records.Match(r, q.Conds) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, append([]string{}, got...)); diff != "" || total != int64(len(want)) {
				t.Errorf("%s: %+v: total %d, want %d; ids (-model +found):\n%s", stage, q.Conds, total, len(want), diff)
			}
			n, err := a.Count(ctx, "CO", q)
			if err != nil || n != int64(len(want)) {
				t.Errorf("%s: %+v: count %d (%v), want %d", stage, q.Conds, n, err, len(want))
			}
		}
	}
	check("inserted")
	for i := range 4 {
		mutate(a, 25)
		if b != nil {
			mutate(b, 10) // another replica (on PostgreSQL without the URL: the trigger keeps the terms all the same)
		}
		check(fmt.Sprintf("after writes %d", i))
	}
	if pg {
		refill(t, a, mutate, pt(prefix("family", 1)))
		check("filled again")
		// A start that finds an older trigger name: Patients renamed,
		// deleted and added after the fill read the heads, before it
		// holds the writers (through the other replica).
		if err := recmongo.RenamePatientTermsTrigger(ctx, mongotest.PostgreSQLURL(), a.DatabaseName("CO"), "contigo_patient_terms_v1"); err != nil {
			t.Fatal(err)
		}
		if err := recmongo.FillPatientTermsWriting(ctx, mongotest.PostgreSQLURL(), a.DatabaseName("CO"), func() error { mutate(b, 40); return nil }); err != nil {
			t.Fatal(err)
		}
		check("filled again, written during the fill")
		// The total and the page come from the terms' primary key, and
		// the Patients from FerretDB's btree on _id.
		for _, q := range []records.Query{pt(prefix("family", 1)), pt(prefix("family", 2), eq("given", 2))} {
			plan, err := recmongo.ExplainExact(ctx, a, "CO", q, false, true)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "contigo_patient_terms_pkey") || !strings.Contains(plan, "_id_") || strings.Contains(plan, "Seq Scan") {
				t.Errorf("%+v: the exact search does not read the terms' index and the heads by _id:\n%s", q.Conds, plan)
			}
		}
	}
	// Ranges, longer prefixes, _id and sorted searches are not exact.
	for _, q := range []records.Query{
		pt(records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2024"}}),
		pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"gaga"}}),
		pt(records.Cond{Key: "_id", Values: []string{"p001"}}),
		{Type: "Patient", Conds: []records.Cond{prefix("family", 1)}, Sort: []records.SortKey{{Key: "birthdate"}}},
		pt(),
	} {
		if _, ok, _ := exact(ctx, a, "CO", q); ok {
			t.Errorf("%+v answered from the indexes", q)
		}
	}
}

// refill drops the Patient terms of a (as an older start or
// DropPostgresIndexes leaves them), checks that query q is not answered
// from them, writes through mutate meanwhile, then starts again
// (postgresIndexes), which fills them.
func refill(t *testing.T, a *recmongo.Store, mutate func(*recmongo.Store, int), q records.Query) {
	t.Helper()
	ctx := t.Context()
	db := a.DatabaseName("CO")
	if err := recmongo.DropPostgresIndexes(ctx, mongotest.PostgreSQLURL(), db); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := recmongo.ExactSearch(ctx, a, "CO", q); ok || err != nil {
		t.Fatalf("answered from dropped terms (%v)", err)
	}
	mutate(a, 30)
	if err := recmongo.PostgresIndexes(ctx, mongotest.PostgreSQLURL(), db); err != nil {
		t.Fatal(err)
	}
}

// TestExactSearchConcurrentRenames: 8 writers on two replicas rename the
// same 30 Patients at once (each commit a compare-and-swap on the record's
// version, retried on conflict); afterwards every exact search answers
// exactly the Patients read back by id. On FerretDB-PostgreSQL the trigger
// diffs each head's row as PostgreSQL updated it, whichever writer won.
func TestExactSearchConcurrentRenames(t *testing.T) {
	t.Parallel()
	if !(mongotest.Engine() == mongotest.EnginePostgres || mongotest.MongoDBPaths()) {
		t.Skip("FerretDB-PostgreSQL or MongoDB's code path only")
	}
	a := mongotest.NewStore(t, "CO")
	b := secondStore(t, a, recmongo.Config{MongoDBPaths: mongotest.MongoDBPaths()})
	ctx := t.Context()
	names := []string{"garcia", "gomez", "ñuñez", "perez", "rojas", "ortiz", "gil", "go"}
	var ps []*records.Person
	for i := range 30 {
		ps = append(ps, newPerson(fmt.Sprintf("p%02d", i)))
	}
	if err := a.InsertMany(ctx, "CO", ps); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		s := []*recmongo.Store{a, b}[w%2]
		rnd := rand.New(rand.NewPCG(uint64(w), 9))
		wg.Go(func() {
			for range 15 {
				id := fmt.Sprintf("p%02d", rnd.IntN(30))
				for attempt := 0; ; attempt++ {
					p, err := s.Person(ctx, "CO", id)
					if err != nil {
						errs <- err
						return
					}
					r := patient(id, p.Version+1, "urn:co|"+id)
					r.Keys["family"] = []string{names[rnd.IntN(len(names))]}
					err = s.Append(ctx, "CO", &records.Commit{PersonID: id, Version: p.Version + 1, At: t0, Resources: []records.Resource{r}})
					if err == nil {
						break
					}
					if !errors.Is(err, records.ErrVersionMismatch) || attempt == 50 {
						errs <- fmt.Errorf("rename %s: %w", id, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	model := map[string]records.Resource{}
	for _, p := range ps {
		got, err := a.Person(ctx, "CO", p.ID)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := got.Current("Patient", p.ID)
		if !ok {
			t.Fatalf("%s has no Patient", p.ID)
		}
		model[p.ID] = r
	}
	for _, v := range []string{"g", "go", "gom", "ñ", "ñu", "p", "ro", "o", "gil"} {
		q := records.Query{Type: "Patient", Conds: []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{v}}}, Count: records.MaxCount}
		page, ok, err := recmongo.ExactSearch(ctx, a, "CO", q)
		if err != nil || !ok {
			t.Fatalf("family=%s: not answered from the indexes (%v)", v, err)
		}
		want := []string{}
		for id, r := range model {
			if records.Match(r, q.Conds) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, ids(page.Resources)); diff != "" || page.Total != int64(len(want)) {
			t.Errorf("family=%s: total %d, want %d; ids (-read back +found):\n%s", v, page.Total, len(want), diff)
		}
	}
}

// TestExactSearchDuringRefill: starts that find the terms' trigger under
// an older name fill new tables and swap them in (termsFill) while the
// replica searches without pause. Every search is answered, from the
// indexes once the new trigger is there or by the general path before,
// and every answer equals the Patients written; after the last fill the
// indexes answer again.
func TestExactSearchDuringRefill(t *testing.T) {
	t.Parallel()
	if mongotest.Engine() != mongotest.EnginePostgres || mongotest.MongoDBPaths() {
		t.Skip("FerretDB-PostgreSQL only")
	}
	a := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	families := []string{"garcia", "gomez", "ñuñez", "perez", "rojas", "ortiz", "gil", "go"}
	var ps []*records.Person
	model := map[string]records.Resource{}
	for i := range 300 {
		p := newPerson(fmt.Sprintf("p%03d", i))
		p.Resources[0].Keys["family"] = []string{families[i%len(families)]}
		ps = append(ps, p)
		model[p.ID] = p.Resources[0]
	}
	if err := a.InsertMany(ctx, "CO", ps); err != nil {
		t.Fatal(err)
	}
	queries := []records.Query{}
	for _, v := range []string{"g", "go", "ñ", "p", "gil"} {
		queries = append(queries, records.Query{Type: "Patient", Count: records.MaxCount,
			Conds: []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{v}}}})
	}
	want := func(q records.Query) []string {
		out := []string{}
		for id, r := range model {
			if records.Match(r, q.Conds) {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	done := make(chan struct{})
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := map[bool]int{} // from the indexes or not
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				q := queries[(i+w)%len(queries)]
				page, exact, err := recmongo.ExactSearch(ctx, a, "CO", q)
				if err == nil && !exact {
					page, err = a.Search(ctx, "CO", q)
				}
				if err != nil {
					errs <- fmt.Errorf("%+v: %w", q.Conds, err)
					return
				}
				if diff := cmp.Diff(want(q), ids(page.Resources)); diff != "" || page.Total != int64(len(want(q))) {
					errs <- fmt.Errorf("%+v (from the indexes %v): total %d; ids (-written +found):\n%s", q.Conds, exact, page.Total, diff)
					return
				}
				mu.Lock()
				answered[exact]++
				mu.Unlock()
			}
		})
	}
	db := a.DatabaseName("CO")
	for i := range 6 {
		if err := recmongo.RenamePatientTermsTrigger(ctx, mongotest.PostgreSQLURL(), db, fmt.Sprintf("contigo_patient_terms_v0%d", i)); err != nil {
			t.Fatal(err)
		}
		if err := recmongo.PatientTerms(ctx, mongotest.PostgreSQLURL(), db, true); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, q := range queries {
		if _, exact, err := recmongo.ExactSearch(ctx, a, "CO", q); !exact || err != nil {
			t.Errorf("%+v: not answered from the indexes after the fills (%v)", q.Conds, err)
		}
	}
	t.Logf("searches answered from the indexes: %d, by the general path: %d", answered[true], answered[false])
}
