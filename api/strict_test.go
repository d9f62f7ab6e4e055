package api

import (
	"net/http"
	"testing"
)

// Bodies a lenient decoder would change are 400 and store nothing: invalid
// UTF-8, a duplicate key (the reproduction: an Observation that would be
// stored as a Patient), text after the JSON value, on the FHIR endpoints,
// PATCH /alerts and POST /episodes.
func TestStrictJSONBodies(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	dup := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + pid + `"},"resourceType":"Patient"}`
	wantOutcome(t, n.do("POST", "/fhir/Observation", n.hw, dup), http.StatusBadRequest, "", "Observation.resourceType")
	wantOutcome(t, n.do("POST", "/fhir/Patient", n.hw, "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Ro\xffjas\"}]}"), http.StatusBadRequest, "", "Patient")
	wantOutcome(t, n.do("POST", "/fhir/Patient", n.hw, `{"resourceType":"Patient","gender":"female","gender":"male"}`), http.StatusBadRequest, "", "Patient.gender")
	wantOutcome(t, n.do("POST", "/fhir/Patient", n.hw, `{"resourceType":"Patient"} {"resourceType":"Patient"}`), http.StatusBadRequest, "", "")
	wantOutcome(t, n.do("PUT", "/fhir/Patient/"+pid, n.hw, `{"resourceType":"Patient","id":"`+pid+`","gender":"female","gender":"male"}`), http.StatusBadRequest, "", "")
	batch := `{"resourceType":"Bundle","type":"batch","type":"transaction","entry":[]}`
	wantOutcome(t, n.do("POST", "/fhir", n.hw, batch), http.StatusBadRequest, "", "Bundle.type")
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","gender":"male","gender":"female"},"request":{"method":"POST","url":"Patient"}}]}`
	wantOutcome(t, n.do("POST", "/fhir", n.hw, tx), http.StatusBadRequest, "", "Bundle.entry[0].resource.gender")

	wantOutcome(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"2026-01-05"} trailing`), http.StatusBadRequest, "", "")
	wantOutcome(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","programme":"tsfp","date":"2026-01-05"}`), http.StatusBadRequest, "", "body.programme")
	wantOutcome(t, n.do("PATCH", "/alerts/nope", n.lead, `{"status":"acknowledged"}{"status":"closed"}`), http.StatusBadRequest, "", "")
	wantOutcome(t, n.do("PATCH", "/alerts/nope", n.lead, "{\"status\":\"acknowledged\",\"reason\":\"\xfe\"}"), http.StatusBadRequest, "", "")

	// Nothing stored: the person has only the Patient, unchanged.
	p, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	if l := p.Latest(); len(l) != 1 || l[0].Version != 1 {
		t.Errorf("record changed: %d resources", len(l))
	}
	if r := n.alerts(""); len(r.Alerts) != 0 {
		t.Errorf("alerts: %d", len(r.Alerts))
	}
}

// A Patient with three broken rules gets one 422 naming all three.
func TestEveryBrokenRuleReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/fhir/Patient", e.hw, `{"resourceType":"Patient","colour":"red","gender":"female","name":[{"family":"Rojas","shoe":1}],"size":2}`)
	wantOutcome(t, r, http.StatusUnprocessableEntity, "", "Patient.colour")
	issues, _ := r.JSON(t)["issue"].([]any)
	var got []any
	for _, is := range issues {
		got = append(got, is.(map[string]any)["expression"])
	}
	if len(issues) != 3 {
		t.Errorf("issues %v, want Patient.colour, Patient.name[0].shoe, Patient.size", got)
	}
}
