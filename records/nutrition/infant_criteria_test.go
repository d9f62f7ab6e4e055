package nutrition

import (
	"errors"
	"slices"
	"testing"

	"contigo/records"
)

// girl returns a measurement of a girl born 2025-01-01, 55 cm, with weight
// kg (4.0 kg: WAZ -1.81 at 2 months, not at risk by anthropometry), and
// the clinical/feeding criteria ic.
func girl(id, date string, kg float64, ic ...string) Measurement {
	return Measurement{ID: id, Date: day(date), Sex: SexFemale, BirthDate: day("2025-01-01"),
		WeightKg: F(kg), LengthCm: F(55), Position: PositionLying, Oedema: OedemaAbsent, InfantCriteria: ic}
}

// An infant with healthy anthropometry but ineffective breastfeeding is at
// risk (§3.2): infant_at_risk (medium) with the criterion as its reason; a
// later visit adding weight faltering updates the alert; a visit with
// neither resolves it. The infant counts as at risk in the indicators.
func TestStoryInfantClinicalCriteria(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	st := newStory(t, rs, "i1")
	a := st.measure(girl("m1", "2025-03-01", 4.0, InfantIneffectiveBreastfeeding))
	if a.Classification != ClassInfantAtRisk || a.Infant != ClassInfantAtRisk ||
		!slices.Equal(a.InfantCriteria, []string{InfantIneffectiveBreastfeeding}) ||
		!slices.Contains(a.Criteria, InfantIneffectiveBreastfeeding) {
		t.Fatalf("2025-03-01: %s/%s criteria %v / %v", a.Classification, a.Infant, a.InfantCriteria, a.Criteria)
	}
	st.wantActive(KindInfantAtRisk)
	al := st.active(KindInfantAtRisk)[0]
	if al.Severity != SeverityMedium || !slices.Equal(al.Trigger.Reasons, []string{InfantIneffectiveBreastfeeding}) {
		t.Errorf("alert %+v", al)
	}
	// Duplicates and order do not matter.
	st.measure(girl("m2", "2025-03-15", 4.3, InfantSocialProblem, InfantWeightFaltering, InfantSocialProblem))
	al = st.active(KindInfantAtRisk)[0]
	if want := []string{InfantWeightFaltering, InfantSocialProblem}; !slices.Equal(al.Trigger.Reasons, want) {
		t.Errorf("updated reasons = %v, want %v", al.Trigger.Reasons, want)
	}
	st.measure(girl("m3", "2025-03-29", 4.7))
	st.wantActive()
	rows, err := Indicators([]State{st.s}, rs, day("2025-03-01"), day("2025-04-01"), "")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].InfantsAssessed != 1 || rows[0].InfantsAtRisk != 1 { // persons
		t.Errorf("infants assessed %d, at risk %d; want 1, 1", rows[0].InfantsAssessed, rows[0].InfantsAtRisk)
	}
}

// A MAMI episode needs visits free of clinical criteria to exit cured.
func TestInfantCriteriaBlockMAMIExit(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "i2")
	st.measure(girl("m1", "2025-03-01", 4.0, InfantIneffectiveBreastfeeding))
	ep := st.admit(ProgrammeMAMI, day("2025-03-01"))
	st.measure(girl("m2", "2025-03-15", 4.4, InfantIneffectiveBreastfeeding))
	st.measure(girl("m3", "2025-03-29", 4.8))
	if !st.s.episode(ep.ID).Open() {
		t.Fatalf("cured with a criterion on one of the two visits: %+v", st.s.episode(ep.ID))
	}
	st.measure(girl("m4", "2025-04-12", 5.2))
	if st.s.episode(ep.ID).Outcome != OutcomeCured {
		t.Errorf("not cured after two visits free of criteria: %+v", st.s.episode(ep.ID))
	}
}

// A criterion alone is a measurement; unknown codes and criteria for a
// woman are rejected; a child over 6 months keeps them out of the
// classification.
func TestInfantCriteriaValidate(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	m := Measurement{ID: "m1", Date: day("2025-03-01"), Sex: SexFemale, BirthDate: day("2025-01-01"),
		InfantCriteria: []string{InfantMedicalProblem}}
	if err := Validate(m, rs, at(m.Date)); err != nil {
		t.Errorf("criterion only: %v", err)
	}
	if a := Assess(m, nil, rs); a.Classification != ClassInfantAtRisk {
		t.Errorf("criterion only: %s, want infant_at_risk", a.Classification)
	}
	m.InfantCriteria = []string{"colic"}
	var fe *records.FieldError
	if err := Validate(m, rs, at(m.Date)); !errors.As(err, &fe) || fe.Field != "infant_criteria" {
		t.Errorf("unknown code: %v", err)
	}
	w := woman("w1", "2025-05-02", 240)
	w.InfantCriteria = []string{InfantSocialProblem}
	if err := Validate(w, rs, at(w.Date)); !errors.As(err, &fe) || fe.Field != "infant_criteria" {
		t.Errorf("woman: %v", err)
	}
	b := boy("b1", "2025-03-10", 140)
	b.InfantCriteria = []string{InfantSocialProblem}
	if a := Assess(b, nil, rs); a.Classification != ClassNotWasted || len(a.InfantCriteria) != 0 {
		t.Errorf("14-month boy: %s %v", a.Classification, a.InfantCriteria)
	}
}
