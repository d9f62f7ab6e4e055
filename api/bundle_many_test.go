package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"contigo/fhir"
	"contigo/records"
)

// manyEnv is a server whose body limit admits batches of 1,000 entries.
func manyEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnv(tb, func(cfg *Config) { cfg.MaxBody = 8 << 20 })
}

// batchOf wraps entries (each {"resource":...,"request":...}) in a batch Bundle.
func batchOf(entries []string) string {
	return `{"resourceType":"Bundle","type":"batch","entry":[` + strings.Join(entries, ",") + `]}`
}

// batchAnswer is the part of a batch-response the tests read.
type batchAnswer struct {
	Type  string `json:"type"`
	Entry []struct {
		Response struct {
			Status   string          `json:"status"`
			Location string          `json:"location"`
			Outcome  json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

// postBatch posts a batch as token and decodes the batch-response.
func postBatch(tb testing.TB, e *env, token string, entries []string) batchAnswer {
	tb.Helper()
	r := e.raw("POST", "/fhir", token, []byte(batchOf(entries)), "Content-Type", fhir.ContentType)
	if r.Code != http.StatusOK {
		tb.Fatalf("batch: status %d: %.500s", r.Code, r.Body.String())
	}
	var a batchAnswer
	if err := json.Unmarshal(r.Body.Bytes(), &a); err != nil || a.Type != "batch-response" || len(a.Entry) != len(entries) {
		tb.Fatalf("batch-response: %v, type %q, %d entries for %d", err, a.Type, len(a.Entry), len(entries))
	}
	return a
}

// createPersons creates n Patients in one batch and returns their ids in order.
func createPersons(tb testing.TB, e *env, token, prefix string, n int) []string {
	tb.Helper()
	entries := make([]string, n)
	for i := range entries {
		entries[i] = `{"resource":` + patientJSON("Lote", fmt.Sprintf("N%d", i), fmt.Sprintf("%s-%d", prefix, i)) + `,"request":{"method":"POST","url":"Patient"}}`
	}
	a := postBatch(tb, e, token, entries)
	pids := make([]string, n)
	for i, en := range a.Entry {
		id, _, ok := strings.Cut(strings.TrimPrefix(en.Response.Location, "Patient/"), "/")
		if !strings.HasPrefix(en.Response.Status, "201") || !ok || id == "" {
			tb.Fatalf("Patient %d: %s %s", i, en.Response.Status, en.Response.Location)
		}
		pids[i] = id
	}
	return pids
}

// visitEntries returns n batch entries spread over pids in turn: an
// Encounter on every fourth, weights otherwise.
func visitEntries(pids []string, n int) []string {
	entries := make([]string, n)
	for i := range entries {
		pid := pids[i%len(pids)]
		date := fmt.Sprintf("2025-%02d-%02d", 1+i/len(pids)%12, 1+i%28)
		if i%4 == 0 {
			entries[i] = `{"resource":` + encounterJSON(pid, date) + `,"request":{"method":"POST","url":"Encounter"}}`
			continue
		}
		entries[i] = `{"resource":` + weightJSON(pid, date, 9+float64(i%20)/10, "kg") + `,"request":{"method":"POST","url":"Observation"}}`
	}
	return entries
}

// A batch of 200 entries over 50 persons: every entry is created, answered
// in Bundle order (entry i's location is of its type, in its person's
// record); a bad entry fails alone, 422, also inside a person's run of
// creates that would otherwise share one write.
func TestBatchManyPersons(t *testing.T) {
	t.Parallel()
	e := manyEnv(t)
	pids := createPersons(t, e, e.hw, "many", 50)
	entries := visitEntries(pids, 200)
	// Two bad entries: a weight for no such Patient (a group of its own),
	// and one of person 7's four (its run of creates falls back to one
	// write per entry): each fails alone.
	const bad, badInRun = 137, 57
	entries[bad] = `{"resource":` + weightJSON("nosuchpatient", "2025-03-03", 9, "kg") + `,"request":{"method":"POST","url":"Observation"}}`
	entries[badInRun] = strings.Replace(entries[badInRun], `"effectiveDateTime"`, `"encounter":{"reference":"Encounter/`+pids[7]+`.nosuchencounter"},"effectiveDateTime"`, 1)
	a := postBatch(t, e, e.hw, entries)
	for i, en := range a.Entry {
		st, loc := en.Response.Status, en.Response.Location
		if i == bad || i == badInRun {
			if !strings.HasPrefix(st, "422") || loc != "" || len(en.Response.Outcome) == 0 {
				t.Errorf("entry %d: %s %s, want 422 with an outcome", i, st, loc)
			}
			continue
		}
		typ := "Observation"
		if i%4 == 0 {
			typ = "Encounter"
		}
		if !strings.HasPrefix(st, "201") || !strings.HasPrefix(loc, typ+"/"+pids[i%len(pids)]+".") {
			t.Errorf("entry %d: %s %s, want 201 %s/%s.*", i, st, loc, typ, pids[i%len(pids)])
		}
	}
	ctx := t.Context()
	for _, tt := range []struct {
		typ  string
		want int64
	}{{"Encounter", 50}, {"Observation", 148}} {
		if n, err := e.srv.records.Count(ctx, "CO", records.Query{Type: tt.typ}); err != nil || n != tt.want {
			t.Errorf("%d %s (%v), want %d", n, tt.typ, err, tt.want)
		}
	}
	// Person 7's entries are 7, 57, 107 and 157: four weights, one refused.
	p, err := e.srv.records.Person(ctx, "CO", pids[7])
	if err != nil {
		t.Fatal(err)
	}
	var dates []string
	for _, r := range p.Latest() {
		if r.Type == "Observation" {
			dates = append(dates, r.Keys["date"]...)
		}
	}
	if len(dates) != 3 {
		t.Errorf("person 7 holds %d weights, want 3", len(dates))
	}
}

// A transaction that touches two persons is 422 at the first entry of the
// second person, says that a transaction is one person's and that a batch
// is the way for many, and stores nothing.
func TestTransactionManyPersonsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.createPatient("Uno", "A", "tx-many-1"), e.createPatient("Dos", "B", "tx-many-2")
	body := `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"resource":` + weightJSON(a, "2025-01-01", 9, "kg") + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"resource":` + weightJSON(a, "2025-02-01", 9.2, "kg") + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"resource":` + weightJSON(b, "2025-01-01", 8, "kg") + `,"request":{"method":"POST","url":"Observation"}}]}`
	r := e.do("POST", "/fhir", e.hw, body)
	wantOutcome(t, r, http.StatusUnprocessableEntity, "invalid", "Bundle.entry[2]")
	var oo struct {
		Issue []struct{ Diagnostics string }
	}
	if err := json.Unmarshal(r.Body, &oo); err != nil || len(oo.Issue) != 1 {
		t.Fatalf("outcome %s: %v", r.Body, err)
	}
	for _, want := range []string{"another person's record than Bundle.entry[0]", "must touch one person", "atomicity across several persons' records is not supported", "send a batch Bundle"} {
		if !strings.Contains(oo.Issue[0].Diagnostics, want) {
			t.Errorf("outcome does not say %q: %s", want, oo.Issue[0].Diagnostics)
		}
	}
	if n, err := e.srv.records.Count(t.Context(), "CO", records.Query{Type: "Observation"}); err != nil || n != 0 {
		t.Errorf("%d Observations stored (%v), want 0", n, err)
	}
	wantOutcome(t, e.do("POST", "/fhir", e.hw, twoPersonTxn()), http.StatusUnprocessableEntity, "invalid", "Bundle.entry[1]")
	var cs struct {
		Rest []struct {
			Documentation string
			Interaction   []struct{ Code, Documentation string }
		}
	}
	if err := json.Unmarshal(must(t, e.do("GET", "/fhir/metadata", "", ""), http.StatusOK).Body, &cs); err != nil || len(cs.Rest) != 1 {
		t.Fatalf("CapabilityStatement: %v", err)
	}
	docs := map[string]string{}
	for _, in := range cs.Rest[0].Interaction {
		docs[in.Code] = in.Documentation
	}
	if docs["transaction"] != fhir.TransactionDoc || docs["batch"] != fhir.BatchDoc || cs.Rest[0].Documentation != fhir.RestDoc {
		t.Errorf("CapabilityStatement does not document transaction, batch and the server: %+v", cs.Rest[0])
	}
	for doc, want := range map[string]string{
		docs["transaction"]:      "Transactions across several persons' records are not supported",
		cs.Rest[0].Documentation: "transactions across persons are not supported (422), batch Bundles write many persons",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("CapabilityStatement does not say %q: %s", want, doc)
		}
	}
}

// BenchmarkBatchManyPersons posts one batch of n entries (an Encounter or
// a weight each) spread over n/4 persons per iteration, through the real
// router on the test engine, and reports entries per second.
func BenchmarkBatchManyPersons(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			e := manyEnv(b)
			pids := createPersons(b, e, e.hw, "bench", n/4)
			body := []byte(batchOf(visitEntries(pids, n)))
			b.ReportAllocs()
			for b.Loop() {
				r := e.raw("POST", "/fhir", e.hw, body, "Content-Type", fhir.ContentType)
				if r.Code != http.StatusOK || strings.Contains(r.Body.String(), `"status":"4`) {
					b.Fatalf("batch: %d %.300s", r.Code, r.Body.String())
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
