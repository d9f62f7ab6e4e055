package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contigo/fhir/fhirtest"
	"contigo/records"
	"contigo/records/mongo/mongotest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// testKey signs the tokens of every test server.
var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// env is one API server on a fresh store hosting CO and EC.
type env struct {
	t     testing.TB
	srv   *Server
	store records.Store
	reg   *prometheus.Registry
	admin string // an admin token for CO and EC
	hw    string // a health-worker token for CO
}

// newEnv returns a server on a fresh store; configure edits its Config.
func newEnv(tb testing.TB, configure ...func(*Config)) *env {
	tb.Helper()
	store := mongotest.NewStore(tb, "CO", "EC")
	reg := prometheus.NewRegistry()
	cfg := Config{
		Service:   records.NewService(store, records.ServiceOptions{}),
		Countries: []records.Country{"CO", "EC"},
		Key:       testKey,
		MaxBody:   64 << 10,
		Registry:  reg,
	}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	e := &env{t: tb, srv: srv, store: store, reg: reg}
	e.admin = e.token(RoleAdmin, "CO", "EC")
	e.hw = e.token(RoleHealthWorker, "CO")
	return e
}

// token mints a token valid for an hour.
func (e *env) token(role Role, countries ...string) string {
	e.t.Helper()
	now := time.Now()
	tok, err := SignToken(testKey, Claims{Subject: "test-" + string(role), Role: role, Countries: countries, IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if err != nil {
		e.t.Fatalf("SignToken: %v", err)
	}
	return tok
}

// resp is a recorded response.
type resp struct {
	Code   int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r resp) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends a request through the real Echo router with token (none if
// ""), body (none if "") and header pairs, and checks that every FHIR body
// it gets back is valid against the R4 JSON Schema.
func (e *env) do(method, path, token, body string, header ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	r := resp{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/fhir+json") {
		fhirtest.Validate(e.t, r.Body)
	}
	return r
}

// must fails unless r has status want.
func must(tb testing.TB, r resp, want int) resp {
	tb.Helper()
	if r.Code != want {
		tb.Fatalf("status %d, want %d; body: %s", r.Code, want, r.Body)
	}
	return r
}

// wantOutcome fails unless r is an OperationOutcome with status and, if
// expr is not "", an issue whose expression is expr.
func wantOutcome(tb testing.TB, r resp, status int, code, expr string) {
	tb.Helper()
	if r.Code != status {
		tb.Fatalf("status %d, want %d; body: %s", r.Code, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		tb.Fatalf("Content-Type %q, want application/fhir+json", ct)
	}
	m := r.JSON(tb)
	if m["resourceType"] != "OperationOutcome" {
		tb.Fatalf("resourceType %v, want OperationOutcome: %s", m["resourceType"], r.Body)
	}
	issues, _ := m["issue"].([]any)
	if len(issues) == 0 {
		tb.Fatalf("no issue: %s", r.Body)
	}
	is := issues[0].(map[string]any)
	if code != "" && is["code"] != code {
		tb.Errorf("issue code %v, want %s: %s", is["code"], code, r.Body)
	}
	if expr != "" {
		ex, _ := is["expression"].([]any)
		if len(ex) == 0 || ex[0] != expr {
			tb.Errorf("issue expression %v, want %s: %s", is["expression"], expr, r.Body)
		}
	}
}

// Sample resources, valid under fhir.Parse's rules.
func patientJSON(family, given, identifier string) string {
	return `{"resourceType":"Patient","identifier":[{"system":"urn:contigo:test","value":"` + identifier + `"}],` +
		`"name":[{"family":"` + family + `","given":["` + given + `"]}],"gender":"female","birthDate":"2023-04-02"}`
}

func encounterJSON(pid, date string) string {
	return `{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},` +
		`"subject":{"reference":"Patient/` + pid + `"},"period":{"start":"` + date + `"}}`
}

func weightJSON(pid, date string, kg float64, unit string) string {
	b, _ := json.Marshal(kg)
	return `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},"subject":{"reference":"Patient/` + pid + `"},` +
		`"effectiveDateTime":"` + date + `","valueQuantity":{"value":` + string(b) + `,"unit":"` + unit + `","system":"http://unitsofmeasure.org","code":"` + unit + `"}}`
}

// createPatient creates a Patient and returns its id.
func (e *env) createPatient(family, given, identifier string) string {
	e.t.Helper()
	r := must(e.t, e.do("POST", "/fhir/Patient", e.admin, patientJSON(family, given, identifier)), http.StatusCreated)
	return r.JSON(e.t)["id"].(string)
}
