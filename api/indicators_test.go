package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"contigo/fhir"
	"contigo/records/nutrition"
)

// seedIndicators writes the hand-counted data set of TestIndicators through
// the API:
//
//	A boy 19 m: 01-10 MUAC 110 (severe), OTP 01-10, 01-17 118, 01-24 126, 01-31 128 -> cured 01-31
//	  RUTF given 01-10 (MedicationAdministration)
//	B girl 22 m: 01-12 MUAC 120 (moderate), IYCF counselling 01-12 (Procedure)
//	C girl 22 m: 01-15 MUAC 135, 02-15 MUAC 133 (not wasted)
//	D boy 2 m: 02-01 3.2 kg, 52 cm (infant at risk)
//	E pregnant woman: 01-20 MUAC 220 (malnourished, default rule < 230)
//	F boy 20 m: 02-10 MUAC 130, oedema + (nutritional oedema)
func seedIndicators(n *nenv) {
	n.t.Helper()
	a := n.person("male", "2024-06-01", "Arauca")
	must(n.t, n.visit(a, "2026-01-10", muacObs(110), oedemaObs("absent")), http.StatusOK)
	must(n.t, n.do("POST", "/episodes", n.hw, `{"patient":"`+a+`","programme":"otp","date":"2026-01-10"}`), http.StatusCreated)
	for _, v := range []struct {
		date string
		muac float64
	}{{"2026-01-17", 118}, {"2026-01-24", 126}, {"2026-01-31", 128}} {
		must(n.t, n.visit(a, v.date, muacObs(v.muac), oedemaObs("absent")), http.StatusOK)
	}
	must(n.t, n.do("POST", "/fhir/MedicationAdministration", n.hw, `{"resourceType":"MedicationAdministration","status":"completed",`+
		`"medicationCodeableConcept":{"coding":[{"system":"`+fhir.InterventionSystem+`","code":"rutf"}]},"subject":{"reference":"Patient/`+a+`"},"effectiveDateTime":"2026-01-10"}`), http.StatusCreated)
	b := n.person("female", "2024-03-01", "Vichada")
	must(n.t, n.visit(b, "2026-01-12", muacObs(120), oedemaObs("absent")), http.StatusOK)
	must(n.t, n.do("POST", "/fhir/Procedure", n.hw, `{"resourceType":"Procedure","status":"completed",`+
		`"code":{"coding":[{"system":"`+fhir.InterventionSystem+`","code":"iycf_counselling"}]},"subject":{"reference":"Patient/`+b+`"},"performedDateTime":"2026-01-12"}`), http.StatusCreated)
	c := n.person("female", "2024-03-01", "Vichada")
	must(n.t, n.visit(c, "2026-01-15", muacObs(135), oedemaObs("absent")), http.StatusOK)
	must(n.t, n.visit(c, "2026-02-15", muacObs(133), oedemaObs("absent")), http.StatusOK)
	d := n.person("male", "2025-12-01", "Arauca")
	must(n.t, n.visit(d, "2026-02-01", weightObs(3.2), lengthObs(52)), http.StatusOK)
	e := n.person("female", "1999-05-05", "Arauca")
	must(n.t, n.visit(e, "2026-01-20", muacObs(220), pregnantObs()), http.StatusOK)
	f := n.person("male", "2024-06-01", "Arauca")
	must(n.t, n.visit(f, "2026-02-10", muacObs(130), oedemaObs("+")), http.StatusOK)
}

// counts is the part of an IndicatorRow the test counts by hand.
type counts struct {
	Group                                            string
	Screened, Moderate, Severe, Oedema               int
	InfantsAssessed, InfantsAtRisk, PLW, PLWMal, Adm int
	Exits, Cured                                     int
}

func countsOf(r nutrition.IndicatorRow) counts {
	return counts{r.Group, r.ChildrenScreened, r.ChildrenModerate, r.ChildrenSevere, r.ChildrenOedema,
		r.InfantsAssessed, r.InfantsAtRisk, r.PLWScreened, r.PLWMalnourished, r.AdmissionsTotal,
		r.ExitsSevere.Exits, r.ExitsSevere.Cured}
}

func TestIndicators(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	seedIndicators(n)
	tests := []struct {
		by   string
		want []counts
	}{
		{"", []counts{{"all", 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}},
		{"month", []counts{
			{"2026-01", 3, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1},
			{"2026-02", 2, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0},
		}},
		{"sex", []counts{
			{"female", 2, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0},
			{"male", 2, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1},
		}},
	}
	for _, tt := range tests {
		r := must(t, n.do("GET", "/indicators?country=CO&from=2026-01-01&to=2026-03-01&by="+tt.by, n.lead, ""), http.StatusOK)
		var rep IndicatorReport
		if err := json.Unmarshal(r.Body, &rep); err != nil {
			t.Fatal(err)
		}
		var got []counts
		for _, row := range rep.Rows {
			got = append(got, countsOf(row))
		}
		if len(got) != len(tt.want) {
			t.Errorf("by=%q: %d rows, want %d: %+v", tt.by, len(got), len(tt.want), got)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("by=%q row %d:\n got %+v\nwant %+v", tt.by, i, got[i], tt.want[i])
			}
		}
		if tt.by == "" && (rep.Rows[0].ExitsSevere.CureRate == nil || *rep.Rows[0].ExitsSevere.CureRate != 1) {
			t.Errorf("cure rate %v, want 1", rep.Rows[0].ExitsSevere.CureRate)
		}
		if r := rep.Rows[0]; tt.by == "" && (r.FoodSupplement != 1 || r.IYCFCounselling != 1) {
			t.Errorf("food supplement %d, IYCF counselling %d; want 1 and 1", r.FoodSupplement, r.IYCFCounselling)
		}
	}
	c := must(t, n.do("GET", "/indicators?from=2026-01-01&to=2026-03-01&by=month", n.lead, "", "Accept", "text/csv"), http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(string(c.Body))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "group" || rows[1][0] != "2026-01" {
		t.Errorf("CSV: %v\n%s", err, c.Body)
	}
	// Prometheus: assessments by classification, open alerts after a scan.
	if _, err := n.nut.RunFollowUp(t.Context(), n.svc, "CO", n.clk.Now()); err != nil {
		t.Fatal(err)
	}
	m := string(must(t, n.do("GET", "/metrics", "", ""), http.StatusOK).Body)
	for _, want := range []string{
		`contigo_nutrition_assessments_total{classification="severe_wasting",country="CO"} 1`,
		`contigo_nutrition_open_alerts{country="CO",kind="plw_acute_malnutrition",severity="medium"} 1`,
		`contigo_nutrition_open_alerts{country="CO",kind="nutritional_oedema",severity="high"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	must(t, n.do("GET", "/indicators?from=2026-01-01", n.lead, ""), http.StatusBadRequest)
	must(t, n.do("GET", "/indicators?from=2026-01-01&to=2026-03-01&by=colour", n.lead, ""), http.StatusBadRequest)
	must(t, n.do("GET", "/indicators?from=2026-01-01&to=2026-03-01", n.hw, ""), http.StatusForbidden)
}

// A period asked before is answered from rows kept in step with the
// writes: a new child and a later visit of a known one show at once.
func TestIndicatorsFollowWrites(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	seedIndicators(n)
	all := func() counts {
		t.Helper()
		r := must(t, n.do("GET", "/indicators?from=2026-01-01&to=2026-03-01", n.lead, ""), http.StatusOK)
		var rep IndicatorReport
		if err := json.Unmarshal(r.Body, &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 1 {
			t.Fatalf("%d rows, want 1", len(rep.Rows))
		}
		return countsOf(rep.Rows[0])
	}
	if got, want := all(), (counts{"all", 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}); got != want {
		t.Fatalf("seeded:\n got %+v\nwant %+v", got, want)
	}
	g := n.person("female", "2024-06-01", "Arauca")
	must(t, n.visit(g, "2026-02-20", muacObs(112), oedemaObs("absent")), http.StatusOK)
	if got, want := all(), (counts{"all", 5, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1}); got != want {
		t.Errorf("after a new severe child:\n got %+v\nwant %+v", got, want)
	}
	must(t, n.visit(g, "2026-02-27", muacObs(110), oedemaObs("absent")), http.StatusOK)
	if got, want := all(), (counts{"all", 5, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1}); got != want {
		t.Errorf("after a second visit of that child (counted once):\n got %+v\nwant %+v", got, want)
	}
}
