package fhir

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"contigo/fhir/fhirtest"
	"contigo/records"
)

const (
	urnPatient   = "urn:uuid:6f1c2d3e-0000-4000-8000-000000000001"
	urnEncounter = "urn:uuid:6f1c2d3e-0000-4000-8000-000000000002"
	urnWeight    = "urn:uuid:6f1c2d3e-0000-4000-8000-000000000003"
)

// visitJSON is a mobile unit's upload: a new child, the visit and a weight.
var visitJSON = `{"resourceType":"Bundle","type":"transaction","entry":[
	{"fullUrl":"` + urnPatient + `","resource":{"resourceType":"Patient","name":[{"family":"Núñez","given":["Ana"]}],"gender":"female","birthDate":"2024-03-01","identifier":[{"system":"urn:contigo:unit","value":"U1-7"}]},
	 "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:contigo:unit|U1-7"}},
	{"fullUrl":"` + urnEncounter + `","resource":{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"` + urnPatient + `"},"period":{"start":"2026-01-10"}},
	 "request":{"method":"POST","url":"Encounter"}},
	{"fullUrl":"` + urnWeight + `","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"` + urnPatient + `"},"encounter":{"reference":"` + urnEncounter + `"},"effectiveDateTime":"2026-01-10","valueQuantity":{"value":8.1,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}},
	 "request":{"method":"POST","url":"Observation"}}]}`

func parseVisit(t *testing.T, body string) *Bundle {
	t.Helper()
	b, err := ParseBundle([]byte(body), testNow)
	if err != nil {
		t.Fatalf("ParseBundle: %v", err)
	}
	if err := AssignIDs(b, b.TxnKey(), nil); err != nil {
		t.Fatalf("AssignIDs: %v", err)
	}
	return b
}

func TestAssignIDs(t *testing.T) {
	t.Parallel()
	b := parseVisit(t, visitJSON)
	if b.Type != "transaction" || len(b.Entries) != 3 {
		t.Fatalf("bundle = %+v", b)
	}
	pat, enc, obs := b.Entries[0], b.Entries[1], b.Entries[2]
	if !regexp.MustCompile(`^[a-z2-7]{26}$`).MatchString(pat.ID) {
		t.Errorf("Patient id %q, want 26 base32 characters", pat.ID)
	}
	for _, e := range []Entry{enc, obs} {
		if !regexp.MustCompile(`^` + pat.ID + `\.[a-z2-7]{12}$`).MatchString(e.ID) {
			t.Errorf("%s id %q, want %s.<12 characters>", e.Type, e.ID, pat.ID)
		}
		if records.PersonOf(e.Type, e.ID) != pat.ID || e.PersonID != pat.ID {
			t.Errorf("%s: person %q / %q, want %s", e.Type, records.PersonOf(e.Type, e.ID), e.PersonID, pat.ID)
		}
		if e.Resource.ID != e.ID {
			t.Errorf("Resource.ID = %q, want %q", e.Resource.ID, e.ID)
		}
	}
	if pat.PersonID != pat.ID || pat.IfNoneExist != "identifier=urn:contigo:unit|U1-7" {
		t.Errorf("patient entry = %+v", pat)
	}
	if diff := cmp.Diff([]string{"Patient/" + pat.ID}, obs.Resource.Keys["subject"]); diff != "" {
		t.Errorf("Observation subject key (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Encounter/" + enc.ID, "Patient/" + pat.ID}, References(obs.Resource)); diff != "" {
		t.Errorf("Observation references (-want +got):\n%s", diff)
	}
	for _, e := range b.Entries {
		if strings.Contains(string(e.Resource.Body), "urn:uuid") {
			t.Errorf("%s body keeps a urn:uuid: %s", e.Type, e.Resource.Body)
		}
		r := e.Resource
		r.Version, r.Updated = 1, testNow
		out, err := Render(r)
		if err != nil {
			t.Fatal(err)
		}
		fhirtest.Validate(t, out)
	}

	// A retry of the same upload gets the same ids.
	again := parseVisit(t, visitJSON)
	if b.TxnKey() != again.TxnKey() || !strings.HasPrefix(b.TxnKey(), "sha256:") {
		t.Errorf("TxnKey %q then %q", b.TxnKey(), again.TxnKey())
	}
	for i := range b.Entries {
		if b.Entries[i].ID != again.Entries[i].ID || string(b.Entries[i].Resource.Body) != string(again.Entries[i].Resource.Body) {
			t.Errorf("entry %d: retry gave id %q, first %q", i, again.Entries[i].ID, b.Entries[i].ID)
		}
	}
	// So does a retry re-serialised with other white space.
	spaced := parseVisit(t, strings.ReplaceAll(visitJSON, `":`, `" : `))
	if spaced.TxnKey() != b.TxnKey() || spaced.Entries[0].ID != pat.ID {
		t.Errorf("re-serialised retry: key %q id %q, want %q %q", spaced.TxnKey(), spaced.Entries[0].ID, b.TxnKey(), pat.ID)
	}
	// Another upload gets other ids.
	other := parseVisit(t, strings.Replace(visitJSON, "U1-7", "U1-8", 2))
	if other.Entries[0].ID == pat.ID {
		t.Error("a different upload got the same Patient id")
	}
}

func TestAssignIDsExistingPatient(t *testing.T) {
	t.Parallel()
	b, err := ParseBundle([]byte(visitJSON), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := AssignIDs(b, "k", map[int]string{0: "Patient/known"}); err != nil {
		t.Fatal(err)
	}
	if b.Entries[0].Existing != "Patient/known" || b.Entries[0].ID != "known" {
		t.Errorf("matched entry = %+v", b.Entries[0])
	}
	if obs := b.Entries[2]; !strings.HasPrefix(obs.ID, "known.") || obs.Resource.Keys["subject"][0] != "Patient/known" {
		t.Errorf("Observation %q subject %v, want under Patient/known", obs.ID, obs.Resource.Keys["subject"])
	}
	if err := AssignIDs(b, "k", map[int]string{1: "Patient/known"}); err == nil {
		t.Error("a match of another type: no error")
	}
}

func TestTxnKeyIdentifier(t *testing.T) {
	t.Parallel()
	body := strings.Replace(visitJSON, `"type":"transaction",`, `"type":"transaction","identifier":{"system":"urn:contigo:upload","value":"U1-2026-01-10-7"},`, 1)
	b := parseVisit(t, body)
	if got, want := b.TxnKey(), "identifier:urn:contigo:upload|U1-2026-01-10-7"; got != want {
		t.Errorf("TxnKey = %q, want %q", got, want)
	}
}

func TestParseBundleErrors(t *testing.T) {
	t.Parallel()
	entry := func(fullURL, resource, request string) string {
		s := `{`
		if fullURL != "" {
			s += `"fullUrl":"` + fullURL + `",`
		}
		if resource != "" {
			s += `"resource":` + resource + `,`
		}
		return s + `"request":` + request + `}`
	}
	bundle := func(typ string, entries ...string) string {
		return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
	}
	post := func(typ string) string { return `{"method":"POST","url":"` + typ + `"}` }
	badWeight := edit(t, weightJSON, `"code":"kg"}`, `"code":"[lb_av]"}`)
	tests := []struct {
		name, body, field string
		status            int
	}{
		{"not JSON", `{"resourceType":"Bundle",`, "Bundle", 400},
		{"not a Bundle", patientJSON, "resourceType", 422},
		{"collection", bundle("collection", entry("", patientJSON, post("Patient"))), "Bundle.type", 422},
		{"unknown element", `{"resourceType":"Bundle","type":"batch","color":1}`, "Bundle.color", 422},
		{"no request", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + patientJSON + `}]}`, "Bundle.entry[0].request", 422},
		{"bad method", bundle("batch", entry("", "", `{"method":"PATCH","url":"Patient/p1"}`)), "Bundle.entry[0].request.method", 422},
		{"unknown method", bundle("batch", entry("", "", `{"method":"FETCH","url":"Patient/p1"}`)), "Bundle.entry[0].request.method", 422},
		{"POST with id", bundle("batch", entry("", patientJSON, `{"method":"POST","url":"Patient/p1"}`)), "Bundle.entry[0].request.url", 422},
		{"POST of AuditEvent", bundle("batch", entry("", `{"resourceType":"AuditEvent"}`, post("AuditEvent"))), "Bundle.entry[0].request.url", 422},
		{"POST without resource", bundle("batch", entry("", "", post("Patient"))), "Bundle.entry[0].resource", 422},
		{"POST type mismatch", bundle("batch", entry("", patientJSON, post("Observation"))), "Bundle.entry[0].resource.resourceType", 422},
		{"PUT id mismatch", bundle("batch", entry("", patientJSON, `{"method":"PUT","url":"Patient/p2"}`)), "Bundle.entry[0].resource.id", 422},
		{"DELETE with resource", bundle("batch", entry("", patientJSON, `{"method":"DELETE","url":"Patient/p1"}`)), "Bundle.entry[0].resource", 422},
		{"GET in a transaction", bundle("transaction", entry("", "", `{"method":"GET","url":"Patient/p1"}`)), "Bundle.entry[0].request.method", 422},
		{"bad ifMatch", bundle("batch", entry("", patientJSON, `{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"x\""}`)), "Bundle.entry[0].request.ifMatch", 422},
		{"ifMatch on POST", bundle("batch", entry("", patientJSON, `{"method":"POST","url":"Patient","ifMatch":"W/\"1\""}`)), "Bundle.entry[0].request.ifMatch", 422},
		{"bad resource", bundle("transaction", entry(urnPatient, patientJSON, post("Patient")), entry("", badWeight, post("Observation"))), "Bundle.entry[1].resource.valueQuantity.code", 422},
		{"wrong type in resource", bundle("batch", entry("", edit(t, weightJSON, `"status":"final"`, `"status":true`), post("Observation"))), "Bundle.entry[0].resource.status", 400},
		{"duplicate fullUrl", bundle("transaction", entry(urnPatient, patientJSON, post("Patient")), entry(urnPatient, patientJSON, post("Patient"))), "Bundle.entry[1].fullUrl", 422},
		{"unresolved urn", bundle("transaction", entry("", edit(t, weightJSON, `"Patient/p1"`, `"`+urnPatient+`"`), post("Observation"))), "Bundle.entry[0].resource.subject", 422},
		{"unresolved urn elsewhere", bundle("transaction", entry("", edit(t, weightJSON, `"Encounter/p1.abc"`, `"`+urnEncounter+`"`), post("Observation"))), "Bundle.entry[0].resource.encounter", 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseBundle([]byte(tt.body), testNow)
			fe, ok := errors.AsType[*records.FieldError](err)
			if !ok {
				t.Fatalf("ParseBundle: %v, want a FieldError at %s", err, tt.field)
			}
			if fe.Field != tt.field {
				t.Errorf("Field = %q, want %q (%s)", fe.Field, tt.field, fe.Reason)
			}
			if status, _ := Status(err); status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
		})
	}
}

func TestAssignIDsRejectsMovingResource(t *testing.T) {
	t.Parallel()
	body := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + edit(t, weightJSON, `"status"`, `"id":"p2.abc","status"`) + `,"request":{"method":"PUT","url":"Observation/p2.abc","ifMatch":"W/\"4\""}}]}`
	b, err := ParseBundle([]byte(body), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if b.Entries[0].IfMatch != 4 {
		t.Errorf("IfMatch = %d, want 4", b.Entries[0].IfMatch)
	}
	err = AssignIDs(b, b.TxnKey(), nil)
	if fe, ok := errors.AsType[*records.FieldError](err); !ok || fe.Field != "Bundle.entry[0].resource.subject" {
		t.Errorf("AssignIDs: %v, want a FieldError at the subject", err)
	}
}

func TestTransactionResponse(t *testing.T) {
	t.Parallel()
	b := parseVisit(t, visitJSON)
	var applied []records.Resource
	for _, e := range b.Entries {
		r := e.Resource
		r.Version, r.Updated = 1, testNow
		applied = append(applied, r)
	}
	out, err := TransactionResponse(b, applied)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeBundle(t, out)
	if d.Type != "transaction-response" || len(d.Entry) != 3 {
		t.Fatalf("response = %s", out)
	}
	for i, e := range d.Entry {
		want := fmt.Sprintf("%s/%s/_history/1", b.Entries[i].Type, b.Entries[i].ID)
		if e.Response.Status != "201 Created" || e.Response.Location != want || e.Response.Etag != `W/"1"` {
			t.Errorf("entry %d response = %+v, want 201 at %s", i, e.Response, want)
		}
	}
	if _, err := TransactionResponse(b, applied[:2]); err == nil {
		t.Error("too few applied versions: no error")
	}
	if _, err := TransactionResponse(b, append(applied, applied[0])); err == nil {
		t.Error("too many applied versions: no error")
	}
}

func TestBatchResponse(t *testing.T) {
	t.Parallel()
	obs := stored(t, weightJSON, "p1.o", 2)
	out, err := BatchResponse([]EntryResult{
		{Status: 201, Resource: stored(t, patientJSON, "p1", 1)},
		{Status: 200, Resource: obs, Return: true},
		{Err: fmt.Errorf("update: %w", records.ErrVersionMismatch)},
		{Err: &records.FieldError{Field: "Bundle.entry[3].resource.subject", Reason: "refers to nothing"}},
		{Err: errors.New("mongo: connection reset by 10.0.0.3")},
		{Status: 200, Body: []byte(`{"resourceType":"Bundle","type":"searchset","total":0}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := decodeBundle(t, out)
	var got []string
	for _, e := range d.Entry {
		got = append(got, e.Response.Status)
	}
	if diff := cmp.Diff([]string{"201 Created", "200 OK", "412 Precondition Failed", "422 Unprocessable Entity", "500 Internal Server Error", "200 OK"}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if d.Entry[1].Resource == nil || d.Entry[0].Resource != nil || d.Entry[1].Response.Location != "Observation/p1.o/_history/2" {
		t.Errorf("entries = %s", out)
	}
	if !strings.Contains(string(d.Entry[3].Response.Outcome), `"expression":["Bundle.entry[3].resource.subject"]`) {
		t.Errorf("outcome = %s", d.Entry[3].Response.Outcome)
	}
	if strings.Contains(string(out), "10.0.0.3") {
		t.Error("internal error text leaked")
	}
}
