package api

import (
	"context"
	"fmt"
	"net/http"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"contigo/records"
)

// childVisit is a visit of an existing child: an Encounter and a weight
// linked to it, in one transaction (assessed by the nutrition hook when the
// server has one).
func childVisit(pid string, i int, date string) string {
	enc := fmt.Sprintf("urn:uuid:b0000000-0000-4000-8000-%012d", i)
	weight := strings.Replace(weightJSON(pid, date, 11.5, "kg"), `"effectiveDateTime"`, `"encounter":{"reference":"`+enc+`"},"effectiveDateTime"`, 1)
	return `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"` + enc + `","resource":` + encounterJSON(pid, date) + `,"request":{"method":"POST","url":"Encounter"}},` +
		`{"resource":` + weight + `,"request":{"method":"POST","url":"Observation"}}]}`
}

// BenchmarkVisitHistory uploads a visit to a child whose record already
// holds 0, 100 or 300 visits (each an Encounter and a weight, with the nutrition
// hook's derived results): a write costs what it changes, not the length of
// the child's history. Compare the two with benchstat. The visits fall
// on one day (dates=same: about half sort before the newest assessment by
// measurement id, so the engine replays the history for them, as for a
// late upload) or one a day (dates=daily: a child's history as it grows).
func BenchmarkVisitHistory(b *testing.B) {
	for _, hook := range []bool{false, true} {
		for _, dates := range []string{"same", "daily"} {
			for _, history := range []int{0, 100, 300} {
				b.Run(fmt.Sprintf("nutrition=%v/dates=%s/visits=%d", hook, dates, history), func(b *testing.B) {
					benchHistory(b, hook, history, dates == "daily")
				})
			}
		}
	}
}

func benchHistory(b *testing.B, hook bool, history int, daily bool) {
	e := newEnv(b, func(cfg *Config) {
		cfg.Timeout = 10 * time.Minute
		if !hook {
			return
		}
		nut, err := NewNutrition(NutritionConfig{Key: testKey, Registry: cfg.Registry, Store: cfg.Service.Store()})
		if err != nil {
			b.Fatal(err)
		}
		cfg.Service = records.NewService(cfg.Service.Store(), records.ServiceOptions{OnWrite: nut.OnWrite, MaxVersionsPerMinute: 1 << 30})
		cfg.Nutrition = nut
	})
	pid := e.createPatient("Historia", "Ana", fmt.Sprintf("hist-%d", history))
	date := func(i int) string {
		if !daily {
			return "2025-05-05"
		}
		return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
	}
	for i := range history {
		benchDo(b, e, "POST", "/fhir", childVisit(pid, i, date(i)), http.StatusOK)
	}
	b.ReportAllocs()
	i := history
	cpu0 := cpuTime()
	// The timed writes carry a profiler label, so that a CPU profile of
	// them alone leaves the history's setup out: -cpuprofile, then
	// go tool pprof -tagfocus phase=timed.
	pprof.Do(context.Background(), pprof.Labels("phase", "timed"), func(context.Context) {
		for b.Loop() {
			i++
			benchDo(b, e, "POST", "/fhir", childVisit(pid, i, date(i)), http.StatusOK)
		}
	})
	// The process's CPU time per write (the embedded engine runs in it):
	// steadier than wall time on a machine that other work shares.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
