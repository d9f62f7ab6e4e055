package api

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"contigo/records"

	"github.com/prometheus/client_golang/prometheus"
)

// TestDeadlineNeverRacesCommit: with request deadlines so short that many
// writes run out of time, every write answered 2xx is stored and every
// write answered with an error stored nothing.
func TestDeadlineNeverRacesCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	on := func(timeout time.Duration) *env {
		srv, err := New(Config{Service: records.NewService(e.store, records.ServiceOptions{}), Countries: []records.Country{"CO", "EC"},
			Key: testKey, MaxBody: 64 << 10, Registry: prometheus.NewRegistry(), Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		return &env{t: t, srv: srv, store: e.store, admin: e.admin, hw: e.hw}
	}
	slow := on(10 * time.Minute)
	// Each writer goes through a server whose deadline falls somewhere in a
	// write's course (they queue for the one record).
	servers := []*env{on(5 * time.Millisecond), on(20 * time.Millisecond), on(50 * time.Millisecond), on(120 * time.Millisecond)}
	pid := slow.createPatient("Plazo", "Eva", "deadline-1")
	const writers = 24
	var wg sync.WaitGroup
	codes := make([]int, writers)
	for i := range writers {
		wg.Go(func() {
			body := strings.Replace(encounterJSON(pid, "2025-04-01"), `"resourceType":"Encounter",`,
				`"resourceType":"Encounter","identifier":[{"system":"urn:contigo:test","value":"dl-`+string(rune('a'+i))+`"}],`, 1)
			codes[i] = servers[i%len(servers)].do("POST", "/fhir/Encounter", e.hw, body).Code
		})
	}
	wg.Wait()
	ev := string(must(t, slow.do("GET", "/fhir/Patient/"+pid+"/$everything", slow.hw, ""), 200).Body)
	ok, failed := 0, 0
	for i, c := range codes {
		stored := strings.Contains(ev, `"value":"dl-`+string(rune('a'+i))+`"`)
		switch {
		case c == http.StatusCreated:
			ok++
			if !stored {
				t.Errorf("writer %d: answered 201 but not stored", i)
			}
		default:
			failed++
			if stored {
				t.Errorf("writer %d: answered %d but stored", i, c)
			}
		}
	}
	t.Logf("%d writes answered 201, %d failed (deadlines 5-120ms)", ok, failed)
}
