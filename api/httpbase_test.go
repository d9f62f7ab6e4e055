package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"contigo/fhir/fhirtest"
)

// raw sends a request with a byte body and header pairs through the real
// router and returns the recorded response, undecoded.
func (e *env) raw(method, path, token string, body []byte, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func gzipped(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestTrailingSlash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A transaction to <base>/, as fhir-kit-client sends it.
	r := must(t, e.do("POST", "/fhir/", e.hw, visitBundle("slash-1", "2025-05-05")), http.StatusOK)
	if got := r.JSON(t)["type"]; got != "transaction-response" {
		t.Fatalf("POST /fhir/: type %v", got)
	}
	must(t, e.do("POST", "/countries/EC/fhir/", e.admin, visitBundle("slash-2", "2025-05-05")), http.StatusOK)
	if got := must(t, e.do("GET", "/fhir/metadata/", "", ""), http.StatusOK).JSON(t)["resourceType"]; got != "CapabilityStatement" {
		t.Errorf("GET /fhir/metadata/: %v", got)
	}
	must(t, e.do("GET", "/countries/CO/fhir/metadata/", "", ""), http.StatusOK)
	pid := e.createPatient("Slash", "Ana", "slash-3")
	must(t, e.do("GET", "/fhir/Patient/"+pid+"/", e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Patient/?identifier=slash-3", e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/countries/CO/fhir/Patient/"+pid+"/_history/", e.hw, ""), http.StatusOK)
	// The web app keeps its own slash.
	if r := e.do("GET", "/app", "", ""); r.Code != http.StatusMovedPermanently {
		t.Errorf("GET /app: %d", r.Code)
	}
}

func TestEverythingPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tx := must(t, e.do("POST", "/fhir", e.hw, visitBundle("evpost-1", "2025-05-05")), http.StatusOK).JSON(t)
	loc := tx["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["location"].(string)
	pid := strings.Split(loc, "/")[1]
	get := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything", e.hw, ""), http.StatusOK).JSON(t)
	n := len(get["entry"].([]any))
	for name, body := range map[string]string{
		"empty":      "",
		"parameters": `{"resourceType":"Parameters","parameter":[{"name":"_since","valueInstant":"2000-01-01T00:00:00Z"}]}`,
		"no params":  `{"resourceType":"Parameters"}`,
	} {
		r := must(t, e.do("POST", "/fhir/Patient/"+pid+"/$everything", e.hw, body), http.StatusOK).JSON(t)
		if r["type"] != "searchset" || len(r["entry"].([]any)) != n {
			t.Errorf("%s: type %v, %d entries, want searchset of %d", name, r["type"], len(r["entry"].([]any)), n)
		}
	}
	// The body's parameters reach the handler: _federated=true gives the federated answer.
	fed := must(t, e.do("POST", "/fhir/Patient/"+pid+"/$everything", e.hw, `{"resourceType":"Parameters","parameter":[{"name":"_federated","valueBoolean":true}]}`), http.StatusOK).JSON(t)
	if self := fed["link"].([]any)[0].(map[string]any)["url"].(string); !strings.Contains(self, "_federated=true") {
		t.Errorf("self link %s, want the body's _federated", self)
	}
	wantOutcome(t, e.do("POST", "/fhir/Patient/"+pid+"/$everything", e.hw, `{"resourceType":"Parameters","parameter":[{"name":"_count"}]}`), http.StatusBadRequest, "", "Parameters.parameter[0]")
	wantOutcome(t, e.do("POST", "/fhir/Patient/"+pid+"/$everything", e.hw, `{"resourceType":"Patient"}`), http.StatusBadRequest, "", "resourceType")
	wantOutcome(t, e.do("POST", "/fhir/Patient/"+pid+"/$everything", "", ""), http.StatusUnauthorized, "", "")
}

func TestHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Head", "Ana", "head-1")
	for _, path := range []string{"/fhir/Patient/" + pid, "/fhir/Patient?identifier=head-1", "/fhir/metadata", "/countries/CO/fhir/Patient/" + pid + "/_history/1", "/healthz"} {
		get := e.raw("GET", path, e.hw, nil)
		head := e.raw("HEAD", path, e.hw, nil)
		if get.Code != http.StatusOK || head.Code != http.StatusOK {
			t.Errorf("%s: GET %d, HEAD %d", path, get.Code, head.Code)
			continue
		}
		if head.Body.Len() != 0 {
			t.Errorf("HEAD %s: %d bytes of body", path, head.Body.Len())
		}
		if cl := head.Header().Get("Content-Length"); cl != strconv.Itoa(get.Body.Len()) {
			t.Errorf("HEAD %s: Content-Length %q, GET body %d bytes", path, cl, get.Body.Len())
		}
		for _, h := range []string{"Content-Type", "ETag", "Last-Modified"} {
			if get.Header().Get(h) != head.Header().Get(h) {
				t.Errorf("HEAD %s: %s %q, GET %q", path, h, head.Header().Get(h), get.Header().Get(h))
			}
		}
	}
	// Compressed: the length is the compressed GET's.
	tx := must(t, e.do("POST", "/fhir", e.hw, visitBundle("head-2", "2025-05-05")), http.StatusOK).JSON(t)
	path := "/fhir/Patient/" + strings.Split(tx["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["location"].(string), "/")[1] + "/$everything"
	zget := e.raw("GET", path, e.hw, nil, "Accept-Encoding", "gzip")
	zhead := e.raw("HEAD", path, e.hw, nil, "Accept-Encoding", "gzip")
	if zget.Header().Get("Content-Encoding") != "gzip" || zhead.Header().Get("Content-Encoding") != "gzip" || zhead.Body.Len() != 0 ||
		zhead.Header().Get("Content-Length") != strconv.Itoa(zget.Body.Len()) {
		t.Errorf("gzip HEAD: Content-Encoding %q, Content-Length %q, %d bytes; GET %d bytes", zhead.Header().Get("Content-Encoding"), zhead.Header().Get("Content-Length"), zhead.Body.Len(), zget.Body.Len())
	}
	if r := e.raw("HEAD", "/fhir/Patient/"+pid, "", nil); r.Code != http.StatusUnauthorized || r.Body.Len() != 0 {
		t.Errorf("HEAD without token: %d, %d bytes", r.Code, r.Body.Len())
	}
	if r := e.raw("HEAD", "/fhir/Patient/nosuch", e.hw, nil); r.Code != http.StatusNotFound {
		t.Errorf("HEAD of a missing resource: %d", r.Code)
	}
	// Through a real net/http server too.
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	req, _ := http.NewRequest("HEAD", ts.URL+"/fhir/Patient/"+pid, nil)
	req.Header.Set("Authorization", "Bearer "+e.hw)
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") != `W/"1"` {
		t.Errorf("HEAD over the wire: %d, ETag %q", res.StatusCode, res.Header.Get("ETag"))
	}
}

func TestConditionalRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Cond", "Ana", "cond-1")
	r := must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), http.StatusOK)
	etag, lm := r.Header.Get("ETag"), r.Header.Get("Last-Modified")
	if etag != `W/"1"` || lm == "" {
		t.Fatalf("ETag %q Last-Modified %q", etag, lm)
	}
	lmTime, err := time.Parse(http.TimeFormat, lm)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, header, value string
		want                      int
	}{
		{"weak etag", "/fhir/Patient/" + pid, "If-None-Match", `W/"1"`, http.StatusNotModified},
		{"strong etag", "/fhir/Patient/" + pid, "If-None-Match", `"1"`, http.StatusNotModified},
		{"list", "/fhir/Patient/" + pid, "If-None-Match", `W/"7", W/"1"`, http.StatusNotModified},
		{"star", "/fhir/Patient/" + pid, "If-None-Match", `*`, http.StatusNotModified},
		{"other version", "/fhir/Patient/" + pid, "If-None-Match", `W/"2"`, http.StatusOK},
		{"vread", "/fhir/Patient/" + pid + "/_history/1", "If-None-Match", `W/"1"`, http.StatusNotModified},
		{"same date", "/fhir/Patient/" + pid, "If-Modified-Since", lm, http.StatusNotModified},
		{"later date", "/fhir/Patient/" + pid, "If-Modified-Since", lmTime.Add(time.Hour).Format(http.TimeFormat), http.StatusNotModified},
		{"earlier date", "/fhir/Patient/" + pid, "If-Modified-Since", lmTime.Add(-time.Second).Format(http.TimeFormat), http.StatusOK},
		{"bad date", "/fhir/Patient/" + pid, "If-Modified-Since", "yesterday", http.StatusOK},
	} {
		r := e.raw("GET", c.path, e.hw, nil, c.header, c.value)
		if r.Code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, r.Code, c.want)
			continue
		}
		if c.want == http.StatusNotModified {
			if r.Body.Len() != 0 || r.Header().Get("ETag") != etag {
				t.Errorf("%s: 304 with %d bytes, ETag %q", c.name, r.Body.Len(), r.Header().Get("ETag"))
			}
		}
	}
	// If-None-Match wins over If-Modified-Since; a HEAD is conditional too.
	if r := e.raw("GET", "/fhir/Patient/"+pid, e.hw, nil, "If-None-Match", `W/"2"`, "If-Modified-Since", lm); r.Code != http.StatusOK {
		t.Errorf("If-None-Match mismatch with a current If-Modified-Since: %d", r.Code)
	}
	if r := e.raw("HEAD", "/fhir/Patient/"+pid, e.hw, nil, "If-None-Match", etag); r.Code != http.StatusNotModified {
		t.Errorf("conditional HEAD: %d", r.Code)
	}
	// After an update the old ETag no longer matches.
	upd := strings.Replace(patientJSON("Cond", "Ana", "cond-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1)
	must(t, e.do("PUT", "/fhir/Patient/"+pid, e.hw, upd), http.StatusOK)
	if r := e.raw("GET", "/fhir/Patient/"+pid, e.hw, nil, "If-None-Match", etag); r.Code != http.StatusOK {
		t.Errorf("stale If-None-Match: %d", r.Code)
	}
	// A conditional PUT is If-Match, not If-None-Match: no 304 on a write.
	if r := e.raw("PUT", "/fhir/Patient/"+pid, e.hw, []byte(upd), "Content-Type", "application/fhir+json", "If-None-Match", "*"); r.Code != http.StatusOK {
		t.Errorf("PUT with If-None-Match: %d", r.Code)
	}
}

func TestGzipResponses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tx := must(t, e.do("POST", "/fhir", e.hw, visitBundle("gz-1", "2025-05-05")), http.StatusOK).JSON(t)
	pid := strings.Split(tx["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["location"].(string), "/")[1]
	path := "/fhir/Patient/" + pid + "/$everything"
	plain := e.raw("GET", path, e.hw, nil)
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("compressed without Accept-Encoding")
	}
	z := e.raw("GET", path, e.hw, nil, "Accept-Encoding", "gzip, deflate")
	if z.Code != http.StatusOK || z.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(z.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("status %d, Content-Encoding %q, Vary %q", z.Code, z.Header().Get("Content-Encoding"), z.Header().Get("Vary"))
	}
	zlen := z.Body.Len()
	zr, err := gzip.NewReader(z.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, plain.Body.Bytes()) {
		t.Errorf("inflated body differs from the plain one")
	}
	fhirtest.Validate(t, body)
	t.Logf("$everything of 4 resources: %d bytes, %d gzipped", len(body), zlen)
	// A small body is not worth compressing.
	small := e.raw("GET", "/healthz", "", nil, "Accept-Encoding", "gzip")
	if small.Header().Get("Content-Encoding") != "" {
		t.Errorf("a %d-byte body was compressed", small.Body.Len())
	}
	// Errors and /metrics are answered as before.
	if r := e.raw("GET", "/fhir/Patient/nosuch", e.hw, nil, "Accept-Encoding", "gzip"); r.Code != http.StatusNotFound || r.Header().Get("Content-Encoding") != "" {
		t.Errorf("404: %d, Content-Encoding %q", r.Code, r.Header().Get("Content-Encoding"))
	}
	if r := e.raw("GET", "/metrics", "", nil); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), "contigo_http") {
		t.Errorf("/metrics: %d", r.Code)
	}
}

func TestGzipRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // MaxBody 64 KiB
	body := gzipped(t, []byte(patientJSON("Zip", "Ana", "gz-2")))
	r := e.raw("POST", "/fhir/Patient", e.hw, body, "Content-Type", "application/fhir+json", "Content-Encoding", "gzip")
	if r.Code != http.StatusCreated {
		t.Fatalf("gzip create: %d %s", r.Code, r.Body)
	}
	// A gzip bomb: 10 MB of JSON in about 10 kB is refused at the limit.
	bomb := gzipped(t, []byte(`{"resourceType":"Patient","name":[{"text":"`+strings.Repeat("a", 10<<20)+`"}]}`))
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb of %d bytes is not small", len(bomb))
	}
	r = e.raw("POST", "/fhir/Patient", e.hw, bomb, "Content-Type", "application/fhir+json", "Content-Encoding", "gzip")
	wantOutcome(t, resp{Code: r.Code, Header: r.Header(), Body: r.Body.Bytes()}, http.StatusRequestEntityTooLarge, "too-long", "")
	r = e.raw("POST", "/fhir", e.hw, bomb, "Content-Type", "application/fhir+json", "Content-Encoding", "gzip")
	if r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb as a Bundle: %d", r.Code)
	}
	// Not gzip, or another encoding.
	r = e.raw("POST", "/fhir/Patient", e.hw, []byte(patientJSON("Zip", "Ana", "gz-3")), "Content-Type", "application/fhir+json", "Content-Encoding", "gzip")
	wantOutcome(t, resp{Code: r.Code, Header: r.Header(), Body: r.Body.Bytes()}, http.StatusBadRequest, "", "Content-Encoding")
	r = e.raw("POST", "/fhir/Patient", e.hw, body, "Content-Type", "application/fhir+json", "Content-Encoding", "br")
	wantOutcome(t, resp{Code: r.Code, Header: r.Header(), Body: r.Body.Bytes()}, http.StatusUnsupportedMediaType, "", "Content-Encoding")
	// Nothing but the first Patient was stored.
	b := must(t, e.do("GET", "/fhir/Patient?family=Zip", e.hw, ""), http.StatusOK).JSON(t)
	if n := len(asSlice(b["entry"])); n != 1 {
		t.Errorf("%d Zip patients, want 1", n)
	}
}

func TestPreferReturn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/fhir/Patient", e.hw, patientJSON("Pref", "Ana", "pref-1"), "Prefer", "return=minimal")
	if r.Code != http.StatusCreated || len(r.Body) != 0 || r.Header.Get("Location") == "" || r.Header.Get("ETag") != `W/"1"` {
		t.Fatalf("minimal create: %d, %d bytes, Location %q, ETag %q", r.Code, len(r.Body), r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	pid := strings.Split(r.Header.Get("Location"), "/")[5]
	r = must(t, e.do("POST", "/fhir/Patient", e.hw, patientJSON("Pref", "Bea", "pref-2"), "Prefer", "return=OperationOutcome"), http.StatusCreated)
	if m := r.JSON(t); m["resourceType"] != "OperationOutcome" || r.Header.Get("Location") == "" {
		t.Errorf("OperationOutcome create: %s", r.Body)
	}
	r = must(t, e.do("POST", "/fhir/Patient", e.hw, patientJSON("Pref", "Cleo", "pref-3"), "Prefer", "return=representation"), http.StatusCreated)
	if r.JSON(t)["resourceType"] != "Patient" {
		t.Errorf("representation: %s", r.Body)
	}
	upd := strings.Replace(patientJSON("Pref", "Ana", "pref-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1)
	r = e.do("PUT", "/fhir/Patient/"+pid, e.hw, upd, "Prefer", "return=minimal")
	if r.Code != http.StatusOK || len(r.Body) != 0 || r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("minimal update: %d, %d bytes, ETag %q", r.Code, len(r.Body), r.Header.Get("ETag"))
	}
	r = must(t, e.do("PUT", "/fhir/Patient/"+pid, e.hw, upd, "Prefer", "handling=strict; return=OperationOutcome"), http.StatusOK)
	if r.JSON(t)["resourceType"] != "OperationOutcome" {
		t.Errorf("OperationOutcome update: %s", r.Body)
	}
	// Errors are OperationOutcomes whatever the preference.
	wantOutcome(t, e.do("POST", "/fhir/Patient", e.hw, `{"resourceType":"Patient","gender":"x"}`, "Prefer", "return=minimal"), http.StatusUnprocessableEntity, "", "Patient.gender")
	// Reads ignore it.
	if r := must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, "", "Prefer", "return=minimal"), http.StatusOK); r.JSON(t)["resourceType"] != "Patient" {
		t.Errorf("read with return=minimal: %s", r.Body)
	}
	// Transaction entries.
	tx := must(t, e.do("POST", "/fhir", e.hw, visitBundle("pref-4", "2025-05-05"), "Prefer", "return=minimal"), http.StatusOK).JSON(t) // as without
	for i, en := range tx["entry"].([]any) {
		en := en.(map[string]any)
		if en["resource"] != nil || en["response"].(map[string]any)["location"] == nil {
			t.Errorf("minimal transaction entry %d: %v", i, en)
		}
	}
	tx = must(t, e.do("POST", "/fhir", e.hw, visitBundle("pref-5", "2025-05-05"), "Prefer", "return=OperationOutcome"), http.StatusOK).JSON(t)
	for i, en := range tx["entry"].([]any) {
		en := en.(map[string]any)
		oc, _ := en["response"].(map[string]any)["outcome"].(map[string]any)
		if en["resource"] != nil || oc["resourceType"] != "OperationOutcome" {
			t.Errorf("OperationOutcome transaction entry %d: %v", i, en)
		}
	}
	// A batch read keeps what it read.
	pid2 := e.createPatient("Pref", "Dora", "pref-6")
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/` + pid2 + `"}},{"request":{"method":"GET","url":"Patient/nosuch"}}]}`
	b := must(t, e.do("POST", "/fhir", e.hw, batch), http.StatusOK).JSON(t)
	if b["entry"].([]any)[0].(map[string]any)["resource"] == nil {
		t.Errorf("batch read without Prefer lost its resource: %v", b)
	}
	b = must(t, e.do("POST", "/fhir", e.hw, batch, "Prefer", "return=OperationOutcome"), http.StatusOK).JSON(t)
	if en := b["entry"].([]any)[0].(map[string]any); en["resource"] == nil {
		t.Errorf("batch read with return=OperationOutcome lost its resource: %v", en)
	}
	if oc := b["entry"].([]any)[1].(map[string]any)["response"].(map[string]any)["outcome"].(map[string]any); oc["issue"].([]any)[0].(map[string]any)["severity"] != "error" {
		t.Errorf("the failed entry's own outcome was replaced: %v", oc)
	}
}

func TestNotAcceptable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Acc", "Ana", "acc-1")
	for _, c := range []struct {
		path, accept string
		want         int
	}{
		{"/fhir/Patient/" + pid, "application/fhir+xml", http.StatusNotAcceptable},
		{"/fhir/Patient/" + pid, "text/html", http.StatusNotAcceptable},
		{"/fhir/Patient/" + pid + "?_format=xml", "", http.StatusNotAcceptable},
		{"/fhir/Patient/" + pid + "?_format=application/fhir%2Bxml", "", http.StatusNotAcceptable},
		{"/fhir/metadata?_format=xml", "", http.StatusNotAcceptable},
		{"/fhir/Patient/" + pid + "?_format=json", "", http.StatusOK},
		{"/fhir/Patient/" + pid + "?_format=application/fhir%2Bjson", "", http.StatusOK},
		{"/fhir/Patient/" + pid, "application/fhir+xml;q=1, application/fhir+json;q=0.5", http.StatusOK},
		{"/fhir/Patient/" + pid, "application/json", http.StatusOK},
		{"/fhir/Patient/" + pid, "*/*", http.StatusOK},
	} {
		var r resp
		if c.accept != "" {
			r = e.do("GET", c.path, e.hw, "", "Accept", c.accept)
		} else {
			r = e.do("GET", c.path, e.hw, "")
		}
		if c.want == http.StatusNotAcceptable {
			wantOutcome(t, r, http.StatusNotAcceptable, "not-supported", "")
		} else if r.Code != c.want {
			t.Errorf("%s Accept %q: %d, want %d", c.path, c.accept, r.Code, c.want)
		}
	}
	// An XML body is still 415.
	r := e.do("POST", "/fhir/Patient", e.hw, `<Patient/>`, "Content-Type", "application/fhir+xml")
	wantOutcome(t, r, http.StatusUnsupportedMediaType, "not-supported", "")
}

func TestCORS(t *testing.T) {
	t.Parallel()
	origin := "https://app.ministerio.example"
	e := newEnv(t, func(c *Config) { c.CORSOrigins = []string{origin} })
	pid := e.createPatient("Cors", "Ana", "cors-1")
	// Preflight: answered without a token.
	r := e.raw("OPTIONS", "/fhir/Patient/"+pid, "", nil, "Origin", origin, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization, content-type, if-match")
	if r.Code != http.StatusNoContent || r.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("preflight: %d, Allow-Origin %q", r.Code, r.Header().Get("Access-Control-Allow-Origin"))
	}
	if ah := strings.ToLower(r.Header().Get("Access-Control-Allow-Headers")); !strings.Contains(ah, "authorization") || !strings.Contains(ah, "if-match") {
		t.Errorf("Allow-Headers %q", ah)
	}
	if am := r.Header().Get("Access-Control-Allow-Methods"); !strings.Contains(am, "PUT") {
		t.Errorf("Allow-Methods %q", am)
	}
	must(t, resp{Code: e.raw("OPTIONS", "/fhir/", "", nil, "Origin", origin, "Access-Control-Request-Method", "POST").Code}, http.StatusNoContent)
	// The request itself.
	r = e.raw("GET", "/fhir/Patient/"+pid, e.hw, nil, "Origin", origin)
	if r.Code != http.StatusOK || r.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("GET: %d, Allow-Origin %q", r.Code, r.Header().Get("Access-Control-Allow-Origin"))
	}
	exp := r.Header().Get("Access-Control-Expose-Headers")
	for _, h := range []string{"ETag", "Location", "Content-Location", "Last-Modified"} {
		if !strings.Contains(exp, h) {
			t.Errorf("Expose-Headers %q lacks %s", exp, h)
		}
	}
	// A 401 carries the header too, so the app can read it.
	if r := e.raw("GET", "/fhir/Patient/"+pid, "", nil, "Origin", origin); r.Code != http.StatusUnauthorized || r.Header().Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("401: Allow-Origin %q", r.Header().Get("Access-Control-Allow-Origin"))
	}
	// Another origin gets no grant.
	if r := e.raw("GET", "/fhir/Patient/"+pid, e.hw, nil, "Origin", "https://evil.example"); r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin granted %q", r.Header().Get("Access-Control-Allow-Origin"))
	}
	// Without configured origins no CORS header at all.
	plain := newEnv(t)
	r = plain.raw("OPTIONS", "/fhir/Patient", "", nil, "Origin", origin, "Access-Control-Request-Method", "GET")
	for k := range r.Header() {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("no origins configured, yet %s: %s", k, r.Header().Get(k))
		}
	}
}

func TestPutWithoutID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Put", "Ana", "put-1")
	noID := strings.Replace(patientJSON("Put", "Ana", "put-1"), `"gender":"female"`, `"gender":"male"`, 1)
	wantOutcome(t, e.do("PUT", "/fhir/Patient/"+pid, e.hw, noID), http.StatusBadRequest, "", "Patient.id")
	other := strings.Replace(noID, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"someoneelse",`, 1)
	wantOutcome(t, e.do("PUT", "/fhir/Patient/"+pid, e.hw, other), http.StatusBadRequest, "", "Patient.id")
	r := must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), http.StatusOK)
	if r.Header.Get("ETag") != `W/"1"` || r.JSON(t)["gender"] != "female" {
		t.Errorf("after refused PUTs: ETag %q, %s", r.Header.Get("ETag"), r.Body)
	}
}
