package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// With its one search slot taken, a search waits until the request's
// deadline and gets 503 with Retry-After, having run nothing; a read by id,
// an unauthenticated request and a _federated=true search do not queue;
// a waiting search runs as soon as the slot is given back.
func TestSearchLane(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.RateLimits.Searches = 1
		c.Timeout = time.Second
	})
	pid := e.createPatient("Carril", "Ana", "lane-1")
	leave, err := e.srv.lane.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/fhir/Patient?family=Carril", ""},
		{"POST", "/fhir/Patient/_search", ""},
		{"GET", "/fhir/Patient/_history", ""},
		{"GET", "/fhir/AuditEvent?patient=Patient/" + pid, ""},
	} {
		token := e.hw
		if strings.Contains(r.path, "AuditEvent") {
			token = e.admin
		}
		got := e.do(r.method, r.path, token, r.body)
		wantOutcome(t, got, http.StatusServiceUnavailable, "throttled", "")
		if got.Header.Get("Retry-After") != "1" || !strings.Contains(string(got.Body), "too many searches") {
			t.Errorf("%s %s: Retry-After %q, body %s", r.method, r.path, got.Header.Get("Retry-After"), got.Body)
		}
	}
	must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Patient?family=Carril", "", ""), http.StatusUnauthorized)
	must(t, e.do("GET", "/fhir/Patient?family=Carril&_federated=true", e.hw, ""), http.StatusOK)
	if n := testutil.ToFloat64(e.srv.lane.waiting); n != 0 {
		t.Errorf("%v searches waiting after their deadline, want 0", n)
	}

	done := make(chan resp)
	go func() { done <- e.do("GET", "/fhir/Patient?family=Carril", e.hw, "") }()
	for testutil.ToFloat64(e.srv.lane.waiting) == 0 {
		time.Sleep(time.Millisecond) // bounded: the search's own deadline is 1 s
		select {
		case r := <-done:
			t.Fatalf("the search ran with the slot taken: %d %s", r.Code, r.Body)
		default:
		}
	}
	leave()
	r := must(t, <-done, http.StatusOK)
	if !strings.Contains(string(r.Body), pid) {
		t.Errorf("the search that waited did not find %s: %s", pid, r.Body)
	}
	must(t, e.do("GET", "/fhir/Patient?family=Carril", e.hw, ""), http.StatusOK)
}

// A negative bound turns the lane off: searches never wait.
func TestSearchLaneOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimits.Searches = -1 })
	ctx, cancel := context.WithTimeout(t.Context(), time.Second) // a bound would make the second enter fail
	defer cancel()
	for range 3 {
		leave, err := e.srv.lane.enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer leave()
	}
	must(t, e.do("GET", "/fhir/Patient", e.hw, ""), http.StatusOK)
}

// A search keeps its slot until the middleware around it, the audit
// included, has ended, then gives it back, also when its handler panics;
// a search outside Server.interactive gives it back as its handler ends.
func TestSearchSlotCoversAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimits.Searches = 1 })
	sem := e.srv.lane.sem
	free := func() bool {
		if !sem.TryAcquire(1) {
			return false
		}
		sem.Release(1)
		return true
	}
	var heldAfterHandler bool
	probe := func(next echo.HandlerFunc) echo.HandlerFunc { // where the audit runs
		return func(c echo.Context) error {
			defer func() { heldAfterHandler = !free() }()
			return next(c)
		}
	}
	ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
	run := func(h echo.HandlerFunc) {
		defer func() { _ = recover() }()
		c := echo.New().NewContext(httptest.NewRequest("GET", "/fhir/Patient", nil), httptest.NewRecorder())
		_ = h(c)
	}
	for _, c := range []struct {
		name string
		h    echo.HandlerFunc
		held bool
	}{
		{"interactive", e.srv.interactive(probe(e.srv.searching(ok))), true},
		{"panic", e.srv.interactive(probe(e.srv.searching(func(echo.Context) error { panic("boom") }))), true},
		{"alone", probe(e.srv.searching(ok)), false},
	} {
		heldAfterHandler = false
		run(c.h)
		if heldAfterHandler != c.held {
			t.Errorf("%s: slot held after the handler: %v, want %v", c.name, heldAfterHandler, c.held)
		}
		if !free() {
			t.Fatalf("%s: the slot was not given back", c.name)
		}
	}
}
