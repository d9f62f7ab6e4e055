package api

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"contigo/records"
)

// oidcProvider is a local OpenID Connect provider: discovery and JWKS.
type oidcProvider struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	fetches atomic.Int64
}

func newOIDCProvider(tb testing.TB) *oidcProvider {
	tb.Helper()
	p := &oidcProvider{keys: map[string]*rsa.PrivateKey{}}
	p.addKey(tb, "k1")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		var ks jose.JSONWebKeySet
		for kid, k := range p.keys {
			ks.Keys = append(ks.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(ks)
	})
	p.srv = httptest.NewServer(mux)
	tb.Cleanup(p.srv.Close)
	return p
}

func (p *oidcProvider) addKey(tb testing.TB, kid string) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
	return k
}

// token signs claims with the provider's key kid (or key, if given).
func (p *oidcProvider) token(tb testing.TB, kid string, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	tb.Helper()
	if key == nil {
		p.mu.Lock()
		key = p.keys[kid]
		p.mu.Unlock()
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestOIDCProviderTokens(t *testing.T) {
	t.Parallel()
	p := newOIDCProvider(t)
	clk := &offsetClock{}
	e := newEnv(t, func(c *Config) {
		c.Now = clk.Now
		c.OIDC = &OIDCConfig{Issuer: p.srv.URL, Audience: "contigo-co", RoleClaim: "contigo_role", CountryClaim: "country"}
	})
	pid := e.createPatient("Rojas", "Ana", "oidc-1")
	now := clk.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": p.srv.URL, "aud": "contigo-co", "sub": "maria.lopez", "contigo_role": []string{"viewer", "health-worker"},
			"country": "CO", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "oidc-jti-1"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	good := p.token(t, "k1", nil, claims(nil))
	must(t, e.do("GET", "/fhir/Patient/"+pid, good, ""), 200)
	if p.fetches.Load() != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (cached)", p.fetches.Load())
	}
	must(t, e.do("GET", "/fhir/Patient/"+pid, good, ""), 200)
	// Mapped: a health worker of CO, audited under the provider's subject.
	wantOutcome(t, e.do("GET", "/fhir/AuditEvent", good, ""), 403, "forbidden", "")
	wantOutcome(t, e.do("GET", "/countries/EC/fhir/Patient?name=x", good, ""), 403, "forbidden", "")
	audits, _, err := e.store.Audits(t.Context(), "CO", records.AuditQuery{Count: 50})
	if err != nil {
		t.Fatal(err)
	}
	var seen bool
	for _, au := range audits {
		seen = seen || (au.Actor == "oidc:maria.lopez" && au.Role == "health-worker" && au.Outcome == 200)
	}
	if !seen {
		t.Error("no audit entry for oidc:maria.lopez")
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tt := range []struct {
		name string
		tok  string
	}{
		{"wrong audience", p.token(t, "k1", nil, claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" }))},
		{"expired", p.token(t, "k1", nil, claims(func(c jwt.MapClaims) { c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix() }))},
		{"nbf in the future", p.token(t, "k1", nil, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }))},
		{"too long", p.token(t, "k1", nil, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(48 * time.Hour).Unix() }))},
		{"no role", p.token(t, "k1", nil, claims(func(c jwt.MapClaims) { delete(c, "contigo_role") }))},
		{"unknown role", p.token(t, "k1", nil, claims(func(c jwt.MapClaims) { c["contigo_role"] = "root" }))},
		{"no country", p.token(t, "k1", nil, claims(func(c jwt.MapClaims) { delete(c, "country") }))},
		{"forged with another key", p.token(t, "k1", other, claims(nil))},
		{"unknown kid", p.token(t, "k9", other, claims(nil))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, tt.tok, ""), 401, "login", "")
		})
	}

	// The provider rotates: a token of its new key is accepted once the
	// key set is fetched again (on the unknown kid, at most every 10 s).
	p.addKey(t, "k2")
	clk.off.Store(int64(11 * time.Second))
	now = clk.Now()
	rotated := p.token(t, "k2", nil, claims(func(c jwt.MapClaims) { c["jti"] = "oidc-jti-2" }))
	must(t, e.do("GET", "/fhir/Patient/"+pid, rotated, ""), 200)

	// Revocation works for the provider's tokens too (by issuer and jti).
	body, _ := json.Marshal(map[string]string{"jti": "oidc-jti-2", "iss": p.srv.URL})
	must(t, e.do("POST", "/auth/revoke", e.admin, string(body)), 200)
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, rotated, ""), 401, "login", "")
	// The same jti of this node's own tokens is another token: unaffected.
	must(t, e.do("GET", "/fhir/Patient/"+pid, good, ""), 200)
}
