package mongo_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"contigo/records"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
)

// TestSearchAgreesWithMatch: for random queries over values full of
// characters that mean something to regexes, JSON and MongoDB, the store
// returns exactly the resources records.Match selects from all of them.
func TestSearchAgreesWithMatch(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t)
	ctx := t.Context()
	alphabet := []string{"a", "b", ".", "|", "$", "(", "*", `\`, "ü", "ü", " ", "{", `"`}
	word := func(r *rand.Rand) string {
		var w string
		for range r.IntN(4) {
			w += alphabet[r.IntN(len(alphabet))]
		}
		return w
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	var ps []*records.Person
	var all []records.Resource
	for i := range 40 {
		id := fmt.Sprintf("p%02d", i)
		p := newPerson(id, observation(id, word(rnd), word(rnd)))
		p.Resources[0].Keys["family"] = []string{word(rnd), word(rnd)}
		ps = append(ps, p)
		all = append(all, p.Latest()...)
	}
	if err := s.InsertMany(ctx, "CO", ps); err != nil {
		t.Fatal(err)
	}
	ops := []records.Op{records.OpEq, records.OpPrefix, records.OpGe, records.OpLe, records.OpGt, records.OpLt}
	for i := range 60 {
		typ, key := "Patient", "family"
		if i%2 == 1 {
			typ, key = "Observation", []string{"code", "date"}[rnd.IntN(2)]
		}
		q := records.Query{Type: typ, Count: records.MaxCount, Conds: []records.Cond{{Key: key, Op: ops[rnd.IntN(len(ops))], Values: []string{word(rnd), word(rnd)}}}}
		var want []string
		for _, r := range all {
			if r.Type == typ && records.Match(r, q.Conds) {
				want = append(want, r.ID)
			}
		}
		slices.Sort(want)
		page, err := s.Search(ctx, "CO", q)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(page.Resources)
		if len(want) == 0 {
			want = []string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%+v (-match +store):\n%s", q.Conds[0], diff)
		}
		if n, err := s.Count(ctx, "CO", q); err != nil || n != int64(len(want)) {
			t.Errorf("%+v: count %d, %v; want %d", q.Conds[0], n, err, len(want))
		}
	}
}
