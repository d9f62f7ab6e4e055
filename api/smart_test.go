package api

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"contigo/records"
)

// tokenEndpoint is the token endpoint of a test server (httptest requests
// go to example.com).
const tokenEndpoint = "http://example.com/auth/token"

// jwksOf returns the public JWKS of key under kid.
func jwksOf(tb testing.TB, pub crypto.PublicKey, kid, alg string) string {
	tb.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}}})
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// assertion signs a client assertion for client id with key.
func assertion(tb testing.TB, method jwt.SigningMethod, key crypto.Signer, kid, id, aud, jti string, exp time.Duration) string {
	tb.Helper()
	t := jwt.NewWithClaims(method, jwt.RegisteredClaims{Issuer: id, Subject: id, Audience: jwt.ClaimStrings{aud}, ID: jti,
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(exp))})
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// tokenRequest posts a form to /auth/token.
func (e *env) tokenRequest(form url.Values) resp {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return resp{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func clientForm(a, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {ClientAssertionType},
		"client_assertion": {a}, "scope": {scope}}
}

// wantOAuthError fails unless r is an RFC 6749 error with status and code.
func wantOAuthError(tb testing.TB, r resp, status int, code string) {
	tb.Helper()
	if r.Code != status {
		tb.Fatalf("status %d, want %d: %s", r.Code, status, r.Body)
	}
	if m := r.JSON(tb); m["error"] != code || m["error_description"] == "" {
		tb.Errorf("error %v, want %s: %s", m["error"], code, r.Body)
	}
}

func TestSmartConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"} {
		r := must(t, e.do("GET", path, "", ""), 200)
		m := r.JSON(t)
		if m["token_endpoint"] != tokenEndpoint {
			t.Errorf("%s: token_endpoint %v", path, m["token_endpoint"])
		}
		for key, want := range map[string]string{"grant_types_supported": "client_credentials", "token_endpoint_auth_methods_supported": "private_key_jwt",
			"token_endpoint_auth_signing_alg_values_supported": "ES384", "scopes_supported": "system/*.read", "capabilities": "client-confidential-asymmetric"} {
			if b, _ := json.Marshal(m[key]); !strings.Contains(string(b), `"`+want+`"`) {
				t.Errorf("%s: %s = %s, want it to list %s", path, key, b, want)
			}
		}
	}
	// A configured public URL names the endpoint behind a proxy.
	p := newEnv(t, func(c *Config) { c.PublicURL = "https://contigo.example.org/" })
	if m := must(t, p.do("GET", "/.well-known/smart-configuration", "", ""), 200).JSON(t); m["token_endpoint"] != "https://contigo.example.org/auth/token" {
		t.Errorf("token_endpoint %v", m["token_endpoint"])
	}
}

func TestSmartBackendServices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "smart-1")
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	reg := func(id, jwks, role, countries string) string {
		return `{"client_id":"` + id + `","jwks":` + jwks + `,"role":"` + role + `","countries":` + countries + `}`
	}
	ecJWKS := jwksOf(t, &ecKey.PublicKey, "ec-1", "ES384")

	// Registration: admin only, public keys only, the admin's countries only.
	wantOutcome(t, e.do("POST", "/auth/clients", e.hw, reg("his-co", ecJWKS, "ministry", `["CO"]`)), 403, "forbidden", "")
	privJWKS, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: ecKey, KeyID: "ec-1"}}})
	wantOutcome(t, e.do("POST", "/auth/clients", e.admin, reg("his-co", string(privJWKS), "ministry", `["CO"]`)), 422, "", "jwks")
	wantOutcome(t, e.do("POST", "/auth/clients", e.admin, reg("his-co", ecJWKS, "ministry", `["PE"]`)), 422, "", "countries[0]")
	wantOutcome(t, e.do("POST", "/auth/clients", e.admin, reg("his-co", ecJWKS, "root", `["CO"]`)), 422, "", "role")
	r := must(t, e.do("POST", "/auth/clients", e.admin, reg("his-co", ecJWKS, "ministry", `["CO"]`)), 201)
	if m := r.JSON(t); m["token_endpoint"] != tokenEndpoint {
		t.Errorf("registration answer %s", r.Body)
	}
	must(t, e.do("POST", "/auth/clients", e.admin, reg("lab-co", jwksOf(t, &rsaKey.PublicKey, "rsa-1", "RS384"), "health-worker", `["CO"]`)), 201)

	// The flow: a signed assertion gets a short-lived token that reads.
	a := assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "a-1", 4*time.Minute)
	r = e.tokenRequest(clientForm(a, "system/*.read"))
	if r.Code != 200 {
		t.Fatalf("token: %d %s", r.Code, r.Body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(r.Body, &tr); err != nil || tr.TokenType != "bearer" || tr.ExpiresIn != 300 || tr.Scope != "system/*.read" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token answer %s %v", r.Body, err)
	}
	if c := claimsOf(t, tr.AccessToken); c.Subject != "client:his-co" || c.Role != RoleMinistry || c.ExpiresAt-c.IssuedAt != 300 {
		t.Errorf("access token claims %+v", c)
	}
	must(t, e.do("GET", "/fhir/Patient/"+pid, tr.AccessToken, ""), 200)
	must(t, e.do("GET", "/fhir/Observation?subject=Patient/"+pid, tr.AccessToken, ""), 200)
	// Read scopes do not write.
	wantOutcome(t, e.do("POST", "/fhir/Patient", tr.AccessToken, childJSON("Eva", "Lima", "2024-05-05", "smart-2")), 403, "forbidden", "")
	// The token reaches only the client's countries.
	wantOutcome(t, e.do("GET", "/countries/EC/fhir/Patient?name=x", tr.AccessToken, ""), 403, "forbidden", "")

	// Replay of the same assertion: refused.
	wantOAuthError(t, e.tokenRequest(clientForm(a, "system/*.read")), 400, "invalid_grant")

	// Per-type scopes: Patient read only.
	a = assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "a-2", time.Minute)
	r = must(t, e.tokenRequest(clientForm(a, "system/Patient.read system/Observation.write")), 200)
	_ = json.Unmarshal(r.Body, &tr)
	must(t, e.do("GET", "/fhir/Patient/"+pid, tr.AccessToken, ""), 200)
	wantOutcome(t, e.do("GET", "/fhir/Condition?subject=Patient/"+pid, tr.AccessToken, ""), 403, "forbidden", "")
	must(t, e.do("POST", "/fhir/Observation", tr.AccessToken, weightJSON(pid, "2025-06-01", 9.5, "kg")), 201)
	// Per-type scopes do not reach the cross-record endpoints (alerts).
	if r := e.do("GET", "/alerts", tr.AccessToken, ""); r.Code != 403 {
		t.Errorf("alerts with system/Patient.read: %d, want 403", r.Code)
	}
	a = assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "a-3", time.Minute)
	r = must(t, e.tokenRequest(clientForm(a, "system/*.read")), 200)
	_ = json.Unmarshal(r.Body, &tr)
	if r := e.do("GET", "/alerts", tr.AccessToken, ""); r.Code == 403 || r.Code == 401 {
		t.Errorf("alerts with system/*.read: %d", r.Code) // 501 here: this test node has no nutrition
	}

	// RS384 client, health-worker role: writes with system/*.write; no AuditEvent scope.
	ra := assertion(t, jwt.SigningMethodRS384, rsaKey, "rsa-1", "lab-co", tokenEndpoint, "r-1", time.Minute)
	r = must(t, e.tokenRequest(clientForm(ra, "system/*.read system/*.write")), 200)
	_ = json.Unmarshal(r.Body, &tr)
	must(t, e.do("POST", "/fhir/Observation", tr.AccessToken, weightJSON(pid, "2025-06-02", 9.6, "kg")), 201)
	ra = assertion(t, jwt.SigningMethodRS384, rsaKey, "rsa-1", "lab-co", tokenEndpoint, "r-2", time.Minute)
	wantOAuthError(t, e.tokenRequest(clientForm(ra, "system/AuditEvent.read")), 400, "invalid_scope")

	// Refusals, each an RFC 6749 error.
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"wrong grant type", url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		{"wrong assertion type", url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"x"}, "client_assertion": {a}}, 401, "invalid_client"},
		{"no assertion", url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {ClientAssertionType}}, 401, "invalid_client"},
		{"unknown client", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "nobody", tokenEndpoint, "u-1", time.Minute), "system/*.read"), 401, "invalid_client"},
		{"wrong audience", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", "https://other/auth/token", "w-1", time.Minute), "system/*.read"), 401, "invalid_client"},
		{"expired", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "x-1", -time.Minute), "system/*.read"), 401, "invalid_client"},
		{"exp beyond 5 min", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "l-1", 10*time.Minute), "system/*.read"), 400, "invalid_grant"},
		{"no jti", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "", time.Minute), "system/*.read"), 400, "invalid_grant"},
		{"signed by another client's key", clientForm(assertion(t, jwt.SigningMethodRS384, rsaKey, "ec-1", "his-co", tokenEndpoint, "k-1", time.Minute), "system/*.read"), 401, "invalid_client"},
		{"unknown kid", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-9", "his-co", tokenEndpoint, "k-2", time.Minute), "system/*.read"), 401, "invalid_client"},
		{"RS256", clientForm(assertion(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", "lab-co", tokenEndpoint, "k-3", time.Minute), "system/*.read"), 401, "invalid_client"},
		{"user scope", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "s-1", time.Minute), "user/*.read"), 400, "invalid_scope"},
		{"no scope", clientForm(assertion(t, jwt.SigningMethodES384, ecKey, "ec-1", "his-co", tokenEndpoint, "s-2", time.Minute), ""), 400, "invalid_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantOAuthError(t, e.tokenRequest(tt.form), tt.status, tt.code) })
	}

	// Issued and refused tokens are on the record, by client.
	audits, _, err := e.store.Audits(t.Context(), "CO", records.AuditQuery{Count: 200})
	if err != nil {
		t.Fatal(err)
	}
	var issued, replay int
	for _, au := range audits {
		if au.Interaction == "token" && au.Actor == "client:his-co" {
			if au.Outcome == 200 {
				issued++
			} else {
				replay++
			}
		}
	}
	if issued != 3 || replay == 0 {
		t.Errorf("token audits: %d issued, %d refused", issued, replay)
	}
	_ = http.StatusOK
}
