package federation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"contigo/records"
)

// FailReason says why a country is missing from a fan-out's answer.
type FailReason string

// Fail reasons, as they appear in OperationOutcome diagnostics and metric
// labels.
const (
	FailTimeout     FailReason = "timeout"      // no answer before the peer's or the overall deadline
	FailError       FailReason = "error"        // the peer answered with an error, or could not be reached
	FailCircuitOpen FailReason = "circuit-open" // skipped: the peer failed repeatedly and is cooling down
	FailCanceled    FailReason = "canceled"     // the caller gave up first
)

// Failure is one country that did not answer a fan-out. It matches
// records.ErrPeerUnavailable, and the underlying error.
type Failure struct {
	Country records.Country
	Reason  FailReason
	Err     error         // what happened; ErrCircuitOpen, context.DeadlineExceeded or the peer's error
	Latency time.Duration // how long we waited (0 when skipped)
}

// Error names the country and the reason; no personal data.
func (f *Failure) Error() string {
	if f.Reason == FailError && f.Err != nil {
		return fmt.Sprintf("country %s: %v", f.Country, f.Err)
	}
	return fmt.Sprintf("country %s: %s", f.Country, f.Reason)
}

// Unwrap returns records.ErrPeerUnavailable and the underlying error.
func (f *Failure) Unwrap() []error { return []error{records.ErrPeerUnavailable, f.Err} }

// Reply is one country's answer.
type Reply[T any] struct {
	Country records.Country
	Value   T
	Latency time.Duration
}

// Answer is what a fan-out brought back in time, and who did not answer;
// both sorted by country.
type Answer[T any] struct {
	Replies  []Reply[T]
	Failures []*Failure
}

// Limits bounds a fan-out.
type Limits struct {
	// PerPeer is the deadline of one peer's call; zero means
	// DefaultPeerTimeout. PeerTimeout, if set, overrides it per country
	// (Peers.Timeout fits).
	PerPeer     time.Duration
	PeerTimeout func(records.Country) time.Duration
	// Overall is the deadline of the whole fan-out; zero means only ctx's.
	Overall time.Duration
	// Breakers, if set, skips peers whose circuit is open and records
	// every outcome.
	Breakers *Breakers
	// Observe, if set, is called once per country with its latency and
	// "" on success or the reason it failed: the hook for metrics. It is
	// called from several goroutines at once.
	Observe func(cc records.Country, latency time.Duration, reason FailReason)
}

// FanOut calls fn for every country in parallel, each under its own
// deadline and all under lim.Overall, and returns what came back in time
// with a Failure for every country that did not. It returns by the overall
// deadline (or the earliest peer deadline after which nobody is left) even
// if fn ignores its context; such a call's result is then dropped.
//
// Errors of fn that are answers (records.ErrNotFound, ErrForbidden and the
// other kinds a healthy peer returns) are Failures with reason "error" but
// do not count against the peer's breaker; transport errors, timeouts,
// records.ErrPeerUnavailable and errors of no known kind do.
func FanOut[T any](ctx context.Context, lim Limits, countries []records.Country, fn func(context.Context, records.Country) (T, error)) Answer[T] {
	if lim.Overall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lim.Overall)
		defer cancel()
	}
	countries = slices.Compact(slices.Sorted(slices.Values(countries)))
	type outcome struct {
		reply Reply[T]
		fail  *Failure
	}
	out := make(chan outcome, len(countries))
	for _, cc := range countries {
		go func() {
			r, f := callPeer(ctx, lim, cc, fn)
			if lim.Observe != nil {
				lat, reason := r.Latency, FailReason("")
				if f != nil {
					lat, reason = f.Latency, f.Reason
				}
				lim.Observe(cc, lat, reason)
			}
			out <- outcome{r, f}
		}()
	}
	var ans Answer[T]
	for range countries {
		o := <-out
		if o.fail != nil {
			ans.Failures = append(ans.Failures, o.fail)
		} else {
			ans.Replies = append(ans.Replies, o.reply)
		}
	}
	slices.SortFunc(ans.Replies, func(a, b Reply[T]) int { return cmp.Compare(a.Country, b.Country) })
	slices.SortFunc(ans.Failures, func(a, b *Failure) int { return cmp.Compare(a.Country, b.Country) })
	return ans
}

// callPeer makes one peer's call; it returns by the peer's deadline.
func callPeer[T any](ctx context.Context, lim Limits, cc records.Country, fn func(context.Context, records.Country) (T, error)) (Reply[T], *Failure) {
	var b *Breaker
	if lim.Breakers != nil {
		b = lim.Breakers.For(cc)
		if err := b.Allow(); err != nil {
			return Reply[T]{}, &Failure{Country: cc, Reason: FailCircuitOpen, Err: err}
		}
	}
	timeout := cmp.Or(lim.PerPeer, DefaultPeerTimeout)
	if lim.PeerTimeout != nil {
		timeout = cmp.Or(lim.PeerTimeout(cc), timeout)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: a late fn never blocks
	go func() {
		v, err := fn(pctx, cc)
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-pctx.Done():
		r.err = pctx.Err()
	}
	lat := time.Since(start)
	switch {
	case r.err == nil:
		if b != nil {
			b.Done(true)
		}
		return Reply[T]{Country: cc, Value: r.v, Latency: lat}, nil
	case errors.Is(ctx.Err(), context.Canceled):
		if b != nil {
			b.Cancel()
		}
		return Reply[T]{}, &Failure{Country: cc, Reason: FailCanceled, Err: ctx.Err(), Latency: lat}
	case pctx.Err() != nil:
		if b != nil {
			b.Done(false)
		}
		return Reply[T]{}, &Failure{Country: cc, Reason: FailTimeout, Err: context.DeadlineExceeded, Latency: lat}
	}
	if b != nil {
		b.Done(isAnswer(r.err))
	}
	return Reply[T]{}, &Failure{Country: cc, Reason: FailError, Err: r.err, Latency: lat}
}

// answerKinds are the error kinds with which a healthy peer answers.
var answerKinds = []error{
	records.ErrMalformed, records.ErrInvalid, records.ErrNotFound, records.ErrGone,
	records.ErrConflict, records.ErrVersionMismatch, records.ErrUnauthorized,
	records.ErrForbidden, records.ErrNotSupported,
}

func isAnswer(err error) bool {
	if errors.Is(err, records.ErrPeerUnavailable) || errors.Is(err, records.ErrUnavailable) {
		return false
	}
	for _, k := range answerKinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
