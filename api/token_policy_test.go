package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"contigo/records"
)

// offsetClock is the real clock moved ahead by off nanoseconds.
type offsetClock struct{ off atomic.Int64 }

// Now returns the real time plus the offset.
func (c *offsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// sign signs claims for subject s with key; iat, nbf and exp relative to now.
func signAt(tb testing.TB, key []byte, now time.Time, iat, nbf, exp time.Duration) string {
	tb.Helper()
	c := Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, IssuedAt: now.Add(iat).Unix(), ExpiresAt: now.Add(exp).Unix()}
	if nbf != 0 {
		c.NotBefore = now.Add(nbf).Unix()
	}
	tok, err := SignToken(key, c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestTokenPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "policy-1")
	now := time.Now()
	get := func(tok string) resp { return e.do("GET", "/fhir/Patient/"+pid, tok, "") }
	otherKey := []byte(strings.Repeat("o", 32))
	parts := strings.Split(e.admin, ".")
	enc := base64.RawURLEncoding.EncodeToString
	year9999, err := SignToken(testKey, Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, IssuedAt: now.Unix(),
		ExpiresAt: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		token string
		want  int
	}{
		{"valid", signAt(t, testKey, now, 0, 0, time.Hour), 200},
		{"expired", signAt(t, testKey, now, -2*time.Hour, 0, -time.Hour), 401},
		{"expired within the skew", signAt(t, testKey, now, -time.Hour, 0, -10*time.Second), 200},
		{"nbf in the future", signAt(t, testKey, now, 0, 5*time.Minute, time.Hour), 401},
		{"nbf within the skew", signAt(t, testKey, now, 0, 10*time.Second, time.Hour), 200},
		{"issued in the future", signAt(t, testKey, now, 5*time.Minute, 0, time.Hour), 401},
		{"lifetime 12 h", signAt(t, testKey, now, -time.Minute, 0, 12*time.Hour-time.Minute), 200},
		{"lifetime 13 h", signAt(t, testKey, now, 0, 0, 13*time.Hour), 401},
		{"expiry in year 9999", year9999, 401},
		{"unknown kid (another key)", signAt(t, otherKey, now, 0, 0, time.Hour), 401},
		{"no kid", enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2], 401},
		{"kid of another key", enc([]byte(`{"alg":"HS256","kid":"`+KeyID(otherKey)+`","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2], 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := get(tt.token)
			if r.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Code, tt.want, r.Body)
			}
			if tt.want == 401 {
				wantOutcome(t, r, 401, "login", "")
			}
		})
	}

	// A node configured for 24 h accepts a 13 h token; beyond the ceiling
	// the configuration is refused.
	long := newEnv(t, func(c *Config) { c.MaxTokenLifetime = 24 * time.Hour })
	pid2 := long.createPatient("Rojas", "Eva", "policy-2")
	must(t, long.do("GET", "/fhir/Patient/"+pid2, signAt(t, testKey, now, 0, 0, 13*time.Hour), ""), 200)
	if _, err := New(Config{Service: e.srv.records, Countries: []records.Country{"CO"}, Key: testKey, MaxTokenLifetime: 30 * 24 * time.Hour}); err == nil {
		t.Error("a 30-day maximum lifetime was accepted")
	}
}

func TestTokenKeyRotation(t *testing.T) {
	t.Parallel()
	newKey := []byte(strings.Repeat("n", 40))
	// The node now signs with newKey and still accepts testKey.
	e := newEnv(t, func(c *Config) { c.Key, c.OldKeys = newKey, [][]byte{testKey} })
	pid := e.createPatient("Rojas", "Ana", "rot-1") // with a testKey token
	now := time.Now()
	must(t, e.do("GET", "/fhir/Patient/"+pid, signAt(t, testKey, now, 0, 0, time.Hour), ""), 200)
	must(t, e.do("GET", "/fhir/Patient/"+pid, signAt(t, newKey, now, 0, 0, time.Hour), ""), 200)
	if got := e.srv.keys.IDs(); len(got) != 2 || got[0] != KeyID(newKey) || got[1] != KeyID(testKey) {
		t.Errorf("key ids %v, want [%s %s]", got, KeyID(newKey), KeyID(testKey))
	}
	// What it signs names the new key.
	tok, err := e.srv.keys.Sign(Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, ExpiresAt: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if !strings.Contains(string(hdr), `"kid":"`+KeyID(newKey)+`"`) {
		t.Errorf("header %s does not name the new key", hdr)
	}
	// Once the old key is removed, its tokens are refused.
	after := newEnv(t, func(c *Config) { c.Key = newKey })
	after.admin = signAt(t, newKey, now, 0, 0, time.Hour)
	pid2 := after.createPatient("Rojas", "Eva", "rot-2")
	wantOutcome(t, after.do("GET", "/fhir/Patient/"+pid2, signAt(t, testKey, now, 0, 0, time.Hour), ""), 401, "login", "")
	must(t, after.do("GET", "/fhir/Patient/"+pid2, signAt(t, newKey, now, 0, 0, time.Hour), ""), 200)
}

// claimsOf decodes the claims of a token without verifying it.
func claimsOf(tb testing.TB, tok string) Claims {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		tb.Fatal(err)
	}
	var c Claims
	if err := json.Unmarshal(b, &c); err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestTokenRevocation(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	pid := a.createPatient("Rojas", "Ana", "rev-1")
	// Replica B: another Server on the same database, with a clock the
	// test moves ahead of the real one.
	bclk := &offsetClock{}
	b, err := New(Config{Service: a.srv.records, Countries: []records.Country{"CO", "EC"}, Key: testKey, Now: bclk.Now})
	if err != nil {
		t.Fatal(err)
	}
	onB := func(tok string) int {
		e := *a
		e.srv = b
		return e.do("GET", "/fhir/Patient/"+pid, tok, "").Code
	}
	victim := a.token(RoleHealthWorker, "CO")
	other := a.token(RoleHealthWorker, "CO")
	must(t, a.do("GET", "/fhir/Patient/"+pid, victim, ""), 200)
	if st := onB(victim); st != 200 {
		t.Fatalf("B before revocation: %d", st) // B has cached "not revoked"
	}
	jti := claimsOf(t, victim).ID

	// Only an admin revokes, and a revocation names a jti.
	wantOutcome(t, a.do("POST", "/auth/revoke", a.hw, `{"jti":"`+jti+`"}`), 403, "forbidden", "")
	wantOutcome(t, a.do("POST", "/auth/revoke", a.admin, `{"reason":"x"}`), 422, "", "jti")
	wantOutcome(t, a.do("POST", "/auth/revoke", "", `{"jti":"`+jti+`"}`), 401, "login", "")
	r := must(t, a.do("POST", "/auth/revoke", a.admin, `{"jti":"`+jti+`","reason":"tablet stolen"}`), 200)
	if m := r.JSON(t); m["revoked"] != true || m["jti"] != jti {
		t.Errorf("answer %s", r.Body)
	}
	// A refuses it at once; the other token of the same person still works.
	wantOutcome(t, a.do("GET", "/fhir/Patient/"+pid, victim, ""), 401, "login", "")
	must(t, a.do("GET", "/fhir/Patient/"+pid, other, ""), 200)
	// B trusts its cache for at most RevocationCacheTTL, then refuses.
	bclk.off.Store(int64(RevocationCacheTTL + time.Second))
	if st := onB(victim); st != 401 {
		t.Errorf("B %s after the revocation: %d, want 401", RevocationCacheTTL+time.Second, st)
	}
	// A node started afterwards (a restart, or a new replica) refuses it too.
	c, err := New(Config{Service: a.srv.records, Countries: []records.Country{"CO", "EC"}, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	ce := *a
	ce.srv = c
	wantOutcome(t, ce.do("GET", "/fhir/Patient/"+pid, victim, ""), 401, "login", "")
	// Revoking twice is fine.
	must(t, a.do("POST", "/auth/revoke", a.admin, `{"jti":"`+jti+`"}`), 200)

	// The revocation is on the record: who revoked which token id.
	audits, _, err := a.store.Audits(context.Background(), "CO", records.AuditQuery{Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	var found, refused bool
	for _, au := range audits {
		found = found || (au.Interaction == "revoke-token" && au.ResourceID == jti && au.Actor == "test-admin" && au.Outcome == 200)
		refused = refused || (au.Interaction == "revoke-token" && au.Outcome == 403)
	}
	if !found || !refused {
		t.Errorf("audit: revocation %v, refused revocation %v", found, refused)
	}
}

func TestTokenPeerSelfTokenUsesKeySet(t *testing.T) {
	t.Parallel()
	// SignToken and VerifyToken remain for one key: a token names its key.
	tok, err := SignToken(testKey, Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, ExpiresAt: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := VerifyToken(testKey, tok, time.Now())
	if err != nil || c.ID == "" {
		t.Fatalf("VerifyToken: %+v %v", c, err)
	}
	if _, err := NewKeySet(testKey, testKey); err == nil {
		t.Error("a key set with a repeated key was accepted")
	}
	_ = http.StatusOK
}

// BenchmarkKeySetVerify: signature, claims and lifetime checks of one
// token against a key set of three keys.
func BenchmarkKeySetVerify(b *testing.B) {
	ks, err := NewKeySet([]byte(strings.Repeat("a", 32)), []byte(strings.Repeat("b", 32)), testKey)
	if err != nil {
		b.Fatal(err)
	}
	tok := signAt(b, testKey, time.Now(), 0, 0, time.Hour)
	now := time.Now()
	for b.Loop() {
		if _, err := ks.Verify(tok, now, DefaultMaxLifetime); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyBearer: what authentication costs a request, revocation
// included, with the revocation cache warm (one database read per token
// every RevocationCacheTTL) and cold (a database read every time).
func BenchmarkVerifyBearer(b *testing.B) {
	e := newEnv(b)
	tok := e.admin
	ctx := context.Background()
	b.Run("cache", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.srv.verifyBearer(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("database", func(b *testing.B) {
		for b.Loop() {
			e.srv.revCache = revocationCache{}
			if _, err := e.srv.verifyBearer(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
