package api

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// A search with its slot waits for the interactive requests in flight,
// at most searchDefer, and every request kind counts itself out: after
// reads, writes, searches, refusals and unknown paths, none is left
// counted (one left would delay every later search by searchDefer).
func TestSearchWaitsForInteractive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimits.Searches = 1 })
	pid := e.createPatient("Primero", "Ana", "fg-1")
	fg := e.srv.lane.fg
	count := func() int {
		fg.mu.Lock()
		defer fg.mu.Unlock()
		return fg.n
	}

	must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Patient?family=Primero", e.hw, ""), http.StatusOK)
	must(t, e.do("GET", "/fhir/Patient/"+pid, "", ""), http.StatusUnauthorized)
	must(t, e.do("GET", "/fhir/Patient/nobody", e.hw, ""), http.StatusNotFound)
	must(t, e.do("GET", "/fhir/Patient?family=Primero&_federated=true", e.hw, ""), http.StatusOK)
	e.createPatient("Segundo", "Luis", "fg-2")
	if n := count(); n != 0 {
		t.Fatalf("%d requests still counted as interactive after they ended", n)
	}

	// One interactive request in flight: a search starts once it ends.
	leave := fg.enter()
	done := make(chan resp, 1)
	start := time.Now()
	go func() { done <- e.do("GET", "/fhir/Patient?family=Primero", e.hw, "") }()
	time.Sleep(10 * time.Millisecond)
	select {
	case r := <-done:
		if d := time.Since(start); d < searchDefer {
			t.Fatalf("the search ran under an interactive request: %d after %v", r.Code, d)
		}
		done <- r // a slow machine slept past searchDefer: the search ran, as it should
	default:
	}
	leave()
	must(t, <-done, http.StatusOK)

	// One that never ends: the search waits searchDefer, then runs.
	leave = fg.enter()
	defer leave()
	start = time.Now()
	must(t, e.do("GET", "/fhir/Patient?family=Primero", e.hw, ""), http.StatusOK)
	if d := time.Since(start); d < searchDefer {
		t.Errorf("the search ran after %v under an interactive request, want at least %v", d, searchDefer)
	}
	// wait ends with its context too.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fg.wait(ctx, time.Hour)
}
