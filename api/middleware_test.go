package api

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/records"
)

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsHoldNoPersonalData: names, identifiers, birth dates and query
// strings never reach the log; route templates and request ids do.
func TestLogsHoldNoPersonalData(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	pid := e.createPatient("Zapata", "Wilmer", "secret-ident-77")
	must(t, e.do("GET", "/fhir/Patient?name=wilmer&birthdate=2023-04-02", e.hw, ""), 200)
	must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), 200)
	wantOutcome(t, e.do("POST", "/fhir/Patient", e.hw, `{"resourceType":"Patient","name":[{"family":"Zapata"}],"birthDate":"2999-01-01"}`), 422, "", "")
	wantOutcome(t, e.do("GET", "/fhir/Patient?identifier=urn:x|secret-ident-77&colour=Zapata", e.hw, ""), 400, "", "")
	out := logs.String()
	for _, secret := range []string{"Zapata", "zapata", "Wilmer", "wilmer", "secret-ident-77", "2023-04-02", "2999-01-01", pid} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"route":"/fhir/:type"`, `"route":"/fhir/:type/:id"`, `"request_id":`, `"status":422`, `"country":"CO"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func TestPanicIsInternalError(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	e.srv.Echo().GET("/boom", func(echo.Context) error { panic("broken invariant") })
	e.srv.Echo().GET("/fail", func(echo.Context) error { return errors.New("driver said: secret detail") })
	for _, path := range []string{"/boom", "/fail"} {
		r := e.do("GET", path, "", "")
		wantOutcome(t, r, 500, "exception", "")
		if strings.Contains(string(r.Body), "secret") || strings.Contains(string(r.Body), "broken") {
			t.Errorf("%s: internal detail leaked: %s", path, r.Body)
		}
		if !strings.Contains(string(r.Body), r.Header.Get("X-Request-Id")) {
			t.Errorf("%s: outcome lacks the request id: %s", path, r.Body)
		}
	}
	if !strings.Contains(logs.String(), "internal error") {
		t.Errorf("internal errors not logged: %s", logs.String())
	}
}

func FuzzVerifyToken(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	good, err := SignToken(testKey, Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := VerifyToken(testKey, tok, now)
		if err != nil {
			if !errors.Is(err, records.ErrUnauthorized) {
				t.Fatalf("error %v does not match ErrUnauthorized", err)
			}
			return
		}
		// Accepted: it must be a complete token that re-signs identically.
		again, err := SignToken(testKey, c)
		if err != nil {
			t.Fatalf("accepted claims %+v do not sign: %v", c, err)
		}
		if _, err := VerifyToken(testKey, again, now); err != nil {
			t.Fatalf("re-signed token rejected: %v", err)
		}
	})
}
