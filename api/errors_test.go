package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// expression returns the first issue's first expression, "" if none.
func expression(tb testing.TB, r resp) string {
	tb.Helper()
	issues, _ := r.JSON(tb)["issue"].([]any)
	if len(issues) == 0 {
		return ""
	}
	ex, _ := issues[0].(map[string]any)["expression"].([]any)
	if len(ex) == 0 {
		return ""
	}
	s, _ := ex[0].(string)
	return s
}

func TestErrorPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Díaz", "Tomás", "err-1")
	future := "2999-01-01"
	for _, tt := range []struct {
		name         string
		method, path string
		body         string
		header       []string
		status       int
		code         string
		exprContains string // "" means: do not check
	}{
		{"malformed JSON", "POST", "/fhir/Patient", `{"resourceType":"Patient",`, nil, 400, "", ""},
		{"not an object", "POST", "/fhir/Patient", `[1,2]`, nil, 400, "", ""},
		{"empty body", "POST", "/fhir/Patient", ``, []string{"Content-Type", "application/fhir+json"}, 400, "", ""},
		{"unknown type in URL", "GET", "/fhir/Spaceship/1", "", nil, 404, "not-found", ""},
		{"unknown type create", "POST", "/fhir/Spaceship", `{"resourceType":"Spaceship"}`, nil, 404, "not-found", ""},
		{"body type differs from URL", "POST", "/fhir/Patient", encounterJSON(pid, "2025-01-01"), nil, 0, "", ""},
		{"unknown element", "POST", "/fhir/Patient", `{"resourceType":"Patient","colour":"blue"}`, nil, 422, "", "colour"},
		{"wrong type", "POST", "/fhir/Patient", `{"resourceType":"Patient","birthDate":20200101}`, nil, 400, "", "birthDate"},
		{"missing required", "POST", "/fhir/Observation", `{"resourceType":"Observation","code":{"text":"weight"},"subject":{"reference":"Patient/` + pid + `"}}`, nil, 422, "", "status"},
		{"bad unit", "POST", "/fhir/Observation", weightJSON(pid, "2025-01-01", 12, "[lb_av]"), nil, 422, "", "valueQuantity"},
		{"future date", "POST", "/fhir/Observation", weightJSON(pid, future, 12, "kg"), nil, 422, "", "effective"},
		{"future birth date", "POST", "/fhir/Patient", strings.Replace(patientJSON("A", "B", "err-f"), "2023-04-02", future, 1), nil, 422, "", "birthDate"},
		{"dangling subject", "POST", "/fhir/Observation", weightJSON("nobody", "2025-01-01", 12, "kg"), nil, 422, "invalid", "Observation.subject"},
		{"no subject", "POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"}}`, nil, 422, "invalid", ""},
		{"dangling encounter", "POST", "/fhir/Observation", strings.Replace(weightJSON(pid, "2025-01-01", 12, "kg"), `"effectiveDateTime"`, `"encounter":{"reference":"Encounter/`+pid+`.nothing"},"effectiveDateTime"`, 1), nil, 422, "invalid", "Observation.encounter"},
		{"XML content type", "POST", "/fhir/Patient", `<Patient xmlns="http://hl7.org/fhir"/>`, []string{"Content-Type", "application/fhir+xml"}, 415, "not-supported", ""},
		{"XML _format", "GET", "/fhir/Patient/" + pid + "?_format=xml", "", nil, 406, "not-supported", ""},
		{"XML _format long", "GET", "/fhir/Patient?_format=application/fhir%2Bxml", "", nil, 406, "not-supported", ""},
		{"XML Accept", "GET", "/fhir/Patient/" + pid, "", []string{"Accept", "application/fhir+xml"}, 406, "not-supported", ""},
		{"body too large", "POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"text":"` + strings.Repeat("a", 70<<10) + `"}]}`, nil, 413, "too-long", ""},
		{"unknown route", "GET", "/nowhere", "", nil, 404, "not-found", ""},
		{"unknown FHIR route", "GET", "/fhir/Patient/" + pid + "/x/y/z", "", nil, 404, "not-found", ""},
		{"method not allowed", "POST", "/fhir/Patient/" + pid, "", nil, 405, "not-supported", ""},
		{"id mismatch", "PUT", "/fhir/Patient/" + pid, strings.Replace(patientJSON("A", "B", "err-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"other",`, 1), nil, 400, "", "Patient.id"},
		{"bad If-Match", "PUT", "/fhir/Patient/" + pid, strings.Replace(patientJSON("A", "B", "err-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1), []string{"If-Match", "yesterday"}, 400, "", "If-Match"},
		{"operator in query key", "GET", "/fhir/Patient?name[$ne]=x", "", nil, 400, "", ""},
		{"unknown search parameter", "GET", "/fhir/Patient?colour=blue", "", nil, 400, "", "colour"},
		{"bad date prefix", "GET", "/fhir/Patient?birthdate=zz2020", "", nil, 400, "", "birthdate"},
		{"transaction of several persons", "POST", "/fhir", twoPersonTxn(), nil, 422, "invalid", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			header := append([]string{}, tt.header...)
			r := e.do(tt.method, tt.path, e.admin, tt.body, header...)
			if tt.status == 0 { // any 4xx but not a success
				if r.Code < 400 || r.Code >= 500 {
					t.Fatalf("status %d, want 4xx: %s", r.Code, r.Body)
				}
				wantOutcome(t, r, r.Code, "", "")
				return
			}
			wantOutcome(t, r, tt.status, tt.code, "")
			if tt.exprContains != "" {
				if ex := expression(t, r); !strings.Contains(ex, tt.exprContains) {
					t.Errorf("expression %q, want one containing %q", ex, tt.exprContains)
				}
			}
		})
	}
}

// twoPersonTxn is a transaction Bundle creating two Patients.
func twoPersonTxn() string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":` + patientJSON("Uno", "A", "txn2-1") + `,"request":{"method":"POST","url":"Patient"}},` +
		`{"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":` + patientJSON("Dos", "B", "txn2-2") + `,"request":{"method":"POST","url":"Patient"}}]}`
}

func TestQueryValuesAreData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createPatient("Vega", "Rosa", "inj-1")
	for _, q := range []string{
		`name={"$gt":""}`,
		`name=%7B%22%24gt%22%3A%22%22%7D`,
		`family=.*`,
		`identifier={"$ne":null}`,
	} {
		r := must(t, e.do("GET", "/fhir/Patient?"+q, e.admin, ""), 200).JSON(t)
		if n, _ := r["entry"].([]any); len(n) != 0 {
			t.Errorf("%s matched %d patients, want 0", q, len(n))
		}
	}
}

func TestQueryOperatorsRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// An id that is not an id is a 400, never an operator.
	wantOutcome(t, e.do("GET", `/fhir/Patient?_id={"$exists":true}`, e.admin, ""), 400, "", "_id")
	wantOutcome(t, e.do("GET", "/fhir/Patient?name[$ne]=x", e.admin, ""), 400, "", "")
}

func TestAcceptJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Acepta", "Ana", "acc-1")
	for _, a := range []string{"application/fhir+json", "application/json", "application/json+fhir;q=0.9", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"} {
		must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, "", "Accept", a), 200)
	}
}

func TestLargeBodyByContentLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxBody = 2048 })
	req := httptest.NewRequest("POST", "/fhir/Patient", strings.NewReader(`{"resourceType":"Patient"}`))
	req.ContentLength = 1 << 20
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+e.admin)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", rec.Code)
	}
}
