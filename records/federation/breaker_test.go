package federation

import (
	"errors"
	"testing"
	"time"

	"contigo/records"
)

// clock is a fake clock the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }
func allowed(t *testing.T, b *Breaker) bool {
	t.Helper()
	err := b.Allow()
	if err != nil && !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("Allow: %v", err)
	}
	return err == nil
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	c := newClock()
	b := NewBreaker(3, 10*time.Second, c.now)
	step := func(name string, wantAllowed bool, ok bool, want BreakerState) {
		t.Helper()
		if got := allowed(t, b); got != wantAllowed {
			t.Fatalf("%s: allowed %v, want %v", name, got, wantAllowed)
		}
		if wantAllowed {
			b.Done(ok)
		}
		if got := b.State(); got != want {
			t.Fatalf("%s: state %v, want %v", name, got, want)
		}
	}
	step("first failure", true, false, Closed)
	step("second failure", true, false, Closed)
	step("a success resets the count", true, true, Closed)
	step("failure 1", true, false, Closed)
	step("failure 2", true, false, Closed)
	step("failure 3 opens", true, false, Open)
	step("refused while open", false, false, Open)
	c.add(9 * time.Second)
	step("still open before the cool-down ends", false, false, Open)
	c.add(time.Second)
	if got := b.State(); got != HalfOpen {
		t.Fatalf("after cool-down: state %v, want half-open", got)
	}
	if !allowed(t, b) {
		t.Fatal("the probe was refused")
	}
	if allowed(t, b) {
		t.Fatal("a second call went through while the probe is out")
	}
	b.Done(false)
	if got := b.State(); got != Open {
		t.Fatalf("failed probe: state %v, want open", got)
	}
	step("refused again after a failed probe", false, false, Open)
	c.add(10 * time.Second)
	step("successful probe closes", true, true, Closed)
	step("closed again", true, true, Closed)

	// A probe whose caller gave up lets the next call probe instead.
	for range 3 {
		if !allowed(t, b) {
			t.Fatal("refused while closed")
		}
		b.Done(false)
	}
	c.add(10 * time.Second)
	if !allowed(t, b) {
		t.Fatal("probe refused")
	}
	b.Cancel()
	if !allowed(t, b) {
		t.Fatal("after a canceled probe, the next probe was refused")
	}
	b.Done(true)
	if got := b.State(); got != Closed {
		t.Fatalf("state %v, want closed", got)
	}
}

func TestBreakersPerCountry(t *testing.T) {
	t.Parallel()
	c := newClock()
	bs := NewBreakers(1, time.Minute, c.now)
	if err := bs.For("EC").Allow(); err != nil {
		t.Fatal(err)
	}
	bs.For("EC").Done(false)
	if err := bs.For("EC").Allow(); !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, records.ErrPeerUnavailable) {
		t.Errorf("EC after a failure: %v, want ErrCircuitOpen and ErrPeerUnavailable", err)
	}
	if err := bs.For("PE").Allow(); err != nil {
		t.Errorf("PE: %v, want allowed", err)
	}
}
