package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
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

// The other bodies a client writes or asks with are as strict as a
// resource: a JSON Patch, the Parameters of $match, $refer, $link and a
// POST $export are 400 for invalid UTF-8, a repeated key and data after
// the JSON, and a referral's reason is bounded; nothing changes.
func TestStrictPatchAndParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "SP-1")
	patch := func(body string) resp {
		return e.do("PATCH", "/fhir/Patient/"+pid, e.admin, body, "Content-Type", jsonPatchType)
	}
	wantOutcome(t, patch("[{\"op\":\"replace\",\"path\":\"/name/0/family\",\"value\":\"Ro\xffjas\"}]"), http.StatusBadRequest, "", "body")
	wantOutcome(t, patch(`[{"op":"replace","path":"/gender","value":"male","value":"other"}]`), http.StatusBadRequest, "", "body[0].value")
	wantOutcome(t, patch(`[{"op":"replace","path":"/gender","value":"male"}] [{"op":"remove","path":"/name"}]`), http.StatusBadRequest, "", "body")
	if h := must(t, e.do("GET", "/fhir/Patient/"+pid+"/_history", e.admin, ""), http.StatusOK); h.JSON(t)["total"].(float64) != 1 {
		t.Errorf("a refused patch changed the record: %s", h.Body)
	}

	match := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + patientJSON("Rojas", "Ana", "SP-1") + `}]}`
	wantOutcome(t, e.do("POST", "/fhir/Patient/$match", e.hw, match+` {}`), http.StatusBadRequest, "", "Parameters")
	dup := strings.Replace(match, `"resourceType":"Parameters",`, `"resourceType":"Parameters","parameter":[],`, 1)
	wantOutcome(t, e.do("POST", "/fhir/Patient/$match", e.hw, dup), http.StatusBadRequest, "", "Parameters.parameter")
	refer := func(reason string) string {
		return `{"resourceType":"Parameters","parameter":[{"name":"country","valueCode":"PE"},{"name":"reason","valueString":"` + reason + `"}]}`
	}
	wantOutcome(t, e.do("POST", "/fhir/Patient/"+pid+"/$refer", e.hw, refer("moving\xff")), http.StatusBadRequest, "", "Parameters")
	wantOutcome(t, e.do("POST", "/fhir/Patient/"+pid+"/$refer", e.hw, refer(strings.Repeat("m", 1001))), http.StatusUnprocessableEntity, "", "Parameters.parameter(reason)")
	link := `{"resourceType":"Parameters","parameter":[{"name":"patient","valueString":"a"}],"parameter":[]}`
	wantOutcome(t, e.do("POST", "/fhir/Patient/"+pid+"/$link", e.admin, link), http.StatusBadRequest, "", "Parameters.parameter")
	export := `{"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Patient","valueString":"Observation"}]}`
	wantOutcome(t, e.do("POST", "/fhir/$export", e.token(RoleMinistry, "CO"), export, "Prefer", "respond-async", "Accept", "application/fhir+json"), http.StatusBadRequest, "", "Parameters.parameter[0].valueString")
	if h := must(t, e.do("GET", "/fhir/Patient/"+pid+"/_history", e.admin, ""), http.StatusOK); h.JSON(t)["total"].(float64) != 1 {
		t.Errorf("a refused request changed the record: %s", h.Body)
	}
}

// The clinical rules of a resource are all reported at once too: a weight
// dated in the future, with a negative value in pounds, names the date, the
// value and the unit in one 422, so a tablet fixes them in one round trip.
func TestEveryClinicalRuleReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "CR-1")
	obs := strings.NewReplacer(`"effectiveDateTime":"2025-01-10"`, `"effectiveDateTime":"2999-01-10"`, `"value":-9.5`, `"value":-9.5`).
		Replace(weightJSON(pid, "2025-01-10", -9.5, "[lb_av]"))
	r := e.do("POST", "/fhir/Observation", e.hw, obs)
	wantOutcome(t, r, http.StatusUnprocessableEntity, "", "Observation.effectiveDateTime")
	want := "Observation.effectiveDateTime,Observation.valueQuantity.value,Observation.valueQuantity.code,Observation.valueQuantity.unit"
	if got := strings.Join(issueExprs(t, r), ","); got != want {
		t.Errorf("issues at %s, want %s", got, want)
	}
	enc := strings.Replace(encounterJSON(pid, "2999-01-05"), `"subject":{"reference":"Patient/`+pid+`"}`, `"subject":{"reference":"Group/x"}`, 1)
	r = e.do("POST", "/fhir/Encounter", e.hw, enc)
	if got := strings.Join(issueExprs(t, r), ","); got != "Encounter.subject,Encounter.period.start" {
		t.Errorf("issues at %s, want Encounter.subject,Encounter.period.start", got)
	}
	// A structure error does not hide the clinical rules: an unknown
	// element and a future date come back together.
	both := strings.Replace(obs, `{"resourceType":"Observation",`, `{"resourceType":"Observation","colour":"blue",`, 1)
	r = e.do("POST", "/fhir/Observation", e.hw, both)
	wantOutcome(t, r, http.StatusUnprocessableEntity, "", "Observation.colour")
	if got := strings.Join(issueExprs(t, r), ","); got != "Observation.colour,"+want {
		t.Errorf("structure and rules: issues at %s, want Observation.colour,%s", got, want)
	}
	// In a transaction and in a batch entry, each located in the Bundle.
	in := func(i int) string {
		return strings.ReplaceAll(want, "Observation.", "Bundle.entry["+strconv.Itoa(i)+"].resource.")
	}
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + obs + `,"request":{"method":"POST","url":"Observation"}}]}`
	if got := strings.Join(issueExprs(t, e.do("POST", "/fhir", e.hw, tx)), ","); got != in(0) {
		t.Errorf("transaction: issues at %s, want %s", got, in(0))
	}
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/` + pid + `"}},{"resource":` + obs + `,"request":{"method":"POST","url":"Observation"}}]}`
	b := must(t, e.do("POST", "/fhir", e.hw, batch), http.StatusOK).JSON(t)
	oo, _ := json.Marshal(b["entry"].([]any)[1].(map[string]any)["response"].(map[string]any)["outcome"])
	if got := strings.Join(issueExprs(t, resp{Body: oo}), ","); got != in(1) {
		t.Errorf("batch entry: issues at %s, want %s", got, in(1))
	}
	if s := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything", e.hw, ""), http.StatusOK); s.JSON(t)["total"].(float64) != 1 {
		t.Errorf("a refused write stored something: %s", s.Body)
	}
}
