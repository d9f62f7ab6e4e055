package api

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentWriters: 50 health workers add an encounter to the same
// child at once; every acknowledged encounter is in the record afterwards.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	// Writes to one record are serialised; under -race on a shared machine
	// 50 of them can take longer than the default request timeout.
	e := newEnv(t, func(c *Config) { c.Timeout = 10 * time.Minute })
	pid := e.createPatient("Paz", "Leo", "conc-1")
	const writers = 50
	var wg sync.WaitGroup
	codes := make([]int, writers)
	ids := make([]string, writers)
	for i := range writers {
		wg.Go(func() {
			r := e.do("POST", "/fhir/Encounter", e.hw, encounterJSON(pid, "2025-04-01"))
			codes[i] = r.Code
			if r.Code == http.StatusCreated {
				ids[i] = r.JSON(t)["id"].(string)
			}
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusCreated {
			t.Errorf("writer %d: status %d", i, c)
		}
	}
	ev := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_count=1000", e.hw, ""), 200)
	for _, id := range ids {
		if id != "" && !strings.Contains(string(ev.Body), `"id":"`+id+`"`) {
			t.Errorf("acknowledged encounter %s is missing", id)
		}
	}
	if n := len(ev.JSON(t)["entry"].([]any)); n != writers+1 {
		t.Errorf("$everything has %d entries, want %d", n, writers+1)
	}
}

// TestIfMatchRace: several updates under the same If-Match; exactly one wins.
func TestIfMatchRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Sol", "Ema", "race-1")
	const racers = 10
	var wg sync.WaitGroup
	codes := make([]int, racers)
	for i := range racers {
		wg.Go(func() {
			body := strings.Replace(patientJSON("Sol", "Ema", "race-1"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+pid+`",`, 1)
			body = strings.Replace(body, `"given":["Ema"]`, `"given":["Ema`+strings.Repeat("x", i)+`"]`, 1)
			codes[i] = e.do("PUT", "/fhir/Patient/"+pid, e.hw, body, "If-Match", `W/"1"`).Code
		})
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Errorf("status %d, want 200 or 412", c)
		}
	}
	if won != 1 {
		t.Errorf("%d winners, want exactly 1 (%v)", won, codes)
	}
	r := must(t, e.do("GET", "/fhir/Patient/"+pid, e.hw, ""), 200)
	if r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("ETag %q after the race, want W/\"2\"", r.Header.Get("ETag"))
	}
}
