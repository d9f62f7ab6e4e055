package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// 300 tokens with a wrong signature from one address: the first
// DefaultAuthFailures are 401 (and audited), the rest 429 with
// Retry-After and a throttled OperationOutcome (not audited); a valid
// token from the same address still gets in, and another address is not
// affected.
func TestRateLimitFailedAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now()
	forged, err := SignToken([]byte("an-attackers-key-0123456789abcdef-xx"), Claims{Subject: "x", Role: RoleAdmin, Countries: []string{"CO"}, IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for range 300 {
		r := e.do("GET", "/fhir/Patient", forged, "")
		counts[r.Code]++
		if r.Code == http.StatusTooManyRequests {
			if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Fatalf("429 without Retry-After: %v", r.Header)
			}
			wantOutcome(t, r, http.StatusTooManyRequests, "throttled", "")
		}
	}
	t.Logf("300 wrong-signature tokens: %d x 401, %d x 429", counts[401], counts[429])
	// The limiter refills one failure every 3 s: a slow machine may let a few more through.
	if counts[401] < DefaultAuthFailures || counts[401] > DefaultAuthFailures+10 || counts[401]+counts[429] != 300 {
		t.Errorf("statuses %v, want %d x 401 then 429s", counts, DefaultAuthFailures)
	}
	must(t, e.do("GET", "/fhir/Patient", e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Patient", forged, "", "X-Forwarded-For", "203.0.113.9"), http.StatusTooManyRequests) // the header is not trusted
	if code := httptestRequest(e, "GET", "/fhir/Patient", forged, "198.51.100.7:4000"); code != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", code)
	}
	audited := strings.Count(string(must(t, e.do("GET", "/fhir/AuditEvent?_count=500", e.admin, ""), http.StatusOK).Body), "HTTP 401")
	if audited != counts[401]+1 {
		t.Errorf("%d audited 401s, want %d", audited, counts[401]+1)
	}
}

// A token limited to 1 request/s with a burst of 5 gets 429 with
// Retry-After beyond its burst; another token's subject is not affected.
func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimits = RateLimits{PerToken: 1, Burst: 5} })
	counts := map[int]int{}
	for range 30 {
		r := e.do("GET", "/fhir/Patient", e.hw, "")
		counts[r.Code]++
		if r.Code == http.StatusTooManyRequests && r.Header.Get("Retry-After") != "1" {
			t.Fatalf("429 Retry-After %q, want 1", r.Header.Get("Retry-After"))
		}
	}
	if counts[200] < 5 || counts[429] < 10 {
		t.Errorf("statuses %v: want 5 (the burst, plus refills) x 200 and the rest 429", counts)
	}
	must(t, e.do("GET", "/fhir/Patient", e.admin, ""), http.StatusOK)
}

// httptestRequest sends a request from remote address addr and returns its status.
func httptestRequest(e *env, method, path, token, addr string) int {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = addr
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec.Code
}
