package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"contigo/records"
	"net/http"
	"testing"
	"time"

	"contigo/records/federation"
)

// TestFederationCallerReplay: a caller assertion is good for the one
// request it names, once.
func TestFederationCallerReplay(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC")
	co, ec := nodes["CO"], nodes["EC"]
	pid := must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("Luis", "Mendoza", "2024-02-02", "R-2")), 201).JSON(t)["id"].(string)
	must(t, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "active", "permit")), 201)
	ecTLS, ecKey := peerCredentials(t, ec)
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: ecTLS}}
	defer cl.CloseIdleConnections()
	path := "/countries/CO/fhir/Patient/" + pid
	send := func(method, path, header string) int {
		t.Helper()
		req, err := http.NewRequest(method, co.peerURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(federation.HeaderCaller, header)
		st, _, err := peerSend(cl, req)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	sign := func(aud, method, path string, at time.Time) string {
		t.Helper()
		h, err := federation.Caller{Subject: "hw-1", Role: "health-worker", From: "EC", Purpose: federation.PurposeTreatment,
			Audience: records.Country(aud), Method: method, Path: path}.Sign(ecKey, at)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := sign("CO", "GET", path, time.Now())
	if st := send("GET", path, h); st != 200 {
		t.Fatalf("first use: %d", st)
	}
	if st := send("GET", path, h); st != 403 {
		t.Errorf("replay: %d, want 403", st)
	}
	// Named for one path, used on another: refused.
	h = sign("CO", "GET", path, time.Now())
	if st := send("GET", path+"/_history", h); st != 403 {
		t.Errorf("other path: %d, want 403", st)
	}
	// Named for another node, or another method: refused.
	if st := send("GET", path, sign("EC", "GET", path, time.Now())); st != 403 {
		t.Errorf("assertion for node EC used on CO: %d, want 403", st)
	}
	if st := send("GET", path, sign("CO", "DELETE", path, time.Now())); st != 403 {
		t.Errorf("assertion for DELETE used with GET: %d, want 403", st)
	}
	// Signed further ahead than the skew allows: refused.
	if st := send("GET", path, sign("CO", "GET", path, time.Now().Add(20*time.Second))); st != 403 {
		t.Errorf("assertion signed 20 s ahead: %d, want 403", st)
	}
	// Older than the 60 s window (30 s lifetime + 15 s skew): refused.
	if st := send("GET", path, sign("CO", "GET", path, time.Now().Add(-50*time.Second))); st != 403 {
		t.Errorf("assertion signed 50 s ago: %d, want 403", st)
	}
	// Another node sharing CO's database (a replica) refuses the replay too:
	// the jti is remembered in the database, not in the process.
	h = sign("CO", "GET", path, time.Now())
	if st := send("GET", path, h); st != 200 {
		t.Fatalf("fresh assertion: %d", st)
	}
	payload, _, _ := strings.Cut(h, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var c federation.Caller
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		t.Fatalf("caller %s: %v", raw, err)
	}
	replica, err := New(Config{Service: co.srv.records, Countries: []records.Country{"CO"}, Key: co.key})
	if err != nil {
		t.Fatal(err)
	}
	if err := replica.tokens.UseOnce(t.Context(), "caller", "EC|"+c.ID, time.Now().Add(time.Minute)); !errors.Is(err, records.ErrConflict) {
		t.Errorf("the replica's replay cache took the used jti: %v", err)
	}
}
