package mongo

import (
	"bytes"
	"encoding/json"
	"fmt"
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
