package mongo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSplitJoinState pages states of 0 to 100 assessments holding nested
// objects, arrays and strings with brackets, commas and escaped quotes, and
// joins them back byte for byte.
func TestSplitJoinState(t *testing.T) {
	type item struct {
		M     string         `json:"m"`
		Z     map[string]any `json:"z"`
		Flags []string       `json:"flags"`
	}
	type state struct {
		Ref         string `json:"person_ref"`
		Country     string `json:"country"`
		Assessments []item `json:"assessments"`
		Alerts      []item `json:"alerts"`
	}
	for n := range 101 {
		st := state{Ref: "r", Country: "CO", Assessments: []item{}, Alerts: []item{{M: "a]", Z: map[string]any{"x": []int{1}}}}}
		for i := range n {
			st.Assessments = append(st.Assessments, item{M: fmt.Sprintf(`enc-%d ],{"\"`, i), Z: map[string]any{"waz": -2.5, "deep": map[string]any{"a": []any{"]", 1, nil}}}, Flags: []string{"x,y"}})
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		ps, ok := splitState(b)
		if ok != (n >= pageSize) {
			t.Fatalf("%d assessments: paged %v", n, ok)
		}
		if !ok {
			continue
		}
		if len(ps.pages) != n/pageSize {
			t.Fatalf("%d assessments: %d pages", n, len(ps.pages))
		}
		var pages []string
		for _, p := range ps.pages {
			pages = append(pages, string(p))
		}
		got, err := joinState(ps.head, ps.splice, ps.tail, pages)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("%d assessments: joined\n%s\nwant\n%s", n, got, b)
		}
	}
}

// TestSplitStateFromEqualsScratch splits a person's successive states, each
// from the scan of the one before (a visit appends, a correction changes an
// early assessment, a deletion removes the last, an alert changes after the
// assessments): every split equals splitState's from scratch, and every
// page id it kept is the id of the page's bytes.
func TestSplitStateFromEqualsScratch(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 7))
	var items []string
	alert := 0
	state := func() []byte {
		return []byte(`{"person_ref":"r","country":"CO","assessments":[` + strings.Join(items, ",") + fmt.Sprintf(`],"alerts":[{"n":%d,"s":"],\""}],"status":{}}`, alert))
	}
	var prev *splitScan
	kept := 0
	for step := range 300 {
		switch k := rng.IntN(10); {
		case k < 7 || len(items) == 0:
			items = append(items, fmt.Sprintf(`{"m":"enc-%d","s":"a],{\"","z":[%d,{"x":"]"}]}`, step, rng.IntN(100)))
		case k < 8:
			items[rng.IntN(len(items))] = fmt.Sprintf(`{"m":"fix-%d"}`, step)
		case k < 9:
			items = items[:len(items)-1]
		default:
			alert++
		}
		b := state()
		want, wantOK := splitState(b)
		got, scan, ok := splitStateFrom(b, prev)
		if ok != wantOK || !bytes.Equal(got.head, want.head) || got.splice != want.splice || got.tail != want.tail || len(got.pages) != len(want.pages) {
			t.Fatalf("step %d: split from the previous scan differs from scratch", step)
		}
		ids := make([]string, len(got.pages))
		for k := range got.pages {
			if !bytes.Equal(got.pages[k], want.pages[k]) {
				t.Fatalf("step %d: page %d differs from scratch", step, k)
			}
			ids[k] = pageID("p1", k, got.pages[k])
			if got.ids[k] != "" {
				kept++
			}
			if got.ids[k] != "" && got.ids[k] != ids[k] {
				t.Fatalf("step %d: page %d kept id %s, its bytes are %s", step, k, got.ids[k], ids[k])
			}
		}
		if scan != nil {
			scan.ids = ids
		}
		prev = scan
	}
	if kept == 0 {
		t.Fatal("no page id was ever kept from the previous scan")
	}
}
