package nutrition

import (
	"testing"
	"time"

	"contigo/growth/survey"
)

// TestPrevalenceInput: one row per child, from its latest child assessment
// in the period; women's assessments, other periods and other areas are
// left out; stored z-scores and flags are carried over.
func TestPrevalenceInput(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	z := func(v float64) *float64 { return &v }
	states := []State{
		{Assessments: []Assessment{
			{Date: day("2026-01-05"), Sex: SexFemale, HasAge: true, AgeDays: 400, AdminArea: "Arauca", Z: ZScores{HAZ: z(-1)}},
			{Date: day("2026-02-05"), Sex: SexFemale, HasAge: true, AgeDays: 431, AdminArea: "Arauca", Z: ZScores{HAZ: z(-6.5)}, Flags: []string{FlagHAZ}},
			{Date: day("2026-04-05"), Sex: SexFemale, HasAge: true, AgeDays: 490, AdminArea: "Arauca", Z: ZScores{HAZ: z(0)}}, // after the period
		}},
		{Assessments: []Assessment{{Date: day("2026-01-20"), Sex: SexFemale, PLWStatus: "pregnant", AdminArea: "Arauca"}}},
		{Assessments: []Assessment{{Date: day("2026-01-20"), Sex: SexMale, HasAge: true, AgeDays: 800, AdminArea: "Vichada", Oedema: OedemaPlus}}},
	}
	in := PrevalenceInput(states, day("2026-01-01"), day("2026-03-01"), "")
	if len(in.Children) != 2 {
		t.Fatalf("%d children, want 2", len(in.Children))
	}
	a := in.Children[0]
	if a.M.Age != 431 || !a.Scores[survey.HA].OK || !a.Scores[survey.HA].Flag || a.Groups[survey.GRegion] != "Arauca" {
		t.Errorf("first child %+v, scores %+v", a.M, a.Scores)
	}
	if !in.Children[1].M.Oedema {
		t.Error("oedema + not carried over")
	}
	if got := PrevalenceInput(states, day("2026-01-01"), day("2026-03-01"), "Vichada"); len(got.Children) != 1 {
		t.Errorf("admin_area Vichada: %d children, want 1", len(got.Children))
	}
	tab, err := survey.Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	if v := tab.Rows[0].Values[1]; v != 0 { // HAZ_unwpop: the one HAZ is flagged
		t.Errorf("HAZ_unwpop %v, want 0", v)
	}
}
