package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"contigo/fhir"
	"contigo/growth"
)

// skinfoldObs is a skinfold Observation (a fhir.NutritionSystem code).
func skinfoldObs(code string, mm float64) string {
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"` + fhir.NutritionSystem + `","code":"` + code + `"}]},` +
		`"subject":{"reference":"Patient/PID"},"effectiveDateTime":"DATE","valueQuantity":{"value":` + strconv.FormatFloat(mm, 'f', -1, 64) +
		`,"unit":"mm","system":"http://unitsofmeasure.org","code":"mm"}}`
}

// TestNutritionSkinfolds: triceps and subscapular skinfolds sent as
// Observations give derived z-score Observations equal to growth's (anthro's)
// values; a negative skinfold is refused naming its field.
func TestNutritionSkinfolds(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	must(t, n.visit(pid, "2026-01-05", skinfoldObs(fhir.CodeTricepsSkinfold, 9.2), skinfoldObs(fhir.CodeSubscapularSkinfold, 6.1)), http.StatusOK)
	m := growth.NewMeasurement()
	m.Sex, m.Age, m.AgeUnit = growth.Female, 721, growth.Days // 2024-01-15 to 2026-01-05
	m.TriSkin, m.SubSkin = 9.2, 6.1
	r, err := growth.Assess(&m)
	if err != nil {
		t.Fatal(err)
	}
	var body string
	for _, z := range n.derived(pid, "Observation", fhir.AnthroSystem) {
		body += string(z.Body) + "\n"
	}
	for _, c := range []struct {
		code string
		ind  growth.Indicator
	}{{"tsfa-z", growth.TricepsForAge}, {"ssfa-z", growth.SubscapularForAge}} {
		s := r.Scores[c.ind]
		if !s.OK {
			t.Fatalf("%v not scored", c.ind)
		}
		want := `"value":` + strconv.FormatFloat(s.Z, 'g', -1, 64)
		found := false
		for _, line := range strings.Split(body, "\n") {
			if strings.Contains(line, `"`+c.code+`"`) {
				found = true
				if !strings.Contains(line, want) {
					t.Errorf("%s Observation lacks %s: %s", c.code, want, line)
				}
			}
		}
		if !found {
			t.Errorf("no %s Observation among:\n%s", c.code, body)
		}
	}
	r2 := n.visit(pid, "2026-01-06", skinfoldObs(fhir.CodeTricepsSkinfold, -3))
	if r2.Code != http.StatusUnprocessableEntity && r2.Code != http.StatusBadRequest || !strings.Contains(string(r2.Body), "triceps_skinfold_mm") {
		t.Errorf("negative skinfold: %d %s", r2.Code, r2.Body)
	}
}
