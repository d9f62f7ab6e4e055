package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A batch Bundle that reads two Patients leaves an AuditEvent for each, so
// each one's access history shows the read; the batch event stays.
func TestAuditBatchReadsPerPatient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", "")), http.StatusCreated).JSON(t)["id"].(string)
	b := must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Luis", "Paz", "2023-02-01", "")), http.StatusCreated).JSON(t)["id"].(string)
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/` + a + `"}},{"request":{"method":"GET","url":"Patient/` + b + `"}},{"request":{"method":"GET","url":"Patient/nope"}}]}`
	must(t, e.do("POST", "/fhir", e.hw, batch), http.StatusOK)
	for _, pid := range []string{a, b} {
		r := must(t, e.do("GET", "/fhir/AuditEvent?patient="+pid, e.admin, ""), http.StatusOK)
		body := string(r.Body)
		if !strings.Contains(body, `(batch-read)`) || !strings.Contains(body, `"reference":"Patient/`+pid+`"`) {
			t.Errorf("AuditEvent?patient=%s lacks the batch read: %s", pid, body)
		}
		if n := strings.Count(body, `(batch-read)`); n != 1 {
			t.Errorf("patient %s: %d batch reads, want 1", pid, n)
		}
	}
}

// A request without a valid token is audited: outcome 401, the route and
// no token, no resource id, no person.
func TestAudit401(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", "")), http.StatusCreated).JSON(t)["id"].(string)
	must(t, e.do("GET", "/fhir/Patient/"+pid, "", ""), http.StatusUnauthorized)
	must(t, e.do("GET", "/fhir/Patient/"+pid, "not-a-token", ""), http.StatusUnauthorized)
	r := must(t, e.do("GET", "/fhir/AuditEvent?_count=100", e.admin, ""), http.StatusOK)
	body := string(r.Body)
	if n := strings.Count(body, "HTTP 401 (authenticate GET /fhir/:type/:id)"); n != 2 {
		t.Errorf("%d audited 401s, want 2: %s", n, body)
	}
	if strings.Count(body, pid) != strings.Count(body, "(create)")*2 {
		// The create event names the Patient twice (what and patient);
		// the 401 events must not name it at all.
		t.Errorf("a 401 event names the patient: %s", body)
	}
	if strings.Contains(body, "not-a-token") {
		t.Errorf("token text in the audit: %s", body)
	}
}

// auditedFor returns the AuditEvents of AuditEvent?patient=pid on e.
func auditedFor(t *testing.T, do func(method, path, token, body string, header ...string) resp, token, pid string) string {
	t.Helper()
	return string(must(t, do("GET", "/fhir/AuditEvent?_count=500&patient="+pid, token, ""), http.StatusOK).Body)
}

// Every disclosure names every patient whose data left: a name search, an
// Observation search, $match, $everything and a type history each leave
// one AuditEvent naming each patient of the answer, so AuditEvent?patient=X
// lists them all; a search that found nobody names nobody.
func TestAuditSearchesNameEveryPatient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", "")), http.StatusCreated).JSON(t)["id"].(string)
	b := must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Luisa", "Rojas", "2023-02-01", "")), http.StatusCreated).JSON(t)["id"].(string)
	for _, pid := range []string{a, b} {
		must(t, e.do("POST", "/fhir/Observation", e.hw, weightJSON(pid, "2025-01-10", 9.5, "kg")), http.StatusCreated)
	}
	must(t, e.do("GET", "/fhir/Patient?family=rojas", e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Observation?code=29463-7", e.hw, ""), http.StatusOK)
	must(t, e.do("POST", "/fhir/Patient/$match", e.hw, matchParams(childJSON("Ana", "Rojas", "2024-06-01", ""), false)), http.StatusOK)
	must(t, e.do("GET", "/fhir/Patient/"+a+"/$everything", e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Observation/_history", e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Patient?family=nobody", e.hw, ""), http.StatusOK)

	for _, pid := range []string{a, b} {
		body := auditedFor(t, e.do, e.admin, pid)
		for _, what := range []string{`"code":"search-type"`, `"code":"history-type"`} {
			if !strings.Contains(body, what) {
				t.Errorf("AuditEvent?patient=%s lacks %s: %s", pid, what, body)
			}
		}
		// Two searches name both patients: Patient by family, Observation by code.
		if n := strings.Count(body, "(search-type)"); n != 2 {
			t.Errorf("patient %s: %d searches audited, want 2", pid, n)
		}
	}
	// $match returned Ana only; $everything read Ana's record.
	body := auditedFor(t, e.do, e.admin, a)
	if !strings.Contains(body, "(everything)") || !strings.Contains(body, "(match)") {
		t.Errorf("$everything or $match of %s not in its history: %s", a, body)
	}
	if body := auditedFor(t, e.do, e.admin, b); strings.Contains(body, "(match)") || strings.Contains(body, "(everything)") {
		t.Errorf("%s was not disclosed by $match or $everything: %s", b, body)
	}
	// One AuditEvent per request: the Patient search is one event naming both.
	all := string(must(t, e.do("GET", "/fhir/AuditEvent?_count=500", e.admin, ""), http.StatusOK).Body)
	var search map[string]any
	for _, ev := range entries2(t, all) {
		if strings.Contains(ev, "(search-type)") && strings.Contains(ev, a) && strings.Contains(ev, b) {
			search = map[string]any{"ok": true}
		}
	}
	if search == nil {
		t.Errorf("no single search event names both patients: %s", all)
	}
}

// entries2 splits a Bundle body into its entries' JSON texts.
func entries2(t *testing.T, body string) []string {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(b.Entry))
	for i, e := range b.Entry {
		out[i] = string(e.Resource)
	}
	return out
}

// A refused access (403: the wrong country; a nutrition lead's FHIR read)
// is audited with its outcome, route and actor, in the patient's access
// history by opaque id, and without personal data (no name, no birth date).
func TestAudit403WithoutPersonalData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := must(t, e.do("POST", "/fhir/Patient", e.hw, childJSON("Ana", "Rojas", "2024-06-01", "")), http.StatusCreated).JSON(t)["id"].(string)
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, e.token(RoleHealthWorker, "EC"), ""), http.StatusForbidden, "forbidden", "")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, e.token(RoleNutritionLead, "CO"), ""), http.StatusForbidden, "forbidden", "")
	must(t, e.do("GET", "/fhir/Patient?family=rojas", e.token(RoleNutritionLead, "CO"), ""), http.StatusForbidden)
	body := auditedFor(t, e.do, e.admin, pid)
	if n := strings.Count(body, "HTTP 403"); n != 2 {
		t.Errorf("%d audited 403s in the patient's history, want 2 (the search named nobody): %s", n, body)
	}
	all := string(must(t, e.do("GET", "/fhir/AuditEvent?_count=500", e.admin, ""), http.StatusOK).Body)
	if n := strings.Count(all, "HTTP 403"); n != 3 {
		t.Errorf("%d audited 403s, want 3", n)
	}
	for _, pii := range []string{"Rojas", "rojas", "Ana", "2024-06-01"} {
		if strings.Contains(all, pii) {
			t.Errorf("audit trail holds %q: %s", pii, all)
		}
	}
}

// A federated $match and a federated Patient search are audited on the
// requesting node naming the patients of the peer's answer, and on the
// peer too: AuditEvent?patient=X on both nodes shows the disclosure.
func TestAuditFederatedAnswerNamesPatients(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC")
	co, ec := nodes["CO"], nodes["EC"]
	pid := must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("María José", "García Pérez", "2024-03-05", "V-12345678")), 201).JSON(t)["id"].(string)
	must(t, ec.do("POST", "/fhir/Patient/$match?_federated=true", ec.hw, matchParams(childJSON("Maria", "Garcia Perez", "2024-03-05", ""), false)), 200)
	must(t, ec.do("GET", "/fhir/Patient?_federated=true&birthdate=2024-03-05", ec.hw, ""), 200)
	for name, n := range map[string]*fedNodeT{"EC (requesting)": ec, "CO (peer)": co} {
		body := auditedFor(t, n.do, n.admin, pid)
		if !strings.Contains(body, "(match)") || !strings.Contains(body, "(search-type)") {
			t.Errorf("%s: AuditEvent?patient=%s lacks the federated $match or search: %s", name, pid, body)
		}
	}
}

// A sector lead's alert list names the children whose alerts it showed.
func TestAuditAlertListNamesPatients(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	must(t, n.visit(pid, "2026-01-26", muacObs(110), oedemaObs("absent")), http.StatusOK)
	if len(n.alerts("").Alerts) == 0 {
		t.Fatal("no alert raised")
	}
	body := auditedFor(t, n.do, n.admin, pid)
	if !strings.Contains(body, "(alerts-search)") {
		t.Errorf("AuditEvent?patient=%s lacks the alert list: %s", pid, body)
	}
}

// A DELETE, a conditional DELETE and a DELETE inside a batch each leave an
// AuditEvent naming the person whose record changed, with action D, so
// AuditEvent?patient=X lists them.
func TestAuditDeleteNamesPerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "AD-1")
	var eids []string
	for _, d := range []string{"2026-01-05", "2026-01-06", "2026-01-07"} {
		eids = append(eids, must(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(pid, d)), http.StatusCreated).JSON(t)["id"].(string))
	}
	must(t, e.do("DELETE", "/fhir/Encounter/"+eids[0], e.hw, ""), http.StatusNoContent)
	must(t, e.do("DELETE", "/fhir/Encounter?_id="+eids[1], e.hw, ""), http.StatusNoContent)
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Encounter/` + eids[2] + `"}}]}`
	must(t, e.do("POST", "/fhir", e.hw, batch), http.StatusOK)
	body := auditedFor(t, e.do, e.admin, pid)
	for _, ev := range entries2(t, body) {
		if strings.Contains(ev, `"code":"delete"`) && !strings.Contains(ev, `"reference":"Patient/`+pid+`"`) {
			t.Errorf("a delete event does not name the patient: %s", ev)
		}
	}
	if n := strings.Count(body, "(delete)"); n != 2 {
		t.Errorf("%d deletes in the patient's history, want 2 (plain and conditional): %s", n, body)
	}
	if n := strings.Count(body, `{"code":"delete","system":"http://hl7.org/fhir/restful-interaction"}`); n != 3 {
		t.Errorf("%d AuditEvents with subtype delete, want 3: %s", n, body)
	}
	if n := strings.Count(body, "(batch-delete)"); n != 1 {
		t.Errorf("%d batch deletes in the patient's history, want 1: %s", n, body)
	}
}
