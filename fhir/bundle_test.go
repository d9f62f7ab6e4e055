package fhir

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir/fhirtest"
	"contigo/records"
)

// stored parses body and gives it the id, version and time the store would.
func stored(t testing.TB, body, id string, version int64) records.Resource {
	t.Helper()
	r, err := Parse([]byte(body), "", testNow)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r.ID, r.Version, r.Updated = id, version, testNow.Add(-time.Duration(version)*time.Hour)
	return r
}

type decodedBundle struct {
	Type  string `json:"type"`
	Total *int64 `json:"total"`
	Link  []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   *struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Request *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response *struct {
			Status   string          `json:"status"`
			Location string          `json:"location"`
			Etag     string          `json:"etag"`
			Outcome  json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

func decodeBundle(t testing.TB, b []byte) decodedBundle {
	t.Helper()
	fhirtest.Validate(t, b)
	var d decodedBundle
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode bundle: %v", err)
	}
	return d
}

func (d decodedBundle) link(rel string) string {
	for _, l := range d.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// follow parses the search a paging link asks for.
func follow(t *testing.T, link string) SearchRequest {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseSearch(u.Path[strings.LastIndexByte(u.Path, '/')+1:], u.Query())
	if err != nil {
		t.Fatalf("ParseSearch(%s): %v", link, err)
	}
	return req
}

func TestSearchBundlePaging(t *testing.T) {
	t.Parallel()
	const base = "https://node.example/countries/CO/fhir"
	req, err := ParseSearch("Patient", mustQuery(t, "name=jose&_count=2"))
	if err != nil {
		t.Fatal(err)
	}
	page := records.Page{Resources: []records.Resource{stored(t, patientJSON, "p1", 2), stored(t, patientJSON, "p2", 1)}, Next: "c1", Total: 5}
	first, err := SearchBundle(base, req, page)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeBundle(t, first)
	if d.Type != "searchset" || d.Total == nil || *d.Total != 5 || len(d.Entry) != 2 {
		t.Fatalf("bundle = %s", first)
	}
	if e := d.Entry[0]; e.FullURL != base+"/Patient/p1" || e.Search.Mode != "match" {
		t.Errorf("entry 0 = %+v", e)
	}
	if d.link("previous") != "" {
		t.Errorf("first page has a previous link")
	}
	if got, want := d.link("self"), base+"/Patient?_count=2&name=jose"; got != want {
		t.Errorf("self = %s, want %s", got, want)
	}

	// page 2, then 3, then back
	req2 := follow(t, d.link("next"))
	if req2.Query.After != "c1" || req2.Query.Count != 2 || len(req2.Query.Conds) != 1 {
		t.Fatalf("next link gives %+v", req2.Query)
	}
	b2, err := SearchBundle(base, req2, records.Page{Resources: page.Resources, Next: "c2", Total: 5})
	if err != nil {
		t.Fatal(err)
	}
	d2 := decodeBundle(t, b2)
	if prev := follow(t, d2.link("previous")); prev.Query.After != "" {
		t.Errorf("previous of page 2 has After %q, want the first page", prev.Query.After)
	}
	req3 := follow(t, d2.link("next"))
	if req3.Query.After != "c2" {
		t.Fatalf("page 3 After = %q, want c2", req3.Query.After)
	}
	b3, err := SearchBundle(base, req3, records.Page{Resources: page.Resources[:1], Total: 5})
	if err != nil {
		t.Fatal(err)
	}
	d3 := decodeBundle(t, b3)
	if d3.link("next") != "" {
		t.Error("last page has a next link")
	}
	if prev := follow(t, d3.link("previous")); prev.Query.After != "c1" {
		t.Errorf("previous of page 3 has After %q, want c1", prev.Query.After)
	}
	if self := follow(t, d3.link("self")); self.Query.After != "c2" {
		t.Errorf("self of page 3 has After %q, want c2", self.Query.After)
	}
}

func TestSetCursor(t *testing.T) {
	t.Parallel()
	req := SearchRequest{Query: records.Query{Type: "AuditEvent", Count: 10}, Params: url.Values{"patient": {"p1"}}}
	b, err := SearchBundle("/fhir", req, records.Page{Resources: []records.Resource{}, Next: "store-cursor-1", Total: -1})
	if err != nil {
		t.Fatal(err)
	}
	next, err := url.Parse(decodeBundle(t, b).link("next"))
	if err != nil {
		t.Fatal(err)
	}
	var req2 SearchRequest
	if err := req2.SetCursor(next.Query().Get("_cursor")); err != nil || req2.Query.After != "store-cursor-1" {
		t.Errorf("SetCursor: After %q, %v; want store-cursor-1", req2.Query.After, err)
	}
	if err := req2.SetCursor("store-cursor-1"); !errors.Is(err, records.ErrMalformed) {
		t.Errorf("SetCursor(raw store cursor) = %v, want ErrMalformed", err)
	}
}

func TestSearchBundleLongChain(t *testing.T) {
	t.Parallel()
	req, err := ParseSearch("Observation", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxCursors {
		b, err := SearchBundle("/fhir", req, records.Page{Resources: []records.Resource{}, Next: "c" + string(rune('a'+i%26)), Total: -1})
		if err != nil {
			t.Fatal(err)
		}
		d := decodeBundle(t, b)
		if d.Total != nil {
			t.Fatal("total unknown but present")
		}
		if p := d.link("previous"); p != "" {
			follow(t, p)
		}
		req = follow(t, d.link("next"))
	}
	if len(req.prev) >= maxCursors {
		t.Errorf("cursor chain grew to %d", len(req.prev))
	}
}

func TestSearchBundleCountAndWarnings(t *testing.T) {
	t.Parallel()
	req, err := ParseSearch("Flag", mustQuery(t, "status=active&_summary=count"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := SearchBundle("/fhir", req, records.Page{Total: 12},
		Issue{Severity: r4.IssueSeverityWarning, Code: r4.IssueTypeIncomplete, Diagnostics: "country PE did not answer"})
	if err != nil {
		t.Fatal(err)
	}
	d := decodeBundle(t, b)
	if *d.Total != 12 || len(d.Entry) != 1 || d.Entry[0].Search.Mode != "outcome" {
		t.Errorf("bundle = %s", b)
	}
	if !strings.Contains(string(d.Entry[0].Resource), `"severity":"warning"`) {
		t.Errorf("outcome = %s", d.Entry[0].Resource)
	}
}

func TestHistoryBundle(t *testing.T) {
	t.Parallel()
	v1, v2 := stored(t, patientJSON, "p1", 1), stored(t, patientJSON, "p1", 2)
	v3 := records.Resource{Type: "Patient", ID: "p1", Version: 3, Updated: testNow, Deleted: true}
	b, err := HistoryBundle("/fhir", "Patient/p1/_history", []records.Resource{v3, v2, v1})
	if err != nil {
		t.Fatal(err)
	}
	d := decodeBundle(t, b)
	var got []string
	for _, e := range d.Entry {
		got = append(got, e.Request.Method+" "+e.Request.URL+" "+e.Response.Status+" "+e.Response.Location+" "+e.Response.Etag+" "+string(rune('0'+len(e.Resource)/1000)))
	}
	want := []string{
		`DELETE Patient/p1 204 No Content Patient/p1/_history/3 W/"3" 0`,
		`PUT Patient/p1 200 OK Patient/p1/_history/2 W/"2" 0`,
		`POST Patient 201 Created Patient/p1/_history/1 W/"1" 0`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if d.Entry[0].Resource != nil || d.Entry[1].Resource == nil {
		t.Error("deleted version has a resource or live one has none")
	}
	if d.Type != "history" || *d.Total != 3 || d.link("self") != "/fhir/Patient/p1/_history" {
		t.Errorf("bundle = %s", b)
	}
}

func TestEverythingBundle(t *testing.T) {
	t.Parallel()
	rs := []records.Resource{stored(t, patientJSON, "p1", 1), stored(t, encounterJSON, "p1.e", 1), stored(t, weightJSON, "p1.o", 2),
		stored(t, conditionJSON, "p1.c", 1), stored(t, episodeJSON, "p1.ep", 1), stored(t, procedureJSON, "p1.pr", 1),
		stored(t, medAdminJSON, "p1.m", 1), stored(t, flagJSON, "p1.f", 1), stored(t, consentJSON, "p1.co", 1)}
	b, err := EverythingBundle("/fhir", "p1", rs)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeBundle(t, b)
	if len(d.Entry) != len(rs) || *d.Total != int64(len(rs)) || d.link("self") != "/fhir/Patient/p1/$everything" {
		t.Errorf("bundle = %s", b)
	}
	for i, e := range d.Entry {
		if want := "/fhir/" + rs[i].Type + "/" + rs[i].ID; e.FullURL != want {
			t.Errorf("entry %d fullUrl = %s, want %s", i, e.FullURL, want)
		}
	}
}
