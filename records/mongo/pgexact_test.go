package mongo_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
)

// TestPostgresExactSearch: on FerretDB-PostgreSQL, exact Patient searches
// (equalities, name prefixes of one to three letters) are answered from
// the terms a trigger keeps (pgpatientterms.go), and page for page they
// equal what FerretDB's own queries find (a second store without the
// PostgreSQL URL), with the same totals: on random names with accented
// letters, while Patients are renamed, deleted and added, for writes made
// while the trigger was missing (the terms filled again at the next
// start), and never for queries the terms cannot answer exactly.
func TestPostgresExactSearch(t *testing.T) {
	a := postgresStore(t, "CO")
	b := secondStore(t, a, recmongo.Config{}) // no PostgreSQL URL: FerretDB's queries
	ctx := t.Context()
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
			}
		}
	}
	pt := func(conds ...records.Cond) records.Query {
		return records.Query{Type: "Patient", Conds: conds, Count: 1 + rnd.IntN(9)}
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
	// terms) and compares the answer with b's.
	check := func(stage string) {
		t.Helper()
		for _, q := range queries() {
			var got []string
			var total int64 = -1
			for p := q; ; {
				page, ok, err := recmongo.PGExact(ctx, a, "CO", p)
				if err != nil || !ok {
					t.Fatalf("%s: %+v: not answered from the terms (%v)", stage, p.Conds, err)
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
			all := q
			all.Count = records.MaxCount
			want, err := b.Search(ctx, "CO", all)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids(want.Resources), append([]string{}, got...)); diff != "" || total != int64(len(want.Resources)) {
				t.Errorf("%s: %+v: total %d, want %d; ids (-FerretDB +terms):\n%s", stage, q.Conds, total, len(want.Resources), diff)
			}
			n, err := a.Count(ctx, "CO", q)
			if err != nil || n != int64(len(want.Resources)) {
				t.Errorf("%s: %+v: count %d (%v), want %d", stage, q.Conds, n, err, len(want.Resources))
			}
		}
	}
	check("inserted")
	for i := range 4 {
		mutate(a, 25)
		mutate(b, 10) // another replica, without the PostgreSQL URL: the trigger keeps the terms all the same
		check(fmt.Sprintf("after writes %d", i))
	}
	// Writes while the trigger is missing (an older start, or
	// DropPostgresIndexes): not answered from the terms; the next start
	// fills them again.
	db := a.DatabaseName("CO")
	if err := recmongo.DropPostgresIndexes(ctx, mongotest.PostgreSQLURL(), db); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := recmongo.PGExact(ctx, a, "CO", pt(prefix("family", 1))); ok || err != nil {
		t.Fatalf("answered from dropped terms (%v)", err)
	}
	mutate(a, 30)
	if err := recmongo.PostgresIndexes(ctx, mongotest.PostgreSQLURL(), db); err != nil {
		t.Fatal(err)
	}
	check("filled again")
	// Ranges, longer prefixes, _id and sorted searches are not exact.
	for _, q := range []records.Query{
		pt(records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2024"}}),
		pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"gaga"}}),
		pt(records.Cond{Key: "_id", Values: []string{"p001"}}),
		{Type: "Patient", Conds: []records.Cond{prefix("family", 1)}, Sort: []records.SortKey{{Key: "birthdate"}}},
		pt(),
	} {
		if _, ok, _ := recmongo.PGExact(ctx, a, "CO", q); ok {
			t.Errorf("%+v answered from the terms", q)
		}
	}
}
