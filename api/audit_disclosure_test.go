package api

import (
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
