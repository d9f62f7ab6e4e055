package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"contigo/fhir/fhirtest"
	"contigo/records"
)

// exportHdr are the headers the Bulk Data IG requires of a kick-off.
var exportHdr = []string{"Accept", "application/fhir+json", "Prefer", "respond-async"}

// kickoff starts an export and returns its status path.
func (e *env) kickoff(method, path, token, body string) string {
	e.t.Helper()
	r := must(e.t, e.do(method, path, token, body, exportHdr...), http.StatusAccepted)
	loc := r.Header.Get("Content-Location")
	_, p, ok := strings.Cut(loc, "://example.com")
	if !ok || !strings.Contains(p, "/$export-status/") {
		e.t.Fatalf("Content-Location %q is not a status URL", loc)
	}
	return p
}

// poll polls a status path until it is no longer 202 (bounded), and
// returns the final answer.
func (e *env) poll(path, token string) resp {
	e.t.Helper()
	for range 2000 {
		r := e.do("GET", path, token, "")
		if r.Code != http.StatusAccepted {
			return r
		}
		if r.Header.Get("X-Progress") == "" || r.Header.Get("Retry-After") == "" {
			e.t.Fatalf("202 without X-Progress or Retry-After: %v", r.Header)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("export %s did not finish", path)
	return resp{}
}

// manifest decodes a completed status answer.
func manifestOf(tb testing.TB, r resp) exportManifest {
	tb.Helper()
	must(tb, r, http.StatusOK)
	var m exportManifest
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("manifest: %v: %s", err, r.Body)
	}
	if !m.RequiresAccessToken || m.TransactionTime == "" || m.Request == "" || m.Error == nil {
		tb.Fatalf("incomplete manifest: %s", r.Body)
	}
	return m
}

// download fetches every output file of m, checks that each line is a
// valid FHIR resource of the file's type and that the count is right, and
// returns the resources by type.
func (e *env) download(m exportManifest, token string) map[string][]map[string]any {
	e.t.Helper()
	got := map[string][]map[string]any{}
	for _, o := range m.Output {
		_, p, _ := strings.Cut(o.URL, "://example.com")
		r := must(e.t, e.do("GET", p, token, "", "Accept", "application/fhir+ndjson"), http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != ndjson {
			e.t.Errorf("%s: Content-Type %q, want %s", o.Type, ct, ndjson)
		}
		sc := bufio.NewScanner(bytes.NewReader(r.Body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fhirtest.Validate(e.t, sc.Bytes())
			var res map[string]any
			if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
				e.t.Fatalf("%s: line is not JSON: %v", o.Type, err)
			}
			if res["resourceType"] != o.Type {
				e.t.Errorf("%s file holds a %v", o.Type, res["resourceType"])
			}
			got[o.Type] = append(got[o.Type], res)
		}
		if int64(len(got[o.Type])) != o.Count {
			e.t.Errorf("%s: %d lines, manifest count %d", o.Type, len(got[o.Type]), o.Count)
		}
	}
	return got
}

func outputCounts(m exportManifest) map[string]int64 {
	out := map[string]int64{}
	for _, o := range m.Output {
		out[o.Type] = o.Count
	}
	return out
}

func TestBulkExportSystem(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(e.srv.bulk.wait)
	a := e.createPatient("Pérez", "Ana", "x1")
	b := e.createPatient("Gómez", "Luis", "x2")
	e.createPatient("Ruiz", "Eva", "x3")
	must(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(a, "2025-01-10")), http.StatusCreated)
	must(t, e.do("POST", "/fhir/Observation", e.admin, weightJSON(b, "2025-01-10", 9.5, "kg")), http.StatusCreated)
	// Another country's records are not part of CO's export.
	must(t, e.do("POST", "/countries/EC/fhir/Patient", e.admin, patientJSON("Otro", "País", "ec1")), http.StatusCreated)

	ministry := e.token(RoleMinistry, "CO")
	status := e.kickoff("GET", "/fhir/$export", ministry, "")
	m := manifestOf(t, e.poll(status, ministry))
	c := outputCounts(m)
	if c["Patient"] != 3 || c["Encounter"] != 1 || c["Observation"] < 1 {
		t.Fatalf("counts %v, want 3 Patient, 1 Encounter, at least 1 Observation", c)
	}
	got := e.download(m, ministry)
	ids := map[string]bool{}
	for _, p := range got["Patient"] {
		ids[p["id"].(string)] = true
	}
	if !ids[a] || !ids[b] || len(ids) != 3 {
		t.Errorf("patient ids %v", ids)
	}
	// Patient level and the country's Group give the same data.
	for _, path := range []string{"/fhir/Patient/$export", "/fhir/Group/CO/$export"} {
		m2 := manifestOf(t, e.poll(e.kickoff("GET", path, ministry, ""), ministry))
		if c2 := outputCounts(m2); c2["Patient"] != 3 || c2["Encounter"] != 1 {
			t.Errorf("%s: counts %v", path, c2)
		}
	}
	// One audit entry per job and person disclosed.
	job := status[strings.LastIndexByte(status, '/')+1:]
	for _, pid := range []string{a, b} {
		ae, err := e.store.Audit(context.Background(), "CO", job+"-"+pid)
		if err != nil {
			t.Fatalf("no export audit entry for a disclosed patient: %v", err)
		}
		if ae.Interaction != "export" || ae.PersonID != pid || ae.Actor != "test-ministry" || ae.RequestID != job {
			t.Errorf("audit entry %+v", ae)
		}
	}
	r := must(t, e.do("GET", "/fhir/AuditEvent?patient="+a, e.admin, ""), http.StatusOK)
	if !strings.Contains(string(r.Body), job+"-"+a) {
		t.Errorf("AuditEvent?patient does not list the export")
	}
}

func TestBulkExportTypeSincePost(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(e.srv.bulk.wait)
	a := e.createPatient("Pérez", "Ana", "x1")
	must(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(a, "2025-01-10")), http.StatusCreated)
	time.Sleep(5 * time.Millisecond)
	since := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(5 * time.Millisecond)
	b := e.createPatient("Gómez", "Luis", "x2")

	m := manifestOf(t, e.poll(e.kickoff("GET", "/fhir/$export?_type=Patient&_outputFormat=application/fhir%2Bndjson", e.admin, ""), e.admin))
	if c := outputCounts(m); len(c) != 1 || c["Patient"] != 2 {
		t.Errorf("_type=Patient: counts %v", c)
	}
	m = manifestOf(t, e.poll(e.kickoff("GET", "/fhir/$export?_since="+strings.ReplaceAll(since, "+", "%2B"), e.admin, ""), e.admin))
	got := e.download(m, e.admin)
	if c := outputCounts(m); len(c) != 1 || c["Patient"] != 1 || got["Patient"][0]["id"] != b {
		t.Errorf("_since: counts %v", c)
	}
	body := `{"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Encounter"},{"name":"_outputFormat","valueString":"ndjson"}]}`
	m = manifestOf(t, e.poll(e.kickoff("POST", "/fhir/$export", e.admin, body), e.admin))
	if c := outputCounts(m); len(c) != 1 || c["Encounter"] != 1 {
		t.Errorf("POST _type=Encounter: counts %v", c)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	m = manifestOf(t, e.poll(e.kickoff("GET", "/fhir/$export?_since="+future, e.admin, ""), e.admin))
	if len(m.Output) != 0 {
		t.Errorf("_since in the future: output %v", m.Output)
	}
}

func TestBulkExportKickoffRefused(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(e.srv.bulk.wait)
	wantOutcome(t, e.do("GET", "/fhir/$export", e.admin, "", "Accept", "application/fhir+json"), 400, "structure", "Prefer")
	wantOutcome(t, e.do("GET", "/fhir/$export", e.admin, "", "Prefer", "respond-async"), 400, "structure", "Accept")
	wantOutcome(t, e.do("GET", "/fhir/$export?_type=Medication", e.admin, "", exportHdr...), 400, "structure", "_type")
	wantOutcome(t, e.do("GET", "/fhir/$export?_since=yesterday", e.admin, "", exportHdr...), 400, "structure", "_since")
	wantOutcome(t, e.do("GET", "/fhir/$export?_outputFormat=text/csv", e.admin, "", exportHdr...), 400, "structure", "_outputFormat")
	wantOutcome(t, e.do("GET", "/fhir/$export?_typeFilter=Patient%3Fgender%3Dfemale", e.admin, "", exportHdr...), 400, "structure", "_typeFilter")
	wantOutcome(t, e.do("POST", "/fhir/$export", e.admin, `{"resourceType":"Patient"}`, exportHdr...), 400, "structure", "Parameters")
	wantOutcome(t, e.do("GET", "/fhir/Group/EC/$export", e.admin, "", exportHdr...), 404, "not-found", "Group.id")
	wantOutcome(t, e.do("GET", "/fhir/Group/all/$export", e.admin, "", exportHdr...), 404, "not-found", "Group.id")
	// Only ministries and admins of the country export.
	wantOutcome(t, e.do("GET", "/fhir/$export", e.hw, "", exportHdr...), 403, "forbidden", "")
	wantOutcome(t, e.do("GET", "/fhir/$export", e.token(RoleNutritionLead, "CO"), "", exportHdr...), 403, "forbidden", "")
	wantOutcome(t, e.do("GET", "/fhir/$export", e.token(RoleMinistry, "EC"), "", exportHdr...), 403, "forbidden", "")
	wantOutcome(t, e.do("GET", "/fhir/$export", "", "", exportHdr...), 401, "login", "")
	if ids, err := e.store.(records.ExportStore).ExpiredExports(context.Background(), "CO", time.Now().Add(1000*time.Hour)); err != nil || len(ids) != 0 {
		t.Errorf("refused kick-offs stored jobs %v (%v)", ids, err)
	}

	// The status and files of a CO export are the CO ministry's: not a
	// health worker's, nor another country's.
	status := e.kickoff("GET", "/fhir/$export", e.admin, "")
	m := manifestOf(t, e.poll(status, e.admin))
	wantOutcome(t, e.do("GET", status, e.hw, ""), 403, "forbidden", "")
	wantOutcome(t, e.do("GET", status, e.token(RoleMinistry, "EC"), ""), 403, "forbidden", "")
	ec := strings.Replace(status, "/fhir/", "/countries/EC/fhir/", 1)
	wantOutcome(t, e.do("GET", ec, e.admin, ""), 404, "not-found", "")
	for _, o := range m.Output {
		_, p, _ := strings.Cut(o.URL, "://example.com")
		wantOutcome(t, e.do("GET", p, e.hw, ""), 403, "forbidden", "")
		wantOutcome(t, e.do("GET", p, "", ""), 401, "login", "")
	}
	wantOutcome(t, e.do("GET", status+"x", e.admin, ""), 404, "not-found", "")
}

func TestBulkExportCancel(t *testing.T) {
	e := newEnv(t)
	e.createPatient("Pérez", "Ana", "x1")
	ctx := context.Background()
	status := e.kickoff("GET", "/fhir/$export", e.admin, "")
	job := status[strings.LastIndexByte(status, '/')+1:]
	must(t, e.do("DELETE", status, e.admin, ""), http.StatusAccepted)
	e.srv.bulk.wait()
	wantOutcome(t, e.do("GET", status, e.admin, ""), 404, "not-found", "")
	xs := e.store.(records.ExportStore)
	for att := range 3 {
		n := 0
		if err := xs.EachExportChunk(ctx, "CO", job, att, "Patient", func([]byte) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("attempt %d: %d chunks left after cancel (%v)", att, n, err)
		}
	}
	// Cancelling a completed export removes its files too.
	status = e.kickoff("GET", "/fhir/$export", e.admin, "")
	m := manifestOf(t, e.poll(status, e.admin))
	must(t, e.do("DELETE", status, e.admin, ""), http.StatusAccepted)
	_, p, _ := strings.Cut(m.Output[0].URL, "://example.com")
	wantOutcome(t, e.do("GET", p, e.admin, ""), 404, "not-found", "")
	wantOutcome(t, e.do("DELETE", status, e.admin, ""), 404, "not-found", "")
}

// Two servers on one database are two replicas: either answers the status
// and serves the files of a job the other started.
func TestBulkExportAcrossReplicas(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(e.srv.bulk.wait)
	other, err := New(Config{Service: records.NewService(e.store, records.ServiceOptions{}), Countries: []records.Country{"CO", "EC"}, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.bulk.wait)
	e.createPatient("Pérez", "Ana", "x1")
	status := e.kickoff("GET", "/fhir/$export", e.admin, "")
	e2 := &env{t: t, srv: other, store: e.store}
	m := manifestOf(t, e2.poll(status, e.admin))
	if got := e2.download(m, e.admin); len(got["Patient"]) != 1 {
		t.Errorf("replica 2 served %d patients", len(got["Patient"]))
	}
}

// A job whose runner died (stale beat, claim held by a dead run) is taken
// over at the next status poll; one that stopped too often fails.
func TestBulkExportRecovery(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(e.srv.bulk.wait)
	e.createPatient("Pérez", "Ana", "x1")
	ctx := context.Background()
	xs := e.store.(records.ExportStore)
	old := time.Now().Add(-time.Hour).UTC()
	dead := func(id string, attempts int) string {
		j := records.ExportJob{ID: id, Country: "CO", Level: "system", Request: "http://example.com/fhir/$export", Requester: "test-admin", Role: "admin",
			Status: records.ExportRunning, Owner: "dead-run", Attempts: attempts, Created: old, Beat: old, Transaction: old, Expires: time.Now().Add(time.Hour)}
		if err := xs.CreateExport(ctx, "CO", j); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Claim(ctx, "CO", exportClaims, id, "dead-run"); err != nil {
			t.Fatal(err)
		}
		// The dead run wrote a partial chunk that must not show.
		if err := xs.AppendExportChunk(ctx, "CO", id, attempts, "Patient", 0, []byte(`{"resourceType":"Patient","id":"half"}`+"\n")); err != nil {
			t.Fatal(err)
		}
		return "/fhir/$export-status/" + id
	}
	m := manifestOf(t, e.poll(dead("deadjob1", 1), e.admin))
	if got := e.download(m, e.admin); len(got["Patient"]) != 1 || got["Patient"][0]["id"] == "half" {
		t.Errorf("recovered export: %v", got)
	}
	if j, err := xs.Export(ctx, "CO", "deadjob1"); err != nil || j.Attempts != 2 {
		t.Errorf("attempts %d (%v), want 2", j.Attempts, err)
	}
	wantOutcome(t, e.poll(dead("deadjob2", maxExportAttempts), e.admin), 500, "exception", "")
}

// Output is removed once expired: 404 at once, deleted at the next kick-off.
func TestBulkExportExpiry(t *testing.T) {
	var offset atomic.Int64
	e := newEnv(t, func(c *Config) {
		c.ExportExpiry = time.Minute
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	t.Cleanup(e.srv.bulk.wait)
	e.createPatient("Pérez", "Ana", "x1")
	status := e.kickoff("GET", "/fhir/$export", e.admin, "")
	manifestOf(t, e.poll(status, e.admin))
	offset.Store(int64(2 * time.Minute))
	wantOutcome(t, e.do("GET", status, e.admin, ""), 404, "not-found", "")
	e.poll(e.kickoff("GET", "/fhir/$export?_type=Encounter", e.admin, ""), e.admin)
	job := status[strings.LastIndexByte(status, '/')+1:]
	if _, err := e.store.(records.ExportStore).Export(context.Background(), "CO", job); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("expired job still stored: %v", err)
	}
}
