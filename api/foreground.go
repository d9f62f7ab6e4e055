package api

import (
	"context"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// searchDefer is how long a search that has its slot in the search lane
// still waits while reads by id, writes and other single-record requests
// are in flight (interactive), so that those do not share the processors
// with a search starting under them. A search starts as soon as none is in
// flight, and after searchDefer whatever the load: searches are delayed,
// never starved.
const searchDefer = 50 * time.Millisecond

// foreground counts the interactive requests in flight.
type foreground struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n is 0
}

func newForeground() *foreground {
	f := &foreground{idle: make(chan struct{})}
	close(f.idle)
	return f
}

// enter counts one more request in flight; the returned function, which
// may be called more than once, counts it out.
func (f *foreground) enter() (leave func()) {
	f.mu.Lock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.n--
			if f.n == 0 {
				close(f.idle)
			}
			f.mu.Unlock()
		})
	}
}

// wait returns once no request is in flight, after max, or when ctx ends,
// whichever comes first.
func (f *foreground) wait(ctx context.Context, max time.Duration) {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return
	default:
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}

// keyForeground holds the function that counts a request out of the
// interactive ones (Server.interactive).
const keyForeground = "contigo.foreground"

// keyLaneSlot holds a *func() that Server.interactive calls once the
// request, its audit included, has ended: searching puts there the
// function that gives its search lane slot back.
const keyLaneSlot = "contigo.laneslot"

// interactive counts every FHIR request as interactive while it runs
// (authentication and audit included); a request that turns out to be a
// search counts itself out as it enters the search lane (searching), and
// keeps its slot until its audit entries are written: the audit is work
// of the search, which otherwise would run beside the next one.
func (s *Server) interactive(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		leave := s.lane.fg.enter()
		c.Set(keyForeground, leave)
		defer leave()
		slot := func() {}
		c.Set(keyLaneSlot, &slot)
		defer func() { slot() }() // also when the handler panics
		return next(c)
	}
}

// notInteractive counts the request of c out of the interactive ones.
func notInteractive(c echo.Context) {
	if leave, ok := c.Get(keyForeground).(func()); ok {
		leave()
	}
}
