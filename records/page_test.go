package records_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"contigo/records"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseCursor: any token either parses and round-trips, or is
// rejected as ErrMalformed; nothing panics.
func FuzzParseCursor(f *testing.F) {
	f.Add(records.Cursor{Values: []string{"2026-01-01"}, ID: "p1"}.String())
	f.Add(records.Cursor{ID: "x"}.String())
	f.Add("")
	f.Add("%%%")
	f.Add("eyJ2IjpudWxsfQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := records.ParseCursor(s)
		if err != nil {
			if !errors.Is(err, records.ErrMalformed) {
				t.Fatalf("ParseCursor(%q): %v does not match ErrMalformed", s, err)
			}
			return
		}
		again, err := records.ParseCursor(c.String())
		if err != nil {
			t.Fatalf("re-parse of %+v: %v", c, err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}

// Walking the pages of Paginate from the start visits every match once, in
// the order of a full sort by the sort keys then id, for any page size,
// with the total on every page and no cursor after the last page.
func TestPaginateWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var matches []records.Resource
		for i := range rng.IntN(120) {
			keys := records.Keys{}
			for range rng.IntN(3) { // none, one or two values
				keys["date"] = append(keys["date"], fmt.Sprintf("2025-0%d", 1+rng.IntN(5)))
			}
			keys["area"] = []string{fmt.Sprintf("A%d", rng.IntN(4))}
			matches = append(matches, records.Resource{Type: "Flag", ID: fmt.Sprintf("f%03d", i), Keys: keys})
		}
		sorts := [][]records.SortKey{nil, {{Key: "date"}}, {{Key: "date", Desc: true}}, {{Key: "area"}, {Key: "date", Desc: true}}}
		sort := sorts[round%len(sorts)]
		want := slices.Clone(matches)
		slices.SortFunc(want, func(a, b records.Resource) int {
			av, bv := records.SortValues(a, sort), records.SortValues(b, sort)
			for i, k := range sort {
				if c := strings.Compare(av[i], bv[i]); c != 0 {
					if k.Desc {
						return -c
					}
					return c
				}
			}
			return strings.Compare(a.ID, b.ID)
		})
		q := records.Query{Type: "Flag", Sort: sort, Count: 1 + rng.IntN(40)}
		var got []string
		for pages := 0; ; pages++ {
			if pages > len(matches)+1 {
				t.Fatalf("round %d: no end of pages", round)
			}
			page, err := records.Paginate(slices.Clone(matches), q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != int64(len(matches)) || len(page.Resources) > q.Count {
				t.Fatalf("round %d: total %d of %d, page of %d (count %d)", round, page.Total, len(matches), len(page.Resources), q.Count)
			}
			for _, r := range page.Resources {
				got = append(got, r.ID)
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		var ids []string
		for _, r := range want {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("round %d (sort %v, count %d):\ngot  %v\nwant %v", round, sort, q.Count, got, ids)
		}
	}
}

// PageIDs gives the pages Paginate gives for resources with those ids, in
// id order, page after page, whatever the page size.
func TestPageIDsIsPaginate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 200 {
		var ids []string
		var matches []records.Resource
		for _, i := range rng.Perm(rng.IntN(150)) {
			id := fmt.Sprintf("p%03d", i)
			ids = append(ids, id)
			matches = append(matches, records.Resource{Type: "Patient", ID: id})
		}
		q := records.Query{Type: "Patient", Count: 1 + rng.IntN(40)}
		for pages := 0; ; pages++ {
			if pages > len(ids)+1 {
				t.Fatalf("round %d: no end of pages", round)
			}
			want, err := records.Paginate(matches, q)
			if err != nil {
				t.Fatal(err)
			}
			got, next, err := records.PageIDs(ids, q)
			if err != nil {
				t.Fatal(err)
			}
			var wantIDs []string
			for _, r := range want.Resources {
				wantIDs = append(wantIDs, r.ID)
			}
			if !slices.Equal(got, wantIDs) || next != want.Next {
				t.Fatalf("round %d, after %q: got %v next %q, want %v next %q", round, q.After, got, next, wantIDs, want.Next)
			}
			if next == "" {
				break
			}
			q.After = next
		}
	}
	if _, _, err := records.PageIDs([]string{"a"}, records.Query{Sort: []records.SortKey{{Key: "birthdate"}}}); err == nil {
		t.Error("PageIDs of a sorted query: no error")
	}
	if _, _, err := records.PageIDs([]string{"a"}, records.Query{After: "not a cursor"}); !errors.Is(err, records.ErrMalformed) {
		t.Errorf("PageIDs after a malformed cursor: %v, want ErrMalformed", err)
	}
}
