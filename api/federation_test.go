package api

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contigo/fhir/fhirtest"
	"contigo/records"
	"contigo/records/federation"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// fedNodeT is one node of a test federation: its own database, its own
// token key, a plain user listener and a mutual-TLS peer listener.
type fedNodeT struct {
	t       testing.TB
	cc      records.Country
	srv     *Server
	store   *recmongo.Store
	key     []byte
	reg     *prometheus.Registry
	user    *httptest.Server // users: plain HTTP, bearer tokens
	peer    *http.Server     // peers: TLS, client certificate required
	peerURL string
	files   federation.NodeFiles
	hang    atomic.Bool   // the peer listener hangs until the request is canceled
	release chan struct{} // closed at cleanup: hung handlers return
	hw      string        // a health-worker token of this node
	admin   string
}

// fedOptions configure startFederation.
type fedOptions struct {
	peerTimeout map[records.Country]time.Duration // in the peers files
	overall     time.Duration
	breakers    *federation.Breakers // nil: the default (5 failures, 30 s)
	peerWrites  bool
	// store opens a node's store; nil: an embedded engine of its own
	// (mongotest.NewEmbedded).
	store func(testing.TB, records.Country) *recmongo.Store
}

// startFederation starts one node per country on 127.0.0.1, with
// certificates from a CA made for the test (WriteLocalFederation).
func startFederation(tb testing.TB, opts fedOptions, countries ...records.Country) map[records.Country]*fedNodeT {
	tb.Helper()
	dir := tb.TempDir()
	nodes := map[records.Country]*fedNodeT{}
	var local []federation.LocalNode
	lns := map[records.Country]net.Listener{}
	for _, cc := range countries {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns[cc] = ln
		url := "https://" + ln.Addr().String()
		local = append(local, federation.LocalNode{Name: strings.ToLower(string(cc)), Countries: []records.Country{cc}, URL: url, Timeout: opts.peerTimeout[cc]})
		nodes[cc] = &fedNodeT{t: tb, cc: cc, peerURL: url, release: make(chan struct{})}
	}
	files, err := federation.WriteLocalFederation(dir, local, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	for _, cc := range countries {
		n := nodes[cc]
		n.files = files[strings.ToLower(string(cc))]
		peers, err := federation.LoadPeers(n.files.Peers)
		if err != nil {
			tb.Fatal(err)
		}
		signer, err := federation.LoadSigner(n.files.Key)
		if err != nil {
			tb.Fatal(err)
		}
		n.key = append([]byte("federation-test-key-0123456789abcdef-"), cc...)
		n.reg = prometheus.NewRegistry()
		if opts.store != nil {
			n.store = opts.store(tb, cc)
		} else {
			n.store = mongotest.NewEmbedded(tb, cc) // each node its own embedded engine
		}
		n.srv, err = New(Config{
			Service:    records.NewService(n.store, records.ServiceOptions{}),
			Countries:  []records.Country{cc},
			Key:        n.key,
			Registry:   n.reg,
			Federation: &Federation{Peers: peers, Signer: signer, Overall: opts.overall, Breakers: opts.breakers, PeerWrites: opts.peerWrites},
		})
		if err != nil {
			tb.Fatal(err)
		}
		tlsCfg, err := federation.ServerTLSConfig(n.files.CA, n.files.Cert, n.files.Key)
		if err != nil {
			tb.Fatal(err)
		}
		n.peer = &http.Server{Handler: http.HandlerFunc(n.servePeer), TLSConfig: tlsCfg, ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: nil}
		n.peer.ErrorLog = quietLog()
		go n.peer.ServeTLS(lns[cc], "", "")
		n.user = httptest.NewServer(n.srv)
		n.hw = n.token(RoleHealthWorker)
		n.admin = n.token(RoleAdmin)
		tb.Cleanup(func() {
			close(n.release)
			n.user.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n.peer.Shutdown(ctx)
		})
	}
	return nodes
}

// servePeer is the peer listener's handler: the node's API, or a hang.
func (n *fedNodeT) servePeer(w http.ResponseWriter, r *http.Request) {
	if n.hang.Load() {
		select {
		case <-r.Context().Done():
		case <-n.release:
		}
		return
	}
	n.srv.ServeHTTP(w, r)
}

// token mints a token of this node for its country.
func (n *fedNodeT) token(role Role) string {
	n.t.Helper()
	now := time.Now()
	tok, err := SignToken(n.key, Claims{Subject: "user-" + string(role) + "-" + string(n.cc), Role: role, Countries: []string{string(n.cc)},
		IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if err != nil {
		n.t.Fatal(err)
	}
	return tok
}

// userClient is the client of every user call: bounded.
var userClient = &http.Client{Timeout: 20 * time.Second}

// do sends a user request to the node's user listener; header pairs follow.
func (n *fedNodeT) do(method, path, token, body string, header ...string) resp {
	n.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.user.URL+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := userClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	r := resp{Code: res.StatusCode, Header: res.Header, Body: b}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/fhir+json") {
		fhirtest.Validate(n.t, r.Body)
	}
	return r
}

// quietLog discards the TLS handshake errors the negative tests provoke.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// childJSON is a migrant child as registered in one country.
func childJSON(given, family, birth, ident string) string {
	idents := ""
	if ident != "" {
		idents = `"identifier":[{"system":"urn:ve:cedula","value":"` + ident + `"}],`
	}
	return `{"resourceType":"Patient",` + idents + `"name":[{"family":"` + family + `","given":["` + given + `"]}],"gender":"female","birthDate":"` + birth + `"}`
}

// matchParams is a $match request for a Patient.
func matchParams(patient string, onlyCertain bool) string {
	oc := ""
	if onlyCertain {
		oc = `,{"name":"onlyCertainMatches","valueBoolean":true}`
	}
	return `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + patient + `}` + oc + `]}`
}

func consentJSON(pid, status, provision string) string {
	return `{"resourceType":"Consent","status":"` + status + `","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},` +
		`"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/` + pid + `"},` +
		`"policyRule":{"text":"share with other countries of the route"},"provision":{"type":"` + provision + `"}}`
}

// entries returns a searchset's entries and its outcome issues' texts.
func entries(tb testing.TB, r resp) (res []map[string]any, issues []string) {
	tb.Helper()
	for _, e := range asSlice(r.JSON(tb)["entry"]) {
		em := e.(map[string]any)
		rm, _ := em["resource"].(map[string]any)
		if s, _ := em["search"].(map[string]any); s != nil && s["mode"] == "outcome" {
			for _, is := range asSlice(rm["issue"]) {
				d, _ := is.(map[string]any)["diagnostics"].(string)
				issues = append(issues, d)
			}
			continue
		}
		res = append(res, em)
	}
	return res, issues
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// countryTag returns the country tag of an entry's resource.
func countryTag(e map[string]any) string {
	rm, _ := e["resource"].(map[string]any)
	meta, _ := rm["meta"].(map[string]any)
	for _, t := range asSlice(meta["tag"]) {
		if tm := t.(map[string]any); tm["system"] == CountryTagSystem {
			return tm["code"].(string)
		}
	}
	return ""
}

func TestFederationMatchReadConsent(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC", "PE")
	co, ec := nodes["CO"], nodes["EC"]
	// Registered in Colombia, with a Venezuelan cédula.
	pid := must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("María José", "García Pérez", "2024-03-05", "V-12345678")), 201).JSON(t)["id"].(string)

	// Sighted in Ecuador: accents dropped, second given name dropped, no document.
	q := matchParams(childJSON("Maria", "Garcia Perez", "2024-03-05", ""), false)
	r := must(t, ec.do("POST", "/fhir/Patient/$match?_federated=true", ec.hw, q), 200)
	es, issues := entries(t, r)
	if len(issues) != 0 || len(es) != 1 {
		t.Fatalf("federated $match: %d entries, issues %v: %s", len(es), issues, r.Body)
	}
	e := es[0]
	search := e["search"].(map[string]any)
	grade := asSlice(search["extension"])[0].(map[string]any)
	if countryTag(e) != "CO" || search["score"].(float64) < 0.5 || grade["url"] != federation.ExtMatchGrade || grade["valueCode"] != "probable" {
		t.Errorf("candidate: %v", e)
	}
	// The evidence says why, field by field, across the peer hop.
	evidence := map[string]string{}
	for _, x := range asSlice(search["extension"])[1:] {
		ext := x.(map[string]any)
		if ext["url"] != federation.ExtMatchEvidence {
			continue
		}
		sub := map[string]any{}
		for _, y := range asSlice(ext["extension"]) {
			s := y.(map[string]any)
			sub[s["url"].(string)] = firstNonNil(s["valueCode"], s["valueDecimal"])
		}
		evidence[sub["field"].(string)] = sub["level"].(string)
	}
	if evidence["given"] != "subset" || evidence["family"] != "exact2" || evidence["birthdate"] != "exact" {
		t.Errorf("match evidence %v, want given subset, family exact2, birthdate exact", evidence)
	}
	// Without consent, EC learns only that CO holds a record: a stub.
	if rm := e["resource"].(map[string]any); rm["id"] != pid || rm["name"] != nil || rm["birthDate"] != nil {
		t.Errorf("candidate without consent is not a stub: %v", rm)
	}
	if !strings.HasSuffix(e["fullUrl"].(string), "/countries/CO/fhir/Patient/"+pid) {
		t.Errorf("fullUrl %v", e["fullUrl"])
	}
	// And reading it is refused, saying why.
	r = ec.do("GET", "/countries/CO/fhir/Patient/"+pid, ec.hw, "")
	wantOutcome(t, r, 403, "forbidden", "")
	if !strings.Contains(string(r.Body), "Consent") {
		t.Errorf("refusal does not mention consent: %s", r.Body)
	}
	// An unknown record is 404, an unknown country 404 with an OperationOutcome.
	wantOutcome(t, ec.do("GET", "/countries/CO/fhir/Patient/nosuchperson", ec.hw, ""), 404, "not-found", "")
	wantOutcome(t, ec.do("GET", "/countries/BR/fhir/Patient/"+pid, ec.hw, ""), 404, "not-found", "")

	// An emergency read by a health worker, with a reason, is allowed and audited.
	must(t, ec.do("GET", "/countries/CO/fhir/Patient/"+pid, ec.hw, "", HeaderPurpose, "emergency"), 400)
	r = must(t, ec.do("GET", "/countries/CO/fhir/Patient/"+pid, ec.hw, "", HeaderPurpose, "emergency", HeaderReason, "unconscious at the border post"), 200)
	if r.JSON(t)["id"] != pid || r.Header.Get("ETag") != `W/"1"` {
		t.Errorf("emergency read: %s %v", r.Body, r.Header)
	}
	wantOutcome(t, ec.do("GET", "/countries/CO/fhir/Patient/"+pid, ec.admin, "", HeaderPurpose, "emergency", HeaderReason, "x"), 403, "forbidden", "")

	// The family consents: EC sees the record, found and read through CO.
	must(t, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "active", "permit")), 201)
	es, _ = entries(t, must(t, ec.do("POST", "/fhir/Patient/$match?_federated=true", ec.hw, q), 200))
	if len(es) != 1 || es[0]["resource"].(map[string]any)["birthDate"] != "2024-03-05" {
		t.Fatalf("$match with consent: %v", es)
	}
	r = must(t, ec.do("GET", "/countries/CO/fhir/Patient/"+pid, ec.hw, ""), 200)
	if r.Header.Get("ETag") != `W/"1"` || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/fhir+json") {
		t.Errorf("forwarded read headers: %v", r.Header)
	}
	// The cédula makes it certain; onlyCertainMatches keeps only that.
	es, _ = entries(t, must(t, ec.do("POST", "/fhir/Patient/$match?_federated=true", ec.hw,
		matchParams(childJSON("Maria", "Garcia", "2024", "V-12345678"), true)), 200))
	if len(es) != 1 || asSlice(es[0]["search"].(map[string]any)["extension"])[0].(map[string]any)["valueCode"] != "certain" {
		t.Errorf("certain $match: %v", es)
	}
	es, _ = entries(t, must(t, ec.do("POST", "/fhir/Patient/$match?_federated=true", ec.hw, matchParams(childJSON("Maria", "Garcia Perez", "2024-03-05", ""), true)), 200))
	if len(es) != 0 {
		t.Errorf("onlyCertainMatches kept a probable candidate: %v", es)
	}
	// A federated identifier search finds it too.
	es, _ = entries(t, must(t, ec.do("GET", "/fhir/Patient?identifier=urn:ve:cedula|V-12345678&_federated=true", ec.hw, ""), 200))
	if len(es) != 1 || countryTag(es[0]) != "CO" {
		t.Errorf("federated search: %v", es)
	}

	// Peers read only (PeerWrites off): a forwarded create is refused by CO.
	wantOutcome(t, ec.do("POST", "/countries/CO/fhir/Observation", ec.hw, weightJSON(pid, "2025-06-01", 9, "kg")), 403, "forbidden", "")

	// Both nodes audited the reads: CO with the peer caller and purpose.
	audits := must(t, co.do("GET", "/fhir/AuditEvent?patient="+pid, co.admin, ""), 200)
	var sawEmergency, sawPeer bool
	for _, e := range asSlice(audits.JSON(t)["entry"]) {
		ev := e.(map[string]any)["resource"].(map[string]any)
		b, _ := json.Marshal(ev)
		sawEmergency = sawEmergency || strings.Contains(string(b), "emergency: unconscious at the border post")
		sawPeer = sawPeer || strings.Contains(string(b), "peer EC/user-health-worker-EC")
	}
	if !sawEmergency || !sawPeer {
		t.Errorf("CO audit: emergency %v, peer %v: %s", sawEmergency, sawPeer, audits.Body)
	}
	ecAudits := must(t, ec.do("GET", "/fhir/AuditEvent?patient="+pid, ec.admin, ""), 200)
	if n := len(asSlice(ecAudits.JSON(t)["entry"])); n < 3 {
		t.Errorf("EC audited %d forwarded requests for the child, want at least 3: %s", n, ecAudits.Body)
	}
}

func TestFederationLinkEverythingRefer(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC", "PE")
	co, ec, pe := nodes["CO"], nodes["EC"], nodes["PE"]
	ids := map[records.Country]string{}
	dates := map[records.Country][]string{"CO": {"2025-01-10", "2025-03-10"}, "EC": {"2025-02-10", "2025-05-10"}, "PE": {"2025-04-10"}}
	for cc, n := range nodes {
		ids[cc] = must(t, n.do("POST", "/fhir/Patient", n.hw, childJSON("Daniela", "Quispe Mamani", "2023-11-20", "")), 201).JSON(t)["id"].(string)
		for _, d := range dates[cc] {
			must(t, n.do("POST", "/fhir/Observation", n.hw, weightJSON(ids[cc], d, 9.5, "kg")), 201)
		}
		must(t, n.do("POST", "/fhir/Consent", n.hw, consentJSON(ids[cc], "active", "permit")), 201)
	}
	// A health worker in CO confirms the EC and PE candidates.
	for _, cc := range []records.Country{"EC", "PE"} {
		r := must(t, co.do("POST", "/fhir/Patient/"+ids["CO"]+"/$link", co.hw,
			`{"resourceType":"Parameters","parameter":[{"name":"country","valueCode":"`+string(cc)+`"},{"name":"patient","valueString":"`+ids[cc]+`"}]}`), 200)
		if !strings.Contains(string(r.Body), "/countries/"+string(cc)+"/fhir/Patient/"+ids[cc]) {
			t.Errorf("link to %s missing: %s", cc, r.Body)
		}
	}
	wantOutcome(t, co.do("POST", "/fhir/Patient/"+ids["CO"]+"/$link", co.hw,
		`{"resourceType":"Parameters","parameter":[{"name":"country","valueCode":"PE"},{"name":"patient","valueString":"nosuchperson"}]}`), 404, "", "")

	r := must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$everything?_federated=true", co.hw, ""), 200)
	es, issues := entries(t, r)
	if len(issues) != 0 || len(es) != 11 { // 3 Patients, 5 Observations, 3 Consents
		t.Fatalf("merged record: %d entries, issues %v: %s", len(es), issues, r.Body)
	}
	var got []string
	for _, e := range es[3:] {
		if rm := e["resource"].(map[string]any); rm["resourceType"] == "Observation" {
			got = append(got, countryTag(e)+" "+rm["effectiveDateTime"].(string))
		}
	}
	want := "CO 2025-01-10 EC 2025-02-10 CO 2025-03-10 PE 2025-04-10 EC 2025-05-10"
	if strings.Join(got, " ") != want {
		t.Errorf("merged order:\n got %v\nwant %s", got, want)
	}
	for i, e := range es[:3] {
		if e["resource"].(map[string]any)["resourceType"] != "Patient" || countryTag(e) == "" || (i == 0 && countryTag(e) != "CO") {
			t.Errorf("first entries are the tagged Patients, CO's first: %v", e)
		}
	}

	// A peer down: the answer comes back, naming the missing country.
	pe.peer.Close()
	r = must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$everything?_federated=true", co.hw, ""), 200)
	es, issues = entries(t, r)
	if len(es) != 8 || len(issues) != 1 || !strings.Contains(issues[0], "country PE could not be reached") {
		t.Errorf("PE down: %d entries, issues %v", len(es), issues)
	}
	wantOutcome(t, co.do("GET", "/countries/PE/fhir/Patient/"+ids["PE"], co.hw, ""), 502, "transient", "")
	// PE keeps failing: after 5 failures in a row its circuit opens and the
	// answer says PE was skipped.
	for range 4 {
		must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$everything?_federated=true", co.hw, ""), 200)
	}
	_, issues = entries(t, must(t, co.do("GET", "/fhir/Patient/"+ids["CO"]+"/$everything?_federated=true", co.hw, ""), 200))
	if len(issues) != 1 || !strings.Contains(issues[0], "country PE skipped") {
		t.Errorf("PE's circuit: issues %v", issues)
	}

	// Referral: CO closes care and refers the child to EC, where it is linked already.
	r = must(t, co.do("POST", "/fhir/Patient/"+ids["CO"]+"/$refer", co.hw,
		`{"resourceType":"Parameters","parameter":[{"name":"country","valueCode":"EC"},{"name":"reason","valueString":"family moving to Quito; SAM treatment week 4"}]}`), 201)
	flag := r.JSON(t)
	if flag["resourceType"] != "Flag" || flag["subject"].(map[string]any)["reference"] != "Patient/"+ids["EC"] {
		t.Errorf("referral flag: %s", r.Body)
	}
	if !strings.Contains(r.Header.Get("Location"), "/countries/EC/fhir/Flag/") {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	// EC's health workers see it.
	es, _ = entries(t, must(t, ec.do("GET", "/fhir/Flag?status=active", ec.hw, ""), 200))
	if len(es) != 1 || !strings.Contains(string(mustJSON(es[0])), "Quito") {
		t.Errorf("EC referral flags: %v", es)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestFederationReferNewRecord(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "PE")
	co, pe := nodes["CO"], nodes["PE"]
	pid := must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("Sofía", "Rojas", "2024-06-01", "V-999")), 201).JSON(t)["id"].(string)
	refer := `{"resourceType":"Parameters","parameter":[{"name":"country","valueCode":"PE"},{"name":"reason","valueString":"moving to Lima"}]}`
	wantOutcome(t, co.do("POST", "/fhir/Patient/"+pid+"/$refer", co.hw, refer), 403, "forbidden", "")
	// A refusal, or a consent no longer active, shares nothing.
	must(t, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "active", "deny")), 201)
	must(t, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "inactive", "permit")), 201)
	wantOutcome(t, co.do("POST", "/fhir/Patient/"+pid+"/$refer", co.hw, refer), 403, "forbidden", "")
	must(t, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "active", "permit")), 201)
	flag := must(t, co.do("POST", "/fhir/Patient/"+pid+"/$refer", co.hw, refer), 201).JSON(t)
	peID := strings.TrimPrefix(flag["subject"].(map[string]any)["reference"].(string), "Patient/")
	// PE holds a new record made from the copy, linking back to CO.
	p := must(t, pe.do("GET", "/fhir/Patient/"+peID, pe.hw, ""), 200)
	if !strings.Contains(string(p.Body), "/countries/CO/fhir/Patient/"+pid) || !strings.Contains(string(p.Body), "V-999") {
		t.Errorf("PE record: %s", p.Body)
	}
	// CO's record links forward to it.
	if b := must(t, co.do("GET", "/fhir/Patient/"+pid, co.hw, ""), 200).Body; !bytes.Contains(b, []byte("/countries/PE/fhir/Patient/"+peID)) {
		t.Errorf("CO record lacks the link to PE: %s", b)
	}
	// $referral is for peers only.
	wantOutcome(t, pe.do("POST", "/fhir/Patient/$referral", pe.hw, `{"resourceType":"Parameters","parameter":[]}`), 403, "forbidden", "")
}

func TestFederationSlowPeer(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{peerTimeout: map[records.Country]time.Duration{"PE": 300 * time.Millisecond}}, "CO", "EC", "PE")
	co, pe := nodes["CO"], nodes["PE"]
	must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("Ana", "Torres", "2024-01-01", "V-1")), 201)
	pe.hang.Store(true) // PE accepts the connection and never answers
	r := must(t, nodes["EC"].do("GET", "/fhir/Patient?identifier=urn:ve:cedula|V-1&_federated=true", nodes["EC"].hw, ""), 200)
	es, issues := entries(t, r)
	if len(es) != 1 || countryTag(es[0]) != "CO" || len(issues) != 1 || !strings.Contains(issues[0], "country PE did not answer in time") {
		t.Errorf("slow PE: %d entries, issues %v", len(es), issues)
	}
	wantOutcome(t, co.do("GET", "/countries/PE/fhir/Patient/x", co.hw, ""), 504, "timeout", "")
	// The metrics saw it.
	mfs, err := nodes["EC"].reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var timeouts float64
	for _, mf := range mfs {
		if mf.GetName() == "contigo_federation_peer_errors_total" {
			for _, m := range mf.GetMetric() {
				timeouts += m.GetCounter().GetValue()
			}
		}
	}
	if timeouts != 1 {
		t.Errorf("peer errors counted: %v, want 1", timeouts)
	}
}

// peerCredentials returns what node n's federation listener uses to call
// its peers: its client TLS configuration and its assertion signer.
func peerCredentials(tb testing.TB, n *fedNodeT) (*tls.Config, crypto.Signer) {
	tb.Helper()
	cfg, err := federation.ClientTLSConfig(n.files.CA, n.files.Cert, n.files.Key)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := federation.LoadSigner(n.files.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg, key
}

// peerCall sends a request to a node's peer listener with tlsCfg and a
// caller assertion signed by key (none if nil).
func peerCall(tb testing.TB, n *fedNodeT, tlsCfg *tls.Config, caller federation.Caller, key crypto.Signer, path string) (int, []byte, error) {
	tb.Helper()
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	defer cl.CloseIdleConnections()
	req, err := http.NewRequest("GET", n.peerURL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if key != nil {
		caller.Method, caller.Path = cmpOr(caller.Method, req.Method), cmpOr(caller.Path, req.URL.Path)
		if caller.Audience == "" {
			cc, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/countries/"), "/")
			caller.Audience = records.Country(cc)
		}
		h, err := caller.Sign(key, time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		req.Header.Set(federation.HeaderCaller, h)
	}
	return peerSend(cl, req)
}

// peerSend sends req and reads the answer.
func peerSend(cl *http.Client, req *http.Request) (int, []byte, error) {
	res, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, nil
}

func TestFederationPeerRefusals(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC", "PE")
	co, ec := nodes["CO"], nodes["EC"]
	pid := must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("Luis", "Mendoza", "2024-02-02", "V-2")), 201).JSON(t)["id"].(string)
	must(t, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "active", "permit")), 201)
	ecTLS, ecKey := peerCredentials(t, ec)
	caller := federation.Caller{Subject: "hw-1", Role: "health-worker", From: "EC", Purpose: federation.PurposeTreatment}

	// EC, properly: allowed.
	if st, b, err := peerCall(t, co, ecTLS, caller, ecKey, "/countries/CO/fhir/Patient/"+pid); err != nil || st != 200 {
		t.Fatalf("EC reading CO: %d %v %s", st, err, b)
	}
	// EC asking CO's node for a country it does not host: 403.
	if st, b, _ := peerCall(t, co, ecTLS, caller, ecKey, "/countries/PE/fhir/Patient/"+pid); st != 403 {
		t.Errorf("EC asking CO for PE: %d %s", st, b)
	}
	// EC's certificate claiming to speak for PE: 403.
	pe := caller
	pe.From = "PE"
	if st, b, _ := peerCall(t, co, ecTLS, pe, ecKey, "/countries/CO/fhir/Patient/"+pid); st != 403 {
		t.Errorf("EC speaking for PE: %d %s", st, b)
	}
	// No caller assertion: a plain request without a bearer token, 401.
	if st, b, _ := peerCall(t, co, ecTLS, caller, nil, "/countries/CO/fhir/Patient/"+pid); st != 401 {
		t.Errorf("no caller: %d %s", st, b)
	}
	// An assertion signed by another key than the certificate's: 403.
	other, err := federation.NewCA("other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forgedCert, err := other.Issue("forged", []string{"127.0.0.1"}, []records.Country{"EC"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, err := forgedCert.WriteFiles(dir, "forged")
	if err != nil {
		t.Fatal(err)
	}
	forgedKey, err := federation.LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if st, b, _ := peerCall(t, co, ecTLS, caller, forgedKey, "/countries/CO/fhir/Patient/"+pid); st != 403 {
		t.Errorf("caller signed by another key: %d %s", st, b)
	}
	// A client certificate from another CA: the handshake fails.
	forgedTLS, err := federation.ClientTLSConfig(ec.files.CA, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := peerCall(t, co, forgedTLS, caller, forgedKey, "/countries/CO/fhir/Patient/"+pid); err == nil {
		t.Error("client certificate of another CA accepted")
	}
	// No client certificate: the handshake fails.
	noCert := ecTLS.Clone()
	noCert.Certificates = nil
	if _, _, err := peerCall(t, co, noCert, caller, ecKey, "/countries/CO/fhir/Patient/"+pid); err == nil {
		t.Error("no client certificate accepted")
	}
	// A caller assertion on the user listener (no client certificate): 403.
	onUser := caller
	onUser.Audience, onUser.Method, onUser.Path = "CO", "GET", "/countries/CO/fhir/Patient/"+pid
	h, _ := onUser.Sign(ecKey, time.Now())
	wantOutcome(t, co.do("GET", "/countries/CO/fhir/Patient/"+pid, "", "", federation.HeaderCaller, h), 403, "forbidden", "")
	// Peers do not list the whole register.
	if st, b, _ := peerCall(t, co, ecTLS, caller, ecKey, "/countries/CO/fhir/Patient"); st != 403 {
		t.Errorf("EC listing CO's patients: %d %s", st, b)
	}
	if st, b, _ := peerCall(t, co, ecTLS, caller, ecKey, "/countries/CO/fhir/Patient?identifier=urn:ve:cedula|V-2"); st != 200 || !bytes.Contains(b, []byte(pid)) {
		t.Errorf("EC searching CO by identifier: %d %s", st, b)
	}
	// Peers only read: a write through the peer listener is refused.
	if st, b, _ := peerCall(t, co, ecTLS, caller, ecKey, "/countries/CO/fhir/AuditEvent"); st != 403 {
		t.Errorf("EC reading CO's audit: %d %s", st, b)
	}
}

func TestFederationPeerWrites(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{peerWrites: true}, "CO", "EC")
	co, ec := nodes["CO"], nodes["EC"]
	pid := must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("Eva", "Lima", "2024-05-05", "V-3")), 201).JSON(t)["id"].(string)
	// No consent: the write is refused, and audited by CO.
	wantOutcome(t, ec.do("POST", "/countries/CO/fhir/Observation", ec.hw, weightJSON(pid, "2025-06-01", 9, "kg")), 403, "forbidden", "")
	must(t, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "active", "permit")), 201)
	// With it, EC's health worker adds a weight to the CO record: the
	// answer comes back as CO gave it.
	r := must(t, ec.do("POST", "/countries/CO/fhir/Observation", ec.hw, weightJSON(pid, "2025-06-01", 9, "kg")), 201)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, co.peerURL+"/countries/CO/fhir/Observation/"+pid+".") || r.Header.Get("ETag") != `W/"1"` {
		t.Errorf("forwarded create: Location %q ETag %q", loc, r.Header.Get("ETag"))
	}
	oid := r.JSON(t)["id"].(string)
	// A stale If-Match passes through and fails on CO, unchanged.
	upd := strings.Replace(weightJSON(pid, "2025-06-01", 9.1, "kg"), `{"resourceType":"Observation",`, `{"resourceType":"Observation","id":"`+oid+`",`, 1)
	wantOutcome(t, ec.do("PUT", "/countries/CO/fhir/Observation/"+oid, ec.hw, upd, "If-Match", `W/"7"`), 412, "conflict", "")
	if r := must(t, ec.do("PUT", "/countries/CO/fhir/Observation/"+oid, ec.hw, upd, "If-Match", `W/"1"`), 200); r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("forwarded update ETag %q", r.Header.Get("ETag"))
	}
	// Audit events stay private to each node.
	wantOutcome(t, ec.do("GET", "/countries/CO/fhir/AuditEvent", ec.admin, ""), 403, "forbidden", "")
}

func TestFederationOverallDeadline(t *testing.T) {
	t.Parallel()
	// PE's own timeout is the default 3 s; the whole request may take 300 ms.
	nodes := startFederation(t, fedOptions{overall: 300 * time.Millisecond}, "CO", "PE")
	co, pe := nodes["CO"], nodes["PE"]
	pe.hang.Store(true)
	must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("Ana", "Torres", "2024-01-01", "V-9")), 201)
	es, issues := entries(t, must(t, co.do("POST", "/fhir/Patient/$match?_federated=true", co.hw, matchParams(childJSON("Ana", "Torres", "2024-01-01", "V-9"), false)), 200))
	if len(es) != 1 || countryTag(es[0]) != "CO" || len(issues) != 1 || !strings.Contains(issues[0], "country PE did not answer in time") {
		t.Errorf("overall deadline: %d entries, issues %v", len(es), issues)
	}
}

func firstNonNil(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}
