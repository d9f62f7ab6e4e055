package federation

import (
	"errors"
	"sync"
	"time"

	"contigo/records"
)

// ErrCircuitOpen is returned for a peer that failed too often lately: it is
// skipped until its cool-down ends. It matches records.ErrPeerUnavailable.
var ErrCircuitOpen = &circuitOpenError{}

type circuitOpenError struct{}

func (*circuitOpenError) Error() string { return "circuit open: peer skipped after repeated failures" }
func (*circuitOpenError) Unwrap() error { return records.ErrPeerUnavailable }

// BreakerState is the state of a circuit breaker.
type BreakerState int

// Breaker states.
const (
	Closed   BreakerState = iota // calls go through; failures are counted
	Open                         // calls are refused until the cool-down ends
	HalfOpen                     // one probe call goes through; its outcome closes or reopens
)

// String returns closed, open or half-open.
func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Default breaker settings.
const (
	DefaultFailureThreshold = 5
	DefaultCoolDown         = 30 * time.Second
)

// Breaker is a circuit breaker for one peer: after Threshold consecutive
// failures it opens for CoolDown, then lets one probe through (half-open);
// the probe's success closes it, its failure opens it again. It is safe
// for concurrent use.
type Breaker struct {
	threshold int
	coolDown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	probing  bool
}

// NewBreaker returns a closed breaker. Zero threshold or coolDown take the
// defaults; a nil now uses time.Now (tests pass a fake clock).
func NewBreaker(threshold int, coolDown time.Duration, now func() time.Time) *Breaker {
	if threshold <= 0 {
		threshold = DefaultFailureThreshold
	}
	if coolDown <= 0 {
		coolDown = DefaultCoolDown
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{threshold: threshold, coolDown: coolDown, now: now}
}

// Allow asks to make a call. It returns ErrCircuitOpen while the breaker is
// open, or half-open with its probe already out; otherwise the caller must
// report the call's outcome with Done.
func (b *Breaker) Allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if b.now().Sub(b.openedAt) < b.coolDown {
			return ErrCircuitOpen
		}
		b.state = HalfOpen
		b.probing = true
		return nil
	case HalfOpen:
		if b.probing {
			return ErrCircuitOpen
		}
		b.probing = true
	}
	return nil
}

// Done reports the outcome of a call that Allow let through.
func (b *Breaker) Done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.state, b.failures, b.probing = Closed, 0, false
		return
	}
	b.failures++
	if b.state == HalfOpen || b.failures >= b.threshold {
		b.state, b.openedAt, b.probing = Open, b.now(), false
	}
}

// Cancel reports that a call Allow let through ended without saying
// anything about the peer (the caller gave up first); a half-open breaker
// may send another probe.
func (b *Breaker) Cancel() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// State returns the breaker's state as of now: an open breaker whose
// cool-down has ended reports HalfOpen.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && b.now().Sub(b.openedAt) >= b.coolDown {
		return HalfOpen
	}
	return b.state
}

// Breakers holds one Breaker per country, created on first use with the
// same settings. It is safe for concurrent use.
type Breakers struct {
	threshold int
	coolDown  time.Duration
	now       func() time.Time

	mu sync.Mutex
	m  map[records.Country]*Breaker
}

// NewBreakers returns an empty set; the arguments are NewBreaker's.
func NewBreakers(threshold int, coolDown time.Duration, now func() time.Time) *Breakers {
	return &Breakers{threshold: threshold, coolDown: coolDown, now: now, m: map[records.Country]*Breaker{}}
}

// For returns cc's breaker, creating it closed if needed.
func (bs *Breakers) For(cc records.Country) *Breaker {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[cc]
	if !ok {
		b = NewBreaker(bs.threshold, bs.coolDown, bs.now)
		bs.m[cc] = b
	}
	return b
}

// IsCircuitOpen reports whether err says a peer was skipped by its breaker.
func IsCircuitOpen(err error) bool { return errors.Is(err, ErrCircuitOpen) }
