package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"contigo/records"
)

func TestCreateReadVReadUpdateHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := must(t, e.do("POST", "/fhir/Patient", e.hw, patientJSON("Pérez", "José", "crud-1")), http.StatusCreated)
	p := r.JSON(t)
	pid := p["id"].(string)
	if loc := r.Header.Get("Location"); loc != "http://example.com/fhir/Patient/"+pid+"/_history/1" {
		t.Errorf("Location %q", loc)
	}
	if et := r.Header.Get("ETag"); et != `W/"1"` {
		t.Errorf("ETag %q, want W/\"1\"", et)
	}
	if meta := p["meta"].(map[string]any); meta["versionId"] != "1" || meta["lastUpdated"] == nil {
		t.Errorf("meta %v", meta)
	}

	r = must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), 200)
	if r.Header.Get("ETag") != `W/"1"` || r.Header.Get("Last-Modified") == "" {
		t.Errorf("read headers %v", r.Header)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/fhir+json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}

	upd := strings.Replace(patientJSON("Pérez", "José", "crud-1"), `"gender":"female"`, `"gender":"male"`, 1)
	upd = strings.Replace(upd, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1)
	r = must(t, e.do("PUT", "/fhir/Patient/"+pid, e.hw, upd, "If-Match", `W/"1"`), 200)
	if r.Header.Get("ETag") != `W/"2"` || r.JSON(t)["gender"] != "male" {
		t.Errorf("update: ETag %q body %s", r.Header.Get("ETag"), r.Body)
	}
	// A stale If-Match changes nothing.
	stale := strings.Replace(upd, `"gender":"male"`, `"gender":"other"`, 1)
	wantOutcome(t, e.do("PUT", "/fhir/Patient/"+pid, e.hw, stale, "If-Match", `W/"1"`), http.StatusPreconditionFailed, "conflict", "")
	if g := must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), 200).JSON(t)["gender"]; g != "male" {
		t.Errorf("after stale update gender %v, want male", g)
	}

	if g := must(t, e.do("GET", "/fhir/Patient/"+pid+"/_history/1", e.hw, ""), 200).JSON(t)["gender"]; g != "female" {
		t.Errorf("vread 1 gender %v, want female", g)
	}
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid+"/_history/9", e.hw, ""), 404, "not-found", "")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid+"/_history/x", e.hw, ""), 404, "not-found", "")

	h := must(t, e.do("GET", "/fhir/Patient/"+pid+"/_history", e.hw, ""), 200).JSON(t)
	if h["type"] != "history" || len(h["entry"].([]any)) != 2 {
		t.Errorf("history: %v", h)
	}
	th := must(t, e.do("GET", "/fhir/Patient/_history", e.hw, ""), 200).JSON(t)
	if th["type"] != "history" || len(th["entry"].([]any)) != 2 {
		t.Errorf("type history: %v", th)
	}

	th = must(t, e.do("GET", "/fhir/Patient/_history?_count=1&_since=2000-01-01T00:00:00Z", e.hw, ""), 200).JSON(t)
	if len(th["entry"].([]any)) != 2 {
		t.Errorf("type history _count=1 (one resource, both versions): %v", th)
	}
	th = must(t, e.do("GET", "/fhir/Patient/_history?_since=2999-01-01T00:00:00Z", e.hw, ""), 200).JSON(t)
	if n, _ := th["entry"].([]any); len(n) != 0 {
		t.Errorf("type history _since the future: %d entries", len(n))
	}
	wantOutcome(t, e.do("GET", "/fhir/Patient/_history?_since=yesterday", e.hw, ""), 400, "", "_since")
	wantOutcome(t, e.do("GET", "/fhir/Patient/_history?_count=-1", e.hw, ""), 400, "", "_count")
	wantOutcome(t, e.do("GET", "/fhir/Spaceship/_history", e.hw, ""), 404, "", "")
	wantOutcome(t, e.do("GET", "/fhir/Spaceship/1/_history", e.hw, ""), 404, "", "")

	// No update-as-create.
	wantOutcome(t, e.do("PUT", "/fhir/Patient/nosuchperson", e.hw, strings.Replace(patientJSON("A", "B", "crud-2"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"nosuchperson",`, 1)), 404, "not-found", "")
	wantOutcome(t, e.do("GET", "/fhir/Patient/nosuchperson", e.hw, ""), 404, "not-found", "")
}

func TestCreateObservationAndEverything(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Gómez", "Lucía", "ev-1")
	for _, d := range []string{"2025-03-01", "2025-01-01", "2025-02-01"} {
		must(t, e.do("POST", "/fhir/Encounter", e.hw, encounterJSON(pid, d)), 201)
		must(t, e.do("POST", "/fhir/Observation", e.hw, weightJSON(pid, d, 8.2, "kg")), 201)
	}
	b := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything", e.hw, ""), 200).JSON(t)
	entries := b["entry"].([]any)
	if len(entries) != 7 {
		t.Fatalf("$everything has %d entries, want 7", len(entries))
	}
	first := entries[0].(map[string]any)["resource"].(map[string]any)
	if first["resourceType"] != "Patient" {
		t.Errorf("first entry %v, want the Patient", first["resourceType"])
	}
	var dates []string
	for _, en := range entries[1:] {
		res := en.(map[string]any)["resource"].(map[string]any)
		switch res["resourceType"] {
		case "Observation":
			dates = append(dates, res["effectiveDateTime"].(string))
		case "Encounter":
			dates = append(dates, res["period"].(map[string]any)["start"].(string))
		}
	}
	for i := 1; i < len(dates); i++ {
		if dates[i] < dates[i-1] {
			t.Errorf("$everything not in date order: %v", dates)
		}
	}
	wantOutcome(t, e.do("GET", "/fhir/Patient/nobody/$everything", e.hw, ""), 404, "not-found", "")
}

func TestConditionalCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := must(t, e.do("POST", "/fhir/Patient", e.hw, patientJSON("Ruiz", "Eva", "cc-1"), "If-None-Exist", "identifier=urn:contigo:test|cc-1"), 201)
	id := r.JSON(t)["id"]
	r = must(t, e.do("POST", "/fhir/Patient", e.hw, patientJSON("Ruiz", "Eva", "cc-1"), "If-None-Exist", "identifier=urn:contigo:test|cc-1"), 200)
	if r.JSON(t)["id"] != id {
		t.Errorf("conditional create returned %v, want existing %v", r.JSON(t)["id"], id)
	}
	e.createPatient("Ruiz", "Eva", "cc-2")
	wantOutcome(t, e.do("POST", "/fhir/Patient", e.hw, patientJSON("Ruiz", "Eva", "cc-3"), "If-None-Exist", "family=ruiz"), http.StatusPreconditionFailed, "", "")
}

// TestConditionalCreateAtOnce: conditional creates and conditional
// updates of one Observation sent at once (a tablet's retries while the
// first try is still being written) create it once: one 201, the others
// 200 with the same resource.
func TestConditionalCreateAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Vera", "Luz", "cc-once")
	for method, date := range map[string]string{"POST": "2025-03-01", "PUT": "2025-03-02"} {
		// A weight of this child on this day: what a client would send.
		query := "patient=" + pid + "&code=" + url.QueryEscape("http://loinc.org|29463-7") + "&date=" + date
		body := weightJSON(pid, date, 9.5, "kg")
		var mu sync.Mutex
		statuses, ids := map[int]int{}, map[string]bool{}
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				var r resp
				if method == "POST" {
					r = e.do("POST", "/fhir/Observation", e.hw, body, "If-None-Exist", query)
				} else {
					r = e.do("PUT", "/fhir/Observation?"+query, e.hw, body)
				}
				mu.Lock()
				defer mu.Unlock()
				statuses[r.Code]++
				if r.Code < 300 {
					ids[r.JSON(t)["id"].(string)] = true
				}
			})
		}
		wg.Wait()
		if statuses[201] != 1 || statuses[200] != 5 || len(ids) != 1 {
			t.Errorf("%s: statuses %v, ids %v: want one 201, five 200, one id", method, statuses, ids)
		}
		got := must(t, e.do("GET", "/fhir/Observation?"+query, e.hw, ""), 200).JSON(t)
		if got["total"] != 1.0 {
			t.Errorf("%s: %v weights of that day, want 1", method, got["total"])
		}
	}
}

// TestConditionalCreateInTransactionsAtOnce: different transactions that
// each create one child's weight of a day unless it exists, sent at once,
// store it once. A transaction whose condition came true while it was
// being written stores nothing and answers 409; sent again it finds the
// weight.
func TestConditionalCreateInTransactionsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Vera", "Sol", "cc-tx-once")
	query := "patient=" + pid + "&code=" + url.QueryEscape("http://loinc.org|29463-7") + "&date=2025-04-01"
	bundle := func(n int) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:00000000-0000-4000-8000-00000000000` + strconv.Itoa(n) + `",` +
			`"resource":` + weightJSON(pid, "2025-04-01", 9.5, "kg") + `,"request":{"method":"POST","url":"Observation","ifNoneExist":"` + query + `"}}]}`
	}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for n := range 6 {
		wg.Go(func() {
			r := e.do("POST", "/fhir", e.hw, bundle(n))
			if r.Code == http.StatusConflict {
				if !strings.Contains(string(r.Body), `"Bundle.entry[0].request.ifNoneExist"`) {
					t.Errorf("409 without the condition's field: %s", r.Body)
				}
				r = e.do("POST", "/fhir", e.hw, bundle(n))
			}
			mu.Lock()
			statuses[r.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[200] != 6 {
		t.Errorf("statuses %v, want six 200 (after one more try for a 409)", statuses)
	}
	got := must(t, e.do("GET", "/fhir/Observation?"+query, e.hw, ""), 200).JSON(t)
	if got["total"] != 1.0 {
		t.Errorf("%v weights of that day, want 1", got["total"])
	}
}

func TestAuditTrail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Mora", "Iris", "audit-1")
	must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), 200)
	wantOutcome(t, e.do("GET", "/fhir/Observation/"+pid+".nothing", e.hw, ""), 404, "", "")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, e.token(RoleNutritionLead, "CO"), ""), 403, "", "")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, e.token(RoleHealthWorker, "EC"), ""), 403, "", "")

	entries, _, err := e.store.Audits(context.Background(), "CO", records.AuditQuery{PersonID: pid, Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range entries {
		seen[a.Interaction+" "+a.Role+" "+strconv.Itoa(a.Outcome)] = true
		if a.RequestID == "" || a.Country != "CO" || a.Actor == "" || a.Time.IsZero() || a.Action == "" {
			t.Errorf("incomplete audit entry %+v", a)
		}
	}
	for _, want := range []string{"create admin 201", "read health-worker 200", "read health-worker 404", "read nutrition-lead 403", "read health-worker 403"} {
		if !seen[want] {
			t.Errorf("no audit entry %q in %v", want, seen)
		}
	}

	b := must(t, e.do("GET", "/fhir/AuditEvent?patient=Patient/"+pid+"&_count=2", e.admin, ""), 200).JSON(t)
	if b["type"] != "searchset" || len(b["entry"].([]any)) != 2 {
		t.Fatalf("AuditEvent search: %v", b)
	}
	ae := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	r := must(t, e.do("GET", "/fhir/AuditEvent/"+ae["id"].(string), e.admin, ""), 200).JSON(t)
	if r["resourceType"] != "AuditEvent" || r["recorded"] == "" {
		t.Errorf("AuditEvent read: %v", r)
	}
	next := link(b, "next")
	if next == "" {
		t.Fatalf("AuditEvent search of 2 lacks a next link: %v", b["link"])
	}
	b2 := must(t, e.do("GET", relative(t, next), e.admin, ""), 200).JSON(t)
	first, second := entryIDs(b), entryIDs(b2)
	if len(second) == 0 || second[0] == first[0] || second[0] == first[1] {
		t.Errorf("next page %v repeats or is empty after %v", second, first)
	}
	if !hasLink(b2, "previous") {
		t.Errorf("second page lacks a previous link: %v", b2["link"])
	}
	wantOutcome(t, e.do("GET", "/fhir/AuditEvent?name=x", e.admin, ""), 400, "", "name")
	wantOutcome(t, e.do("POST", "/fhir/AuditEvent", e.admin, `{"resourceType":"AuditEvent"}`), 404, "", "")
}

// hasLink reports whether Bundle b has a link with relation rel.
func hasLink(b map[string]any, rel string) bool {
	return link(b, rel) != ""
}

// link returns the url of b's link rel, "" if none.
func link(b map[string]any, rel string) string {
	links, _ := b["link"].([]any)
	for _, l := range links {
		m := l.(map[string]any)
		if m["relation"] == rel {
			return m["url"].(string)
		}
	}
	return ""
}

func TestCountryPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ec := e.token(RoleHealthWorker, "EC")
	r := must(t, e.do("POST", "/countries/ec/fhir/Patient", ec, patientJSON("Quispe", "Rosa", "ec-1")), http.StatusCreated)
	id := r.JSON(t)["id"].(string)
	if loc := r.Header.Get("Location"); loc != "http://example.com/countries/EC/fhir/Patient/"+id+"/_history/1" {
		t.Errorf("Location %q", loc)
	}
	must(t, e.do("GET", "/countries/EC/fhir/Patient/"+id, ec, ""), 200)
	// Each country's records stay in that country: /fhir is CO here.
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+id, e.admin, ""), 404, "not-found", "")
	b := must(t, e.do("GET", "/countries/EC/fhir/Patient?name=rosa", ec, ""), 200).JSON(t)
	if self := link(b, "self"); !strings.HasPrefix(self, "http://example.com/countries/EC/fhir/Patient?") {
		t.Errorf("self link %q", self)
	}
	must(t, e.do("GET", "/countries/EC/fhir/metadata", "", ""), 200)
}
