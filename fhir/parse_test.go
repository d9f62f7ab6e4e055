package fhir

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"contigo/fhir/fhirtest"
	"contigo/records"
)

// testNow is the clock of the tests.
var testNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

const (
	patientJSON = `{"resourceType":"Patient","id":"p1","meta":{"versionId":"7","lastUpdated":"2020-01-01T00:00:00Z","tag":[{"system":"urn:t","code":"x"}]},
		"identifier":[{"system":"https://registro.gov.co/nuip","value":"1234567"},{"value":"X-9"}],
		"name":[{"family":"Pérez-Gómez","given":["José","María"]},{"text":"Pepe"}],
		"gender":"male","birthDate":"2023-05-04"}`
	weightJSON = `{"resourceType":"Observation","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},
		"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/p1.abc"},
		"effectiveDateTime":"2026-01-10T09:30:00-05:00",
		"valueQuantity":{"value":9.8,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`
	encounterJSON = `{"resourceType":"Encounter","status":"finished",
		"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
		"subject":{"reference":"Patient/p1"},"period":{"start":"2026-01-10","end":"2026-01-10"}}`
	conditionJSON = `{"resourceType":"Condition",
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
		"code":{"coding":[{"system":"https://contigo.example/fhir/CodeSystem/nutrition-condition","code":"moderate-wasting"},{"system":"http://hl7.org/fhir/sid/icd-10","code":"E44.0"}]},
		"subject":{"reference":"Patient/p1"},"onsetDateTime":"2026-01-10"}`
	episodeJSON   = `{"resourceType":"EpisodeOfCare","status":"active","patient":{"reference":"Patient/p1"},"period":{"start":"2026-01-10","end":"2026-04-10"}}`
	procedureJSON = `{"resourceType":"Procedure","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"711029005"}]},"subject":{"reference":"Patient/p1"},"performedDateTime":"2026-01-10T10:00:00Z"}`
	medAdminJSON  = `{"resourceType":"MedicationAdministration","status":"completed","medicationCodeableConcept":{"text":"Vitamin A 100000 IU"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-10T10:00:00Z"}`
	flagJSON      = `{"resourceType":"Flag","status":"active","code":{"coding":[{"system":"https://contigo.example/fhir/CodeSystem/alert","code":"wasting"}]},"subject":{"reference":"Patient/p1"},"period":{"start":"2026-01-10"}}`
	consentJSON   = `{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/p1"},"dateTime":"2026-01-10T10:00:00Z"}`
)

// edit returns body with old replaced by new once; it fails the test if
// old is not there.
func edit(t testing.TB, body, old, new string) string {
	t.Helper()
	if !strings.Contains(body, old) {
		t.Fatalf("fixture lacks %q", old)
	}
	return strings.Replace(body, old, new, 1)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		typ    string
		body   string
		field  string
		status int
	}{
		{"syntax", "Observation", `{"resourceType":"Observation",}`, "Observation", 400},
		{"truncated", "Observation", `{"resourceType":`, "Observation", 400},
		{"trailing data", "Patient", `{"resourceType":"Patient"} {}`, "Patient", 400},
		{"not an object", "Patient", `[1,2]`, "Patient", 400},
		{"empty", "", ``, "Resource", 400},
		{"no resourceType", "Patient", `{"gender":"male"}`, "resourceType", 422},
		{"resourceType not a string", "Patient", `{"resourceType":1}`, "resourceType", 400},
		{"unknown resourceType", "", `{"resourceType":"Medication"}`, "resourceType", 422},
		{"type mismatch", "Observation", patientJSON, "resourceType", 422},
		{"AuditEvent read-only", "", `{"resourceType":"AuditEvent"}`, "resourceType", 422},
		{"unknown element", "Observation", edit(t, weightJSON, `"status":"final",`, `"status":"final","foo":1,`), "Observation.foo", 422},
		{"nested unknown element", "Observation", edit(t, weightJSON, `"value":9.8,`, `"value":9.8,"color":"red",`), "Observation.valueQuantity.color", 422},
		{"primitive element with a value", "Patient", edit(t, patientJSON, `"gender":"male",`, `"gender":"male","_gender":{"value":"x"},`), "Patient._gender.value", 422},
		{"contained", "Patient", edit(t, patientJSON, `"gender":"male",`, `"gender":"male","contained":[{"resourceType":"Patient"}],`), "Patient.contained", 422},
		{"code is a number", "Observation", edit(t, weightJSON, `"status":"final"`, `"status":3`), "Observation.status", 400},
		{"reference is a number", "Observation", edit(t, weightJSON, `"reference":"Patient/p1"`, `"reference":5`), "Observation.subject.reference", 400},
		{"name not an array", "Patient", edit(t, patientJSON, `"name":[{"family":"Pérez-Gómez","given":["José","María"]},{"text":"Pepe"}]`, `"name":{"family":"X"}`), "Patient.name", 400},
		{"given item not a string", "Patient", edit(t, patientJSON, `"María"`, `7`), "Patient.name[0].given[1]", 400},
		{"value not a number", "Observation", edit(t, weightJSON, `"value":9.8`, `"value":"9.8"`), "Observation.valueQuantity.value", 400},
		{"boolean not a boolean", "Patient", edit(t, patientJSON, `"gender":"male",`, `"gender":"male","active":"yes",`), "Patient.active", 400},
		{"null", "Patient", edit(t, patientJSON, `"gender":"male"`, `"gender":null`), "Patient.gender", 400},
		{"unknown code", "Observation", edit(t, weightJSON, `"status":"final"`, `"status":"done"`), "Observation.status", 422},
		{"unknown gender", "Patient", edit(t, patientJSON, `"gender":"male"`, `"gender":"boy"`), "Patient.gender", 422},
		{"empty string", "Patient", edit(t, patientJSON, `"text":"Pepe"`, `"text":""`), "Patient.name[1].text", 422},
		{"empty array", "Patient", edit(t, patientJSON, `["José","María"]`, `[]`), "Patient.name[0].given", 422},
		{"empty object", "Observation", edit(t, weightJSON, `"encounter":{"reference":"Encounter/p1.abc"}`, `"encounter":{}`), "Observation.encounter", 422},
		{"integer too large", "Patient", edit(t, patientJSON, `"gender":"male",`, `"gender":"male","multipleBirthInteger":99999999999,`), "Patient.multipleBirthInteger", 422},
		{"bad id", "Patient", edit(t, patientJSON, `"id":"p1"`, `"id":"p 1"`), "Patient.id", 422},

		{"code with double space", "Observation", edit(t, weightJSON, `"code":"29463-7"`, `"code":"29463-7  x"`), "Observation.code.coding[0].code", 422},
		{"system with a space", "Observation", edit(t, weightJSON, `"system":"http://loinc.org"`, `"system":"http://loinc .org"`), "Observation.code.coding[0].system", 422},
		{"bad dateTime elsewhere", "Observation", edit(t, weightJSON, `"status":"final",`, `"status":"final","note":[{"text":"ok","time":"2026-13-01"}],`), "Observation.note[0].time", 422},
		{"bad instant in meta", "Patient", edit(t, patientJSON, `"2020-01-01T00:00:00Z"`, `"2020-01-01"`), "Patient.meta.lastUpdated", 422},
		{"bad language code", "Patient", edit(t, patientJSON, `"gender":"male",`, `"gender":"male","language":" es",`), "Patient.language", 422},
		{"negative positiveInt", "Observation", edit(t, weightJSON, `"status":"final",`, `"status":"final","valueSampledData":{"origin":{"value":1},"period":1,"dimensions":0,"data":"1"},`), "Observation.valueSampledData.dimensions", 422},
		{"Observation.status missing", "Observation", edit(t, weightJSON, `"status":"final",`, ``), "Observation.status", 422},
		{"Observation.code missing", "Observation", `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"}}`, "Observation.code", 422},
		{"Observation.subject missing", "Observation", edit(t, weightJSON, `"subject":{"reference":"Patient/p1"},`, ``), "Observation.subject", 422},
		{"Encounter.class missing", "Encounter", edit(t, encounterJSON, `"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},`, ``), "Encounter.class", 422},
		{"Encounter.status missing", "Encounter", edit(t, encounterJSON, `"status":"finished",`, ``), "Encounter.status", 422},
		{"Encounter.subject missing", "Encounter", edit(t, encounterJSON, `"subject":{"reference":"Patient/p1"},`, ``), "Encounter.subject", 422},
		{"Condition.subject missing", "Condition", edit(t, conditionJSON, `"subject":{"reference":"Patient/p1"},`, ``), "Condition.subject", 422},
		{"EpisodeOfCare.patient missing", "EpisodeOfCare", edit(t, episodeJSON, `"patient":{"reference":"Patient/p1"},`, ``), "EpisodeOfCare.patient", 422},
		{"EpisodeOfCare.status missing", "EpisodeOfCare", edit(t, episodeJSON, `"status":"active",`, ``), "EpisodeOfCare.status", 422},
		{"Procedure.subject missing", "Procedure", edit(t, procedureJSON, `"subject":{"reference":"Patient/p1"},`, ``), "Procedure.subject", 422},
		{"Procedure.status missing", "Procedure", edit(t, procedureJSON, `"status":"completed",`, ``), "Procedure.status", 422},
		{"MedicationAdministration.medication missing", "MedicationAdministration", edit(t, medAdminJSON, `"medicationCodeableConcept":{"text":"Vitamin A 100000 IU"},`, ``), "MedicationAdministration.medication[x]", 422},
		{"MedicationAdministration.effective missing", "MedicationAdministration", edit(t, medAdminJSON, `,"effectiveDateTime":"2026-01-10T10:00:00Z"`, ``), "MedicationAdministration.effective[x]", 422},
		{"MedicationAdministration two effectives", "MedicationAdministration", edit(t, medAdminJSON, `"effectiveDateTime"`, `"effectivePeriod":{"start":"2026-01-10"},"effectiveDateTime"`), "MedicationAdministration.effective[x]", 422},
		{"Observation two effectives", "Observation", edit(t, weightJSON, `"effectiveDateTime"`, `"effectivePeriod":{"start":"2026-01-10"},"effectiveDateTime"`), "Observation.effective[x]", 422},
		{"Patient two deceased", "Patient", edit(t, patientJSON, `"gender":"male",`, `"gender":"male","deceasedBoolean":false,"deceasedDateTime":"2024-01-01",`), "Patient.deceased[x]", 422},
		{"MedicationAdministration.status unknown", "MedicationAdministration", edit(t, medAdminJSON, `"status":"completed"`, `"status":"given"`), "MedicationAdministration.status", 422},
		{"MedicationAdministration.subject missing", "MedicationAdministration", edit(t, medAdminJSON, `"subject":{"reference":"Patient/p1"},`, ``), "MedicationAdministration.subject", 422},
		{"Flag.code missing", "Flag", edit(t, flagJSON, `"code":{"coding":[{"system":"https://contigo.example/fhir/CodeSystem/alert","code":"wasting"}]},`, ``), "Flag.code", 422},
		{"Flag.subject missing", "Flag", edit(t, flagJSON, `"subject":{"reference":"Patient/p1"},`, ``), "Flag.subject", 422},
		{"Consent.scope missing", "Consent", edit(t, consentJSON, `"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},`, ``), "Consent.scope", 422},
		{"Consent.category missing", "Consent", edit(t, consentJSON, `"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],`, ``), "Consent.category", 422},
		{"Consent.patient missing", "Consent", edit(t, consentJSON, `"patient":{"reference":"Patient/p1"},`, ``), "Consent.patient", 422},

		{"unit not UCUM code", "Observation", edit(t, weightJSON, `"code":"kg"}`, `"code":"[lb_av]"}`), "Observation.valueQuantity.code", 422},
		{"unit code missing", "Observation", edit(t, weightJSON, `,"code":"kg"}`, `}`), "Observation.valueQuantity.code", 422},
		{"unit system not UCUM", "Observation", edit(t, weightJSON, `"system":"http://unitsofmeasure.org"`, `"system":"http://example.org/units"`), "Observation.valueQuantity.system", 422},
		{"unit display wrong", "Observation", edit(t, weightJSON, `"unit":"kg"`, `"unit":"lb"`), "Observation.valueQuantity.unit", 422},
		{"length in kg", "Observation", edit(t, weightJSON, `"29463-7"`, `"8306-3"`), "Observation.valueQuantity.code", 422},
		{"value zero", "Observation", edit(t, weightJSON, `"value":9.8`, `"value":0`), "Observation.valueQuantity.value", 422},
		{"value negative", "Observation", edit(t, weightJSON, `"value":9.8`, `"value":-1.5`), "Observation.valueQuantity.value", 422},
		{"value missing", "Observation", edit(t, weightJSON, `"value":9.8,`, ``), "Observation.valueQuantity.value", 422},
		{"no valueQuantity", "Observation", edit(t, weightJSON, `,
		"valueQuantity":{"value":9.8,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}`, ``), "Observation.valueQuantity", 422},
		{"comparator", "Observation", edit(t, weightJSON, `"value":9.8,`, `"value":9.8,"comparator":"<",`), "Observation.valueQuantity.comparator", 422},

		{"effective in the future", "Observation", edit(t, weightJSON, `2026-01-10T09:30:00-05:00`, `2026-01-17T09:30:00-05:00`), "Observation.effectiveDateTime", 422},
		{"effective without zone", "Observation", edit(t, weightJSON, `2026-01-10T09:30:00-05:00`, `2026-01-10T09:30:00`), "Observation.effectiveDateTime", 422},
		{"birthDate in the future", "Patient", edit(t, patientJSON, `"2023-05-04"`, `"2027"`), "Patient.birthDate", 422},
		{"birthDate impossible", "Patient", edit(t, patientJSON, `"2023-05-04"`, `"2023-02-30"`), "Patient.birthDate", 422},
		{"birthDate with time", "Patient", edit(t, patientJSON, `"2023-05-04"`, `"2023-05-04T10:00:00Z"`), "Patient.birthDate", 422},
		{"Encounter.period in the future", "Encounter", edit(t, encounterJSON, `"start":"2026-01-10","end":"2026-01-10"`, `"start":"2026-02-10"`), "Encounter.period.start", 422},
		{"Encounter.period ends first", "Encounter", edit(t, encounterJSON, `"end":"2026-01-10"`, `"end":"2026-01-09"`), "Encounter.period.end", 422},
		{"Condition.onset in the future", "Condition", edit(t, conditionJSON, `"onsetDateTime":"2026-01-10"`, `"onsetDateTime":"2026-12"`), "Condition.onsetDateTime", 422},
		{"Procedure.performed in the future", "Procedure", edit(t, procedureJSON, `2026-01-10T10:00:00Z`, `2030-01-10T10:00:00Z`), "Procedure.performedDateTime", 422},

		{"subject is a Group", "Observation", edit(t, weightJSON, `"reference":"Patient/p1"`, `"reference":"Group/g1"`), "Observation.subject", 422},
		{"subject urn outside a Bundle", "Observation", edit(t, weightJSON, `"reference":"Patient/p1"`, `"reference":"urn:uuid:0b5c4c1e-3f0e-4a39-9c0e-2d1a4f0e6b11"`), "Observation.subject", 422},
		{"subject without reference", "Observation", edit(t, weightJSON, `"subject":{"reference":"Patient/p1"}`, `"subject":{"display":"Pepe"}`), "Observation.subject", 422},
		{"subject absolute", "Flag", edit(t, flagJSON, `"reference":"Patient/p1"`, `"reference":"http://x.org/fhir/Patient/p1"`), "Flag.subject", 422},
		{"subject typed otherwise", "Observation", edit(t, weightJSON, `"reference":"Patient/p1"`, `"reference":"Patient/p1","type":"Group"`), "Observation.subject.type", 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.body), tt.typ, testNow)
			if err == nil {
				t.Fatalf("Parse: no error, want %d at %s", tt.status, tt.field)
			}
			fe, ok := errors.AsType[*records.FieldError](err)
			if !ok {
				t.Fatalf("Parse: %v (%T), want a *records.FieldError", err, err)
			}
			if fe.Field != tt.field {
				t.Errorf("Field = %q, want %q (reason %q)", fe.Field, tt.field, fe.Reason)
			}
			if status, _ := Status(err); status != tt.status {
				t.Errorf("status = %d, want %d (%v)", status, tt.status, err)
			}
			if fe.Reason == "" {
				t.Error("empty Reason")
			}
		})
	}
}

func TestParseMalformedReportsOffset(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"resourceType":"Patient",,}`), "Patient", testNow)
	if err == nil || !strings.Contains(err.Error(), "offset 27") {
		t.Errorf("Parse: %v, want the byte offset 27", err)
	}
	if !errors.Is(err, records.ErrMalformed) {
		t.Errorf("Parse: %v, want ErrMalformed", err)
	}
}

func TestParseAllowsClockSkew(t *testing.T) {
	t.Parallel()
	body := edit(t, weightJSON, `2026-01-10T09:30:00-05:00`, testNow.Add(20*time.Hour).Format(time.RFC3339))
	if _, err := Parse([]byte(body), "Observation", testNow); err != nil {
		t.Errorf("Parse of a date 20h ahead: %v, want accepted (clock skew)", err)
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want records.Keys
	}{
		{"Patient", patientJSON, records.Keys{
			"identifier":      {"https://registro.gov.co/nuip|1234567", "|X-9"},
			"identifier:code": {"1234567", "X-9"},
			"family":          {"perez-gomez", "perez", "gomez"},
			"given":           {"jose", "maria"},
			"name":            {"jose maria perez-gomez", "perez-gomez", "perez", "gomez", "jose", "maria", "pepe"},
			"family:sort":     {"perez-gomez"},
			"given:sort":      {"jose maria"},
			"name:sort":       {"perez-gomez jose maria"},
			"birthdate":       {"2023-05-04"},
			"gender":          {"male"},
			"match": {"gf:jose|peres", "gf:jose|gomes", "gf:maria|peres", "gf:maria|gomes", "fp:gomes+peres",
				"gi:jose|p", "gi:jose|g", "gi:maria|p", "gi:maria|g", "fd:peres|2023-05-04", "fd:gomes|2023-05-04",
				"gd:jose|2023-05-04", "gd:maria|2023-05-04", "fy:peres|2023", "fy:gomes|2023"},
		}},
		{"Observation", weightJSON, records.Keys{
			"subject":        {"Patient/p1"},
			"code":           {"http://loinc.org|29463-7"},
			"code:code":      {"29463-7"},
			"category":       {"http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"},
			"category:code":  {"vital-signs"},
			"status":         {"final"},
			"date":           {"2026-01-10T14:30:00.000Z"},
			"encounter":      {"Encounter/p1.abc"},
			"value-quantity": {"p000000000000009.800000000"},
			"value-quantity|http://unitsofmeasure.org|kg": {"p000000000000009.800000000"},
			"value-quantity||kg":                          {"p000000000000009.800000000"},
		}},
		{"Encounter", encounterJSON, records.Keys{"subject": {"Patient/p1"}, "status": {"finished"}, "date": {"2026-01-10"},
			"class": {"http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB"}, "class:code": {"AMB"}}},
		{"Condition", conditionJSON, records.Keys{
			"subject":    {"Patient/p1"},
			"status":     {"active"},
			"code":       {"https://contigo.example/fhir/CodeSystem/nutrition-condition|moderate-wasting", "http://hl7.org/fhir/sid/icd-10|E44.0"},
			"code:code":  {"moderate-wasting", "E44.0"},
			"date":       {"2026-01-10"},
			"onset-date": {"2026-01-10"},
		}},
		{"EpisodeOfCare", episodeJSON, records.Keys{"subject": {"Patient/p1"}, "status": {"active"}, "date": {"2026-01-10"}}},
		{"Procedure", procedureJSON, records.Keys{"subject": {"Patient/p1"}, "status": {"completed"}, "code": {"http://snomed.info/sct|711029005"}, "code:code": {"711029005"}, "date": {"2026-01-10T10:00:00.000Z"}}},
		{"MedicationAdministration", medAdminJSON, records.Keys{"subject": {"Patient/p1"}, "status": {"completed"}, "date": {"2026-01-10T10:00:00.000Z"}}},
		{"Flag", flagJSON, records.Keys{"subject": {"Patient/p1"}, "status": {"active"}, "code": {"https://contigo.example/fhir/CodeSystem/alert|wasting"}, "code:code": {"wasting"}, "date": {"2026-01-10"}}},
		{"Consent", consentJSON, records.Keys{"subject": {"Patient/p1"}, "status": {"active"}, "category": {"http://loinc.org|59284-0"}, "category:code": {"59284-0"}, "date": {"2026-01-10T10:00:00.000Z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Parse([]byte(tt.body), tt.name, testNow)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if r.Type != tt.name {
				t.Errorf("Type = %q, want %q", r.Type, tt.name)
			}
			if diff := cmp.Diff(tt.want, r.Keys); diff != "" {
				t.Errorf("Keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRenderRoundTrip(t *testing.T) {
	t.Parallel()
	for _, body := range []string{patientJSON, weightJSON, encounterJSON, conditionJSON, episodeJSON, procedureJSON, medAdminJSON, flagJSON, consentJSON} {
		r, err := Parse([]byte(body), "", testNow)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		t.Run(r.Type, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(string(r.Body), `"versionId"`) || strings.Contains(string(r.Body), `"lastUpdated"`) || strings.Contains(string(r.Body), `"id":`) {
				t.Errorf("Body keeps authoritative id or meta: %s", r.Body)
			}
			r.ID, r.Version, r.Updated = "p1.x", 3, time.Date(2026, 1, 15, 10, 0, 0, 123e6, time.UTC)
			out, err := Render(r)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			fhirtest.Validate(t, out)
			for _, want := range []string{`"id":"p1.x"`, `"versionId":"3"`, `"lastUpdated":"2026-01-15T10:00:00.123Z"`} {
				if !strings.Contains(string(out), want) {
					t.Errorf("Render lacks %s: %s", want, out)
				}
			}
			again, err := Parse(out, r.Type, testNow)
			if err != nil {
				t.Fatalf("Parse(Render): %v", err)
			}
			if diff := cmp.Diff(r.Keys, again.Keys); diff != "" {
				t.Errorf("Keys after a round trip (-first +second):\n%s", diff)
			}
			if string(again.Body) != string(r.Body) {
				t.Errorf("Body after a round trip:\n got %s\nwant %s", again.Body, r.Body)
			}
			if again.ID != r.ID {
				t.Errorf("ID = %q, want %q", again.ID, r.ID)
			}
		})
	}
}

func TestRenderKeepsOtherMeta(t *testing.T) {
	t.Parallel()
	r, err := Parse([]byte(patientJSON), "Patient", testNow)
	if err != nil {
		t.Fatal(err)
	}
	r.ID, r.Version, r.Updated = "p1", 2, testNow
	out, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Patient","id":"p1","meta":{"versionId":"2","lastUpdated":"2026-01-15T12:00:00.000Z","tag":[{"code":"x","system":"urn:t"}]},`
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("Render = %s\nwant prefix %s", out, want)
	}
	fhirtest.Validate(t, out)
}

func TestRenderDeletedAndForeignBodies(t *testing.T) {
	t.Parallel()
	out, err := Render(records.Resource{Type: "Patient", ID: "p1", Version: 2, Deleted: true})
	if out != nil || err != nil {
		t.Errorf("Render(deleted) = %s, %v; want nil, nil", out, err)
	}
	// a body not written by Parse (key order, id, meta) still renders
	r := records.Resource{Type: "Patient", ID: "p1", Version: 4, Updated: testNow,
		Body: []byte(`{"gender":"female","id":"old","meta":{"versionId":"1"},"resourceType":"Patient"}`)}
	out, err = Render(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Patient","id":"p1","meta":{"versionId":"4","lastUpdated":"2026-01-15T12:00:00.000Z"},"gender":"female"}`
	if string(out) != want {
		t.Errorf("Render = %s, want %s", out, want)
	}
	if _, err := Render(records.Resource{Type: "Patient", Body: []byte(`[1]`)}); err == nil {
		t.Error("Render of a non-object body: no error")
	}
	if _, err := Render(records.Resource{Type: "Patient", Body: []byte(`{"resourceType":"Flag"}`)}); err == nil {
		t.Error("Render of a body of another type: no error")
	}
}

func TestETag(t *testing.T) {
	t.Parallel()
	if got := ETag(3); got != `W/"3"` {
		t.Errorf("ETag(3) = %s", got)
	}
	for _, s := range []string{`W/"3"`, `"3"`, `3`, ` W/"3" `} {
		if v, err := ParseETag(s); err != nil || v != 3 {
			t.Errorf("ParseETag(%s) = %d, %v; want 3", s, v, err)
		}
	}
	for _, s := range []string{``, `W/"x"`, `"0"`, `-1`, `W/3"`, `*`} {
		if _, err := ParseETag(s); !errors.Is(err, records.ErrMalformed) {
			t.Errorf("ParseETag(%q) = %v, want ErrMalformed", s, err)
		}
	}
}

func TestSubjectAndReferences(t *testing.T) {
	t.Parallel()
	obs, err := Parse([]byte(weightJSON), "Observation", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := Subject(obs); got != "p1" {
		t.Errorf("Subject(Observation) = %q, want p1", got)
	}
	if diff := cmp.Diff([]string{"Encounter/p1.abc", "Patient/p1"}, References(obs)); diff != "" {
		t.Errorf("References (-want +got):\n%s", diff)
	}
	pat, err := Parse([]byte(patientJSON), "Patient", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := Subject(pat); got != "p1" {
		t.Errorf("Subject(Patient) = %q, want its id p1", got)
	}
	if got := References(pat); len(got) != 0 {
		t.Errorf("References(Patient) = %v, want none", got)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"José", "jose"},
		{"  MARÍA   José ", "maria jose"},
		{"Nuñez", "nunez"},
		{"Çağlar", "caglar"},
		{"João", "joao"},
		{"Pérez-Gómez", "perez-gomez"},
	}
	for _, tt := range tests {
		if got := normalize(tt.in); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWritable(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"Patient", "Encounter", "Observation", "Condition", "EpisodeOfCare", "Procedure", "MedicationAdministration", "Flag", "Consent"} {
		if !Writable(typ) || !Readable(typ) {
			t.Errorf("%s: want writable and readable", typ)
		}
	}
	if Writable("AuditEvent") || !Readable("AuditEvent") {
		t.Error("AuditEvent: want readable, not writable")
	}
	if Readable("Medication") {
		t.Error("Medication: want not served")
	}
}
