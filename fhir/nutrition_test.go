package fhir_test

import (
	"strings"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/fhir/fhirtest"
	"contigo/records"
	"contigo/records/nutrition"
)

const pid = "abcdefghijklmnopqrstuvwxyz"

func res(t *testing.T, typ, id, body string) records.Resource {
	t.Helper()
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	r, err := fhir.Parse([]byte(body), typ, now)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	r.ID, r.Version, r.Updated = id, 1, now
	return r
}

func obs(code, enc, date, value string) string {
	e := ""
	if enc != "" {
		e = `"encounter":{"reference":"Encounter/` + enc + `"},`
	}
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},` +
		`"subject":{"reference":"Patient/` + pid + `"},` + e + `"effectiveDateTime":"` + date + `",` + value + `}`
}

func qty(v, unit string) string {
	return `"valueQuantity":{"value":` + v + `,"unit":"` + unit + `","system":"http://unitsofmeasure.org","code":"` + unit + `"}`
}

// ReadVisits groups by encounter (else date), converts units explicitly,
// reads PLW status, skips entered-in-error, and names visits without the
// record id; Derive's resources are valid FHIR naming the rule set.
func TestReadVisitsAndDerive(t *testing.T) {
	enc := pid + ".enc000000001"
	p := &records.Person{ID: pid, Country: "CO", Resources: []records.Resource{
		res(t, "Patient", pid, `{"resourceType":"Patient","gender":"female","birthDate":"2024-06","address":[{"district":"Arauca-1","state":"Arauca"}]}`),
		res(t, "Encounter", enc, `{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},"subject":{"reference":"Patient/`+pid+`"},"period":{"start":"2026-01-10"},"serviceProvider":{"display":"mu-7"}}`),
		res(t, "Observation", pid+".o1", obs(fhir.LOINCMUAC, enc, "2026-01-10", qty("11.4", "cm"))),
		res(t, "Observation", pid+".o2", obs(fhir.LOINCWeight, enc, "2026-01-10", qty("8900", "g"))),
		res(t, "Observation", pid+".o3", obs(fhir.LOINCLength, enc, "2026-01-10", qty("790", "mm"))),
		res(t, "Observation", pid+".o4", obs(fhir.LOINCMUAC, "", "2026-01-20", qty("126", "mm"))),
		res(t, "Observation", pid+".o5", strings.Replace(obs(fhir.LOINCMUAC, "", "2026-01-21", qty("90", "mm")), `"final"`, `"entered-in-error"`, 1)),
	}}
	vs, err := fhir.ReadVisits(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Measurements) != 2 {
		t.Fatalf("%d visits, want 2: %+v", len(vs.Measurements), vs.Measurements)
	}
	m := vs.Measurements[0]
	if m.ID != "enc-enc000000001" || *m.MUACmm != 114 || *m.WeightKg != 8.9 || *m.LengthCm != 79 || m.Position != nutrition.PositionLying ||
		m.Site != "mu-7" || m.AdminArea != "Arauca-1" || m.BirthPrecision != nutrition.PrecisionMonth || m.Sex != nutrition.SexFemale {
		t.Errorf("visit 1: %+v", m)
	}
	if got := vs.Sources[m.ID]; len(got) != 3 {
		t.Errorf("sources %q", got)
	}
	if m := vs.Measurements[1]; m.ID != "day-2026-01-20" || *m.MUACmm != 126 {
		t.Errorf("visit 2: %+v", m)
	}
	rs := nutrition.DefaultRuleSet()
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var st nutrition.State
	st.PersonRef, st.Country = "pseudo00000000000000000000", "CO"
	for _, m := range vs.Measurements {
		if err := nutrition.Validate(m, rs, now); err != nil {
			t.Fatal(err)
		}
		st, _ = nutrition.Apply(st, nutrition.Assess(m, &st, rs), rs, now, "t")
	}
	st, _, err = nutrition.Admit(st, rs, nutrition.Admission{Programme: nutrition.ProgrammeOTP, Date: now}, now, "t")
	if err != nil {
		t.Fatal(err)
	}
	out, err := fhir.Derive(pid, &st, vs.Sources, now)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, r := range out {
		types[r.Type]++
		if !fhir.IsDerived(r.ID) || records.PersonOf(r.Type, r.ID) != pid {
			t.Errorf("derived id %s", r.ID)
		}
		b, err := fhir.Render(r)
		if err != nil {
			t.Fatal(err)
		}
		fhirtest.Validate(t, b)
		if !strings.Contains(string(b), "who-2023 version 1") {
			t.Errorf("%s does not name its rule set", r.Type)
		}
	}
	if types["Observation"] == 0 || types["Condition"] == 0 || types["Flag"] == 0 || types["EpisodeOfCare"] != 1 {
		t.Errorf("derived %v", types)
	}
	for i := range st.Alerts {
		b, err := fhir.PseudonymousFlag(&st.Alerts[i])
		if err != nil {
			t.Fatal(err)
		}
		fhirtest.Validate(t, b)
		if strings.Contains(string(b), pid) {
			t.Errorf("pseudonymous Flag holds the record id: %s", b)
		}
	}
}

func TestValidationErrorNamesFHIRPath(t *testing.T) {
	m := nutrition.Measurement{ID: "x", Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), MUACmm: nutrition.MM(40)}
	err := fhir.ValidationError(nutrition.Validate(m, nutrition.DefaultRuleSet(), m.Date))
	var fe *records.FieldError
	if !errorsAs(err, &fe) || fe.Field != "Observation.where(code.coding.code='56072-2').valueQuantity.value" || !strings.HasPrefix(fe.Reason, "muac_mm:") {
		t.Errorf("%v", err)
	}
}

func errorsAs(err error, fe **records.FieldError) bool {
	for err != nil {
		if f, ok := err.(*records.FieldError); ok {
			*fe = f
			return true
		}
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			if errs := e.Unwrap(); len(errs) > 0 {
				err = errs[0]
				continue
			}
			return false
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		default:
			return false
		}
	}
	return false
}

// TestIsNutritionInput: exactly the measurement, oedema, infant criterion,
// skinfold and status codes of their systems are nutrition inputs, on an
// Observation only and not on a derived one; any other system, code or
// type is not.
func TestIsNutritionInput(t *testing.T) {
	obs := func(codes ...string) records.Resource {
		return records.Resource{Type: "Observation", Keys: records.Keys{"code": codes}}
	}
	for _, c := range []string{"http://loinc.org|" + fhir.LOINCWeight, "http://loinc.org|" + fhir.LOINCHeight, "http://loinc.org|" + fhir.LOINCLength,
		"http://loinc.org|" + fhir.LOINCMUAC, fhir.NutritionSystem + "|oedema", fhir.NutritionSystem + "|" + fhir.CodeInfantCriterion,
		fhir.NutritionSystem + "|" + fhir.CodeTricepsSkinfold, "http://snomed.info/sct|" + fhir.SNOMEDOedema} {
		if !fhir.IsNutritionInput(obs("http://example.org|x", c)) {
			t.Errorf("%s: not an input", c)
		}
		r := obs(c)
		r.Type = "Condition"
		if fhir.IsNutritionInput(r) {
			t.Errorf("a Condition coded %s is an input", c)
		}
		r = obs(c)
		r.ID = "p1." + fhir.DerivedPrefix + "x"
		if fhir.IsNutritionInput(r) {
			t.Errorf("a derived Observation coded %s is an input", c)
		}
	}
	for _, c := range []string{"http://loinc.org|" + fhir.LOINCWeight + "|x", "http://snomed.info/sct|" + fhir.LOINCWeight, "http://loinc.org|",
		"http://loinc.org", fhir.NutritionSystem + "|zscore", "|oedema", ""} {
		if fhir.IsNutritionInput(obs(c)) {
			t.Errorf("%q: an input", c)
		}
	}
}
