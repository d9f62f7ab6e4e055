package mongo

import (
	"fmt"
	"slices"
	"testing"

	"contigo/records"
)

// TestNarrowIntersects: the candidates of a Patient search on the
// embedded engine are the persons in every group's postings, while a
// group is not much longer than the candidates left; a far longer group
// (a sex, half the persons) is left to records.Match.
func TestNarrowIntersects(t *testing.T) {
	var ix patientIndex
	for i := range 200 {
		id := fmt.Sprintf("p%03d", i)
		r := records.Resource{Type: "Patient", ID: id, Version: 1, Keys: records.Keys{
			"family":     {[]string{"Garcia", "Gomez", "Perez", "Lopez"}[i%4]},
			"birthdate":  {fmt.Sprintf("2021-03-%02d", 1+i%10)},
			"gender":     {[]string{"female", "male"}[i%2]},
			"identifier": {"urn:t|" + id},
		}}
		ix.put("CO", id, 1, r, true, []string{"Patient"})
	}
	ps := ix.country("CO")
	day := func(d string) []records.Cond {
		return []records.Cond{{Key: "birthdate", Op: records.OpGe, Values: []string{d}}, {Key: "birthdate", Op: records.OpLt, Values: []string{d + "x"}}}
	}
	for _, tt := range []struct {
		name  string
		conds []records.Cond
		want  int // candidates
	}{
		// Garcia: 50, the day: 20, both: 10 (i%4 == 0 and i%10 == 0).
		{"family and birth day", append([]records.Cond{{Key: "family", Values: []string{"Garcia"}}}, day("2021-03-01")...), 10},
		// Gomez holds odd i only, the day even i only: none.
		{"disjoint", append([]records.Cond{{Key: "family", Values: []string{"Gomez"}}}, day("2021-03-01")...), 0},
		// Two letters, Gomez (50), and the day (20): i%20 == 1.
		{"prefix and birth day", append([]records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"Go"}}}, day("2021-03-02")...), 10},
		// Garcia on the day: 10 candidates; male (100 postings, within
		// intersectRatio times 10) narrows them too: they are all even.
		{"sex", append([]records.Cond{{Key: "family", Values: []string{"Garcia"}}, {Key: "gender", Values: []string{"male"}}}, day("2021-03-01")...), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := records.Query{Type: "Patient", Conds: tt.conds}
			cands, ok, all := ps.narrow(queryTerms(q))
			if !ok || !all || len(cands) != tt.want {
				t.Fatalf("candidates %v (%v, every group: %v), want %d", cands, ok, all, tt.want)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(cands)))) != len(cands) {
				t.Errorf("a candidate twice: %v", cands)
			}
			for _, id := range cands {
				if !records.Match(ps.current[id], q.Conds) {
					t.Errorf("candidate %s does not match", id)
				}
			}
		})
	}
	// A group far longer than the candidates is not read: Match checks it.
	one := records.Query{Type: "Patient", Conds: []records.Cond{{Key: "identifier", Values: []string{"urn:t|p000"}}, {Key: "gender", Values: []string{"male"}}}}
	if cands, ok, all := ps.narrow(queryTerms(one)); !ok || all || !slices.Equal(cands, []string{"p000"}) {
		t.Errorf("identifier and sex: %v %v %v, want p000 alone, sex not read", cands, ok, all)
	}
	// Two surnames (a group of two terms): each person once.
	two := records.Query{Type: "Patient", Conds: []records.Cond{{Key: "family", Values: []string{"Garcia", "Gomez"}}}}
	if cands, ok, all := ps.narrow(queryTerms(two)); !ok || !all || len(cands) != 100 || len(slices.Compact(slices.Sorted(slices.Values(cands)))) != 100 {
		t.Errorf("two surnames: %d candidates %v %v, want 100 once each", len(cands), ok, all)
	}
	if _, ok, _ := ps.narrow(nil); ok {
		t.Error("no group narrows")
	}
}
