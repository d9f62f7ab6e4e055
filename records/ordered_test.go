package records_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"contigo/records"
)

// TestOrderedIndexEqualsPaginate puts, replaces and removes random
// resources, then walks random queries page by page (single- and
// multi-valued equalities, ranges, none): every page, total and cursor of
// OrderedIndex.Page equals Paginate's over the resources that Match.
func TestOrderedIndexEqualsPaginate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sorts := [][]records.SortKey{{{Key: "created"}}, {{Key: "created", Desc: true}}, {{Key: "area"}, {Key: "created"}}}
	for round := range 150 {
		sort := sorts[round%len(sorts)]
		x := records.NewOrderedIndex(sort)
		held := map[string]records.Resource{}
		for range rng.IntN(300) {
			id := fmt.Sprintf("f%03d", rng.IntN(150))
			if rng.IntN(6) == 0 {
				x.Remove(id)
				delete(held, id)
				continue
			}
			keys := records.Keys{"alert": {"1"}}
			if round%5 != 0 && rng.IntN(10) == 0 { // every fifth round every Flag is an alert
				delete(keys, "alert")
			}
			for range rng.IntN(3) { // none, one or two values (maybe equal)
				keys["created"] = append(keys["created"], fmt.Sprintf("2025-0%d", 1+rng.IntN(5)))
			}
			keys["area"] = []string{fmt.Sprintf("A%d", rng.IntN(4))}
			keys["status"] = []string{[]string{"active", "resolved", "active"}[rng.IntN(3)]}
			r := records.Resource{Type: "Flag", ID: id, Keys: keys}
			x.Put(r)
			held[id] = r
		}
		if round%2 == 1 { // the same, built at once
			var rs []records.Resource
			for _, r := range held {
				rs = append(rs, r)
			}
			x = records.OrderedIndexOf(sort, rs)
		}
		if x.Len() != len(held) {
			t.Fatalf("round %d: index holds %d, want %d", round, x.Len(), len(held))
		}
		var all []records.Resource
		for _, r := range held {
			all = append(all, r)
		}
		for qi := range 8 {
			var conds []records.Cond
			if qi%2 == 0 {
				conds = append(conds, records.Cond{Key: "alert", Op: records.OpEq, Values: []string{"1"}})
			}
			switch rng.IntN(4) {
			case 0:
				conds = append(conds, records.Cond{Key: "area", Op: records.OpEq, Values: []string{fmt.Sprintf("A%d", rng.IntN(5))}})
			case 1:
				conds = append(conds, records.Cond{Key: "area", Op: records.OpEq, Values: []string{"A1", "A3"}})
			case 2:
				conds = append(conds, records.Cond{Key: "created", Op: records.OpGe, Values: []string{"2025-03"}})
			}
			if rng.IntN(3) == 0 {
				conds = append(conds, records.Cond{Key: "status", Op: records.OpEq, Values: []string{"active"}})
			}
			q := records.Query{Type: "Flag", Conds: conds, Sort: sort, Count: 1 + rng.IntN(30)}
			var matches []records.Resource
			for _, r := range all {
				if records.Match(r, conds) {
					matches = append(matches, r)
				}
			}
			for pages := 0; ; pages++ {
				if pages > len(all)+1 {
					t.Fatalf("round %d: no end of pages", round)
				}
				want, err := records.Paginate(matches, q)
				if err != nil {
					t.Fatal(err)
				}
				got, err := x.Page(q)
				if err != nil {
					t.Fatal(err)
				}
				if got.Total != want.Total || got.Next != want.Next || !reflect.DeepEqual(ids(got.Resources), ids(want.Resources)) {
					t.Fatalf("round %d, conds %v, after %q:\ngot  total %d next %q %v\nwant total %d next %q %v",
						round, conds, q.After, got.Total, got.Next, ids(got.Resources), want.Total, want.Next, ids(want.Resources))
				}
				if got.Next == "" {
					break
				}
				q.After = got.Next
			}
		}
	}
	if _, err := records.NewOrderedIndex([]records.SortKey{{Key: "created"}}).Page(records.Query{Sort: []records.SortKey{{Key: "area"}}}); err == nil {
		t.Error("a query in another order was answered")
	}
}

func ids(rs []records.Resource) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
