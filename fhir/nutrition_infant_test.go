package fhir_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/nutrition"
)

func criterion(date string, codes ...string) string {
	cs := ""
	for i, c := range codes {
		if i > 0 {
			cs += ","
		}
		cs += `{"system":"` + fhir.NutritionSystem + `","code":"` + c + `"}`
	}
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"` + fhir.NutritionSystem + `","code":"` + fhir.CodeInfantCriterion + `"}]},` +
		`"subject":{"reference":"Patient/` + pid + `"},"effectiveDateTime":"` + date + `","valueCodeableConcept":{"coding":[` + cs + `]}}`
}

// An infant-criterion Observation is a nutrition input; ReadVisits puts its
// codes (several Observations and codings, de-duplicated) on the visit's
// measurement, and the engine raises infant_at_risk with them as reasons;
// an unknown code is rejected with its FHIRPath.
func TestReadVisitsInfantCriteria(t *testing.T) {
	p := &records.Person{ID: pid, Country: "CO", Resources: []records.Resource{
		res(t, "Patient", pid, `{"resourceType":"Patient","gender":"female","birthDate":"2025-12-01"}`),
		res(t, "Observation", pid+".o1", obs(fhir.LOINCWeight, "", "2026-01-30", qty("4.4", "kg"))),
		res(t, "Observation", pid+".o2", criterion("2026-01-30", nutrition.InfantIneffectiveBreastfeeding)),
		res(t, "Observation", pid+".o3", criterion("2026-01-30", nutrition.InfantSocialProblem, nutrition.InfantIneffectiveBreastfeeding)),
		res(t, "Observation", pid+".o4", criterion("2026-01-31", "colic")),
	}}
	if r := p.Resources[2]; !fhir.IsNutritionInput(r) {
		t.Fatalf("infant-criterion Observation is not a nutrition input: keys %v", r.Keys)
	}
	vs, err := fhir.ReadVisits(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Measurements) != 2 {
		t.Fatalf("%d visits, want 2: %+v", len(vs.Measurements), vs.Measurements)
	}
	m := vs.Measurements[0]
	if want := []string{nutrition.InfantIneffectiveBreastfeeding, nutrition.InfantSocialProblem}; !slices.Equal(m.InfantCriteria, want) || *m.WeightKg != 4.4 {
		t.Fatalf("visit 1: criteria %v, want %v", m.InfantCriteria, want)
	}
	rs := nutrition.DefaultRuleSet()
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := nutrition.Validate(m, rs, now); err != nil {
		t.Fatal(err)
	}
	st := nutrition.State{PersonRef: "pseudo00000000000000000000", Country: "CO"}
	st, _ = nutrition.Apply(st, nutrition.Assess(m, &st, rs), rs, now, "t")
	if len(st.Alerts) != 1 || st.Alerts[0].Kind != nutrition.KindInfantAtRisk ||
		!slices.Contains(st.Alerts[0].Trigger.Reasons, nutrition.InfantIneffectiveBreastfeeding) {
		t.Errorf("alerts %+v", st.Alerts)
	}
	err = fhir.ValidationError(nutrition.Validate(vs.Measurements[1], rs, now))
	var fe *records.FieldError
	if !errors.As(err, &fe) || fe.Field != "Observation.where(code.coding.code='infant-criterion').valueCodeableConcept" {
		t.Errorf("unknown code: %v", err)
	}
}

// The measurer of a visit is its first measured Observation's Practitioner
// performer (literal or logical reference); a RelatedPerson or a bare
// display name is not read.
func TestReadVisitsMeasurer(t *testing.T) {
	perf := func(body, performer string) string {
		return strings.Replace(body, `"effectiveDateTime"`, `"performer":[`+performer+`],"effectiveDateTime"`, 1)
	}
	p := &records.Person{ID: pid, Country: "CO", Resources: []records.Resource{
		res(t, "Patient", pid, `{"resourceType":"Patient","gender":"female","birthDate":"2025-06-01"}`),
		res(t, "Observation", pid+".o1", perf(obs(fhir.LOINCWeight, "", "2026-01-30", qty("8.5", "kg")), `{"reference":"RelatedPerson/x"},{"reference":"Practitioner/pr-7"}`)),
		res(t, "Observation", pid+".o2", perf(obs(fhir.LOINCWeight, "", "2026-01-31", qty("8.6", "kg")), `{"display":"Ana"}`)),
		res(t, "Observation", pid+".o3", perf(obs(fhir.LOINCWeight, "", "2026-02-01", qty("8.7", "kg")), `{"type":"Practitioner","identifier":{"system":"https://example.org/hw","value":"hw-12"}}`)),
	}}
	vs, err := fhir.ReadVisits(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Measurements) != 3 || vs.Measurements[0].Measurer != "Practitioner/pr-7" || vs.Measurements[1].Measurer != "" ||
		vs.Measurements[2].Measurer != "Practitioner|hw-12" {
		t.Errorf("measurers: %+v", vs.Measurements)
	}
}
