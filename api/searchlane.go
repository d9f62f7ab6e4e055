package api

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// DefaultSearches returns the default bound on searches running at once:
// half of GOMAXPROCS, at least one. The other half of the processors stays
// free for reads by id and writes, so that a burst of searches (8 clients
// listing a register) does not make a health worker's read of one record
// wait behind them.
func DefaultSearches() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// searchLane bounds how many cross-record requests (searches, type
// history, $match, /alerts, /indicators) run at once in this process.
// More wait their turn, first come first served, until their request's
// deadline (then 503, nothing having run). Reads by id, writes and
// $everything do not queue here: they go first, a search with its slot
// waiting up to searchDefer for those in flight (foreground.go).
type searchLane struct {
	sem     *semaphore.Weighted // nil: no bound
	fg      *foreground         // interactive requests in flight (foreground.go)
	waiting prometheus.Gauge
	waited  prometheus.Histogram
}

// newSearchLane returns the lane of n slots (0: DefaultSearches, negative:
// no bound) and registers its metrics on reg.
func newSearchLane(n int, reg prometheus.Registerer) (*searchLane, error) {
	l := &searchLane{
		fg: newForeground(),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "contigo", Subsystem: "http", Name: "searches_waiting",
			Help: "Searches waiting for a slot of the search lane (--concurrent-searches).",
		}),
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "contigo", Subsystem: "http", Name: "search_wait_seconds",
			Help:    "Time a search waited for a slot of the search lane before it ran.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30},
		}),
	}
	for _, c := range []prometheus.Collector{l.waiting, l.waited} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register search lane metrics: %w", err)
		}
	}
	if n == 0 {
		n = DefaultSearches()
	}
	if n > 0 {
		l.sem = semaphore.NewWeighted(int64(n))
	}
	return l, nil
}

// enter waits for a slot, then (up to searchDefer) for the interactive
// requests in flight to end: the returned function gives the slot back. It
// fails with errBusy (503) if ctx ends before a slot is free.
func (l *searchLane) enter(ctx context.Context) (func(), error) {
	if l.sem == nil {
		return func() {}, nil
	}
	start := time.Now()
	if !l.sem.TryAcquire(1) {
		l.waiting.Inc()
		err := l.sem.Acquire(ctx, 1)
		l.waiting.Dec()
		if err != nil {
			return nil, fmt.Errorf("too many searches in progress on this node; this one did not start before the request's deadline (%v): %w", err, errBusy)
		}
	}
	l.fg.wait(ctx, searchDefer)
	l.waited.Observe(time.Since(start).Seconds())
	return func() { l.sem.Release(1) }, nil
}

// searching wraps h, a cross-record handler, to run in the search lane.
// A _federated=true request does not queue: it waits on peers whose own
// lanes may hold their slots while they call this node, and holding a
// slot across that call could deadlock two nodes. Its local part runs
// unbounded, and the peers' calls it makes queue in their lanes.
func (s *Server) searching(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		notInteractive(c)
		if c.QueryParam(federatedParameter) == "true" {
			return h(c)
		}
		leave, err := s.lane.enter(c.Request().Context())
		if err != nil {
			c.Response().Header().Set("Retry-After", "1")
			return err
		}
		if slot, ok := c.Get(keyLaneSlot).(*func()); ok {
			*slot = leave // given back after the audit (Server.interactive)
		} else {
			defer leave()
		}
		return h(c)
	}
}
