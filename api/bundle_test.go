package api

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"contigo/records"
)

// visitBundle is a mobile unit's upload: a new child, today's encounter and
// two measurements, linked by urn:uuid.
func visitBundle(identifier, date string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"urn:uuid:a0000000-0000-4000-8000-000000000001","resource":` + patientJSON("Castro", "Mateo", identifier) + `,"request":{"method":"POST","url":"Patient"}},` +
		`{"fullUrl":"urn:uuid:a0000000-0000-4000-8000-000000000002","resource":` + strings.ReplaceAll(encounterJSON("X", date), "Patient/X", "urn:uuid:a0000000-0000-4000-8000-000000000001") + `,"request":{"method":"POST","url":"Encounter"}},` +
		`{"fullUrl":"urn:uuid:a0000000-0000-4000-8000-000000000003","resource":` + strings.ReplaceAll(strings.Replace(weightJSON("X", date, 10.2, "kg"), `"effectiveDateTime"`, `"encounter":{"reference":"urn:uuid:a0000000-0000-4000-8000-000000000002"},"effectiveDateTime"`, 1), "Patient/X", "urn:uuid:a0000000-0000-4000-8000-000000000001") + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"fullUrl":"urn:uuid:a0000000-0000-4000-8000-000000000004","resource":` + strings.ReplaceAll(weightJSON("X", date, 10.3, "kg"), "Patient/X", "urn:uuid:a0000000-0000-4000-8000-000000000001") + `,"request":{"method":"POST","url":"Observation"}}]}`
}

// responseStatuses returns entry[].response.status of a response Bundle.
func responseStatuses(b map[string]any) []string {
	var out []string
	for _, en := range b["entry"].([]any) {
		out = append(out, en.(map[string]any)["response"].(map[string]any)["status"].(string))
	}
	return out
}

func TestTransactionVisitUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := visitBundle("txn-1", "2025-05-05")
	r := must(t, e.do("POST", "/fhir", e.hw, body), 200)
	b := r.JSON(t)
	if b["type"] != "transaction-response" {
		t.Fatalf("type %v", b["type"])
	}
	for i, s := range responseStatuses(b) {
		if !strings.HasPrefix(s, "201") {
			t.Errorf("entry %d status %q, want 201", i, s)
		}
	}
	loc := b["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["location"].(string)
	pid := strings.Split(loc, "/")[1]

	// A retry after a dropped connection creates nothing twice.
	r2 := must(t, e.do("POST", "/fhir", e.hw, body), 200)
	if !bytes.Equal(r.Body, r2.Body) {
		t.Errorf("retry answered differently:\n%s\n%s", r.Body, r2.Body)
	}
	ev := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything", e.hw, ""), 200).JSON(t)
	if n := len(ev["entry"].([]any)); n != 4 {
		t.Errorf("$everything after a retried upload has %d entries, want 4", n)
	}
	n := must(t, e.do("GET", "/fhir/Patient?identifier=urn:contigo:test|txn-1&_summary=count", e.hw, ""), 200).JSON(t)["total"]
	if n != float64(1) {
		t.Errorf("%v patients with the identifier, want 1", n)
	}
	// References were resolved: the Observation points at the Encounter.
	obs := must(t, e.do("GET", "/fhir/Observation?subject=Patient/"+pid, e.hw, ""), 200).JSON(t)
	if ids := entryIDs(obs); len(ids) != 2 {
		t.Errorf("%d observations, want 2", len(ids))
	}
	if !strings.Contains(string(must(t, e.do("GET", "/fhir/Observation?subject=Patient/"+pid, e.hw, ""), 200).Body), `"reference":"Encounter/`+pid+`.`) {
		t.Error("urn:uuid encounter reference not resolved")
	}

	// A second visit for the same child, referring to the existing Patient.
	visit2 := `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"urn:uuid:b0000000-0000-4000-8000-000000000001","resource":` + encounterJSON(pid, "2025-06-05") + `,"request":{"method":"POST","url":"Encounter"}},` +
		`{"fullUrl":"urn:uuid:b0000000-0000-4000-8000-000000000002","resource":` + weightJSON(pid, "2025-06-05", 10.9, "kg") + `,"request":{"method":"POST","url":"Observation"}}]}`
	must(t, e.do("POST", "/fhir", e.hw, visit2), 200)
	must(t, e.do("POST", "/fhir", e.hw, visit2), 200)
	ev = must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything", e.hw, ""), 200).JSON(t)
	if n := len(ev["entry"].([]any)); n != 6 {
		t.Errorf("$everything after the second visit has %d entries, want 6", n)
	}
}

func TestTransactionAllOrNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := strings.Replace(visitBundle("txn-bad", "2025-05-05"), `"value":10.3,"unit":"kg"`, `"value":10.3,"unit":"lb"`, 1)
	bad = strings.Replace(bad, `"code":"kg"}}`+`,"request":{"method":"POST","url":"Observation"}}]}`, `"code":"lb"}}`+`,"request":{"method":"POST","url":"Observation"}}]}`, 1)
	r := e.do("POST", "/fhir", e.hw, bad)
	wantOutcome(t, r, 422, "", "")
	if ex := expression(t, r); !strings.HasPrefix(ex, "Bundle.entry[3]") {
		t.Errorf("expression %q, want Bundle.entry[3]...", ex)
	}
	n := must(t, e.do("GET", "/fhir/Patient?identifier=urn:contigo:test|txn-bad&_summary=count", e.hw, ""), 200).JSON(t)["total"]
	if n != float64(0) {
		t.Errorf("%v patients after a failed transaction, want 0", n)
	}
	// A dangling reference to an existing-looking resource fails the whole Bundle.
	dangling := strings.Replace(visitBundle("txn-dang", "2025-05-05"), `"reference":"urn:uuid:a0000000-0000-4000-8000-000000000002"`, `"reference":"Encounter/nobody.xyz"`, 1)
	wantOutcome(t, e.do("POST", "/fhir", e.hw, dangling), 422, "invalid", "Bundle.entry[2].resource.encounter")
	if c := e.do("POST", "/fhir", e.hw, `{"resourceType":"Bundle","type":"collection"}`).Code; c < 400 || c >= 500 {
		t.Errorf("collection Bundle: status %d, want 4xx", c)
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Silva", "Ana", "batch-1")
	body := `{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"resource":` + weightJSON(pid, "2025-01-01", 9, "kg") + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"resource":` + weightJSON(pid, "2025-01-01", 9, "lb") + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"resource":` + weightJSON("nobody", "2025-01-01", 9, "kg") + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"request":{"method":"GET","url":"Patient/` + pid + `"}},` +
		`{"resource":` + patientJSON("Silva", "Ana", "batch-1") + `,"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:contigo:test|batch-1"}},` +
		`{"resource":` + strings.Replace(patientJSON("Silva", "Ana María", "batch-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1) + `,"request":{"method":"PUT","url":"Patient/` + pid + `","ifMatch":"W/\"1\""}},` +
		`{"resource":` + strings.Replace(patientJSON("Silva", "Ana", "batch-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1) + `,"request":{"method":"PUT","url":"Patient/` + pid + `","ifMatch":"W/\"1\""}},` +
		`{"request":{"method":"GET","url":"Patient?name=ana"}}]}`
	b := must(t, e.do("POST", "/fhir", e.hw, body), 200).JSON(t)
	if b["type"] != "batch-response" {
		t.Fatalf("type %v", b["type"])
	}
	got := responseStatuses(b)
	want := []string{"201", "4", "422", "200", "200", "200", "412", "501"}
	for i := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("entry statuses %v, want prefixes %v", got, want)
			break
		}
	}
	n, err := e.srv.records.Count(context.Background(), "CO", records.Query{Type: "Observation"})
	if err != nil || n != 1 {
		t.Errorf("%d observations (%v), want 1", n, err)
	}
}

// TestTransactionConditionalPatient: a unit that does not know whether the
// child is registered sends the Patient with ifNoneExist; the visit joins
// the existing record.
func TestTransactionConditionalPatient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Castro", "Mateo", "cond-1")
	body := strings.Replace(visitBundle("cond-1", "2025-07-07"), `"request":{"method":"POST","url":"Patient"}`, `"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:contigo:test|cond-1"}`, 1)
	b := must(t, e.do("POST", "/fhir", e.hw, body), 200).JSON(t)
	st := responseStatuses(b)
	if len(st) != 4 || !strings.HasPrefix(st[0], "200") || !strings.HasPrefix(st[1], "201") {
		t.Errorf("statuses %v, want 200 for the matched Patient then 201s", st)
	}
	ev := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything", e.hw, ""), 200).JSON(t)
	if n := len(ev["entry"].([]any)); n != 4 {
		t.Errorf("$everything has %d entries, want 4 (the visit joined the existing record)", n)
	}
	n := must(t, e.do("GET", "/fhir/Patient?identifier=urn:contigo:test|cond-1&_summary=count", e.hw, ""), 200).JSON(t)["total"]
	if n != float64(1) {
		t.Errorf("%v patients with the identifier, want 1", n)
	}
}

// TestTransactionUpdateIfMatch: a stale ifMatch fails the whole transaction.
func TestTransactionUpdateIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Vera", "Luz", "tu-1")
	upd := strings.Replace(patientJSON("Vera", "Luz", "tu-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1)
	txn := func(ifMatch, gender string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"resource":` + strings.Replace(upd, `"gender":"female"`, `"gender":"`+gender+`"`, 1) + `,"request":{"method":"PUT","url":"Patient/` + pid + `","ifMatch":"` + ifMatch + `"}},` +
			`{"fullUrl":"urn:uuid:c0000000-0000-4000-8000-000000000001","resource":` + encounterJSON(pid, "2025-08-08") + `,"request":{"method":"POST","url":"Encounter"}}]}`
	}
	must(t, e.do("POST", "/fhir", e.hw, txn(`W/\"1\"`, "male")), 200)
	wantOutcome(t, e.do("POST", "/fhir", e.hw, txn(`W/\"1\"`, "other")), 412, "", "")
	r := must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), 200)
	if g := r.JSON(t)["gender"]; g != "male" || r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("after a stale transaction: gender %v, ETag %s; want male, W/\"2\"", g, r.Header.Get("ETag"))
	}
	if n := len(must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything", e.hw, ""), 200).JSON(t)["entry"].([]any)); n != 2 {
		t.Errorf("$everything has %d entries, want 2 (one encounter from the first transaction only)", n)
	}
}
