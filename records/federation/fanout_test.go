package federation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

// peerFunc is an in-memory peer: it answers after delay, or fails.
type peerFunc struct {
	delay      time.Duration
	err        error
	ignoresCtx bool // keeps working past its deadline
}

func fakePeers(peers map[records.Country]peerFunc) func(context.Context, records.Country) (string, error) {
	return func(ctx context.Context, cc records.Country) (string, error) {
		p := peers[cc]
		if p.ignoresCtx {
			time.Sleep(p.delay)
		} else {
			select {
			case <-time.After(p.delay):
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		if p.err != nil {
			return "", p.err
		}
		return "hello from " + string(cc), nil
	}
}

func summary(a Answer[string]) (replies []string, failures []string) {
	for _, r := range a.Replies {
		replies = append(replies, fmt.Sprintf("%s %v", r.Country, r.Latency))
	}
	for _, f := range a.Failures {
		failures = append(failures, fmt.Sprintf("%s %s %v", f.Country, f.Reason, f.Latency))
	}
	return replies, failures
}

func TestFanOut(t *testing.T) {
	t.Parallel()
	peers := map[records.Country]peerFunc{
		"CO": {delay: 50 * time.Millisecond},
		"EC": {delay: 10 * time.Second}, // slow: past its deadline
		"PE": {delay: 20 * time.Millisecond, err: fmt.Errorf("dial: %w", records.ErrPeerUnavailable)},
		"VE": {delay: time.Hour, ignoresCtx: true}, // hung, and deaf to cancellation
		"BR": {delay: 30 * time.Millisecond, err: fmt.Errorf("patient: %w", records.ErrNotFound)},
	}
	for _, tt := range []struct {
		name                   string
		lim                    Limits
		countries              []records.Country
		wantReplies, wantFails []string
		wantElapsed            time.Duration
	}{
		{
			name:        "per-peer deadline",
			lim:         Limits{PerPeer: 3 * time.Second, Overall: 5 * time.Second},
			countries:   []records.Country{"PE", "CO", "EC", "BR", "CO"},
			wantReplies: []string{"CO 50ms"},
			wantFails:   []string{"BR error 30ms", "EC timeout 3s", "PE error 20ms"},
			wantElapsed: 3 * time.Second,
		},
		{
			name:        "overall deadline first, peer ignoring its context",
			lim:         Limits{PerPeer: 3 * time.Second, Overall: time.Second},
			countries:   []records.Country{"CO", "EC", "VE"},
			wantReplies: []string{"CO 50ms"},
			wantFails:   []string{"EC timeout 1s", "VE timeout 1s"},
			wantElapsed: time.Second,
		},
		{
			name: "per-country timeout",
			lim: Limits{PerPeer: time.Second, PeerTimeout: func(cc records.Country) time.Duration {
				if cc == "EC" {
					return 20 * time.Second
				}
				return 0
			}},
			countries:   []records.Country{"EC"},
			wantReplies: []string{"EC 10s"},
			wantElapsed: 10 * time.Second,
		},
		{name: "nobody to ask", countries: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				ans := FanOut(t.Context(), tt.lim, tt.countries, fakePeers(peers))
				elapsed := time.Since(start)
				replies, fails := summary(ans)
				if diff := cmp.Diff(tt.wantReplies, replies); diff != "" {
					t.Errorf("replies (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantFails, fails); diff != "" {
					t.Errorf("failures (-want +got):\n%s", diff)
				}
				if elapsed != tt.wantElapsed {
					t.Errorf("returned after %v, want %v", elapsed, tt.wantElapsed)
				}
				for _, f := range ans.Failures {
					if !errors.Is(f, records.ErrPeerUnavailable) {
						t.Errorf("%v does not match ErrPeerUnavailable", f)
					}
				}
				time.Sleep(time.Hour) // let the deaf peer finish inside the bubble
			})
		})
	}
}

func TestFanOutBreaker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		bs := NewBreakers(2, time.Minute, nil) // time.Now is the bubble's fake clock
		var mu sync.Mutex
		observed := map[string]int{}
		lim := Limits{PerPeer: time.Second, Overall: 2 * time.Second, Breakers: bs,
			Observe: func(cc records.Country, _ time.Duration, reason FailReason) {
				mu.Lock()
				defer mu.Unlock()
				observed[string(cc)+" "+string(reason)]++
			}}
		down := errors.New("connection refused")
		calls := map[records.Country]int{}
		fn := func(ctx context.Context, cc records.Country) (string, error) {
			mu.Lock()
			calls[cc]++
			mu.Unlock()
			switch cc {
			case "PE":
				return "", down
			case "BR": // answers "not found": healthy
				return "", records.ErrNotFound
			}
			return "ok", nil
		}
		all := []records.Country{"CO", "PE", "BR"}
		for range 2 {
			FanOut(t.Context(), lim, all, fn)
		}
		ans := FanOut(t.Context(), lim, all, fn)
		_, fails := summary(ans)
		if diff := cmp.Diff([]string{"BR error 0s", "PE circuit-open 0s"}, fails); diff != "" {
			t.Errorf("third fan-out failures (-want +got):\n%s", diff)
		}
		if calls["PE"] != 2 || calls["BR"] != 3 {
			t.Errorf("calls %v: PE should be skipped once open, BR (a healthy not-found) never", calls)
		}
		if bs.For("BR").State() != Closed {
			t.Errorf("BR breaker %v, want closed", bs.For("BR").State())
		}
		time.Sleep(time.Minute)
		FanOut(t.Context(), lim, []records.Country{"PE"}, fn) // the probe fails: open again
		if got := bs.For("PE").State(); got != Open || calls["PE"] != 3 {
			t.Errorf("after failed probe: state %v, calls %d; want open, 3", got, calls["PE"])
		}
		want := map[string]int{"CO ": 3, "PE error": 3, "PE circuit-open": 1, "BR error": 3}
		if diff := cmp.Diff(want, observed); diff != "" {
			t.Errorf("observed (-want +got):\n%s", diff)
		}
	})
}

func TestFanOutCallerCancels(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		bs := NewBreakers(1, time.Minute, nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		ans := FanOut(ctx, Limits{Breakers: bs}, []records.Country{"EC"}, fakePeers(map[records.Country]peerFunc{"EC": {delay: time.Second}}))
		if len(ans.Failures) != 1 || ans.Failures[0].Reason != FailCanceled {
			t.Fatalf("got %+v, want one canceled failure", ans.Failures)
		}
		if got := bs.For("EC").State(); got != Closed {
			t.Errorf("breaker %v after the caller gave up, want closed", got)
		}
	})
}

func BenchmarkFanOut(b *testing.B) {
	fn := func(ctx context.Context, cc records.Country) (int, error) { return len(cc), nil }
	for _, n := range []int{1, 3, 8} {
		countries := make([]records.Country, n)
		for i := range countries {
			countries[i] = records.Country([]byte{'A' + byte(i), 'A'})
		}
		b.Run(fmt.Sprintf("peers-%d", n), func(b *testing.B) {
			lim := Limits{PerPeer: time.Second, Overall: 2 * time.Second, Breakers: NewBreakers(0, 0, nil)}
			b.ReportAllocs()
			for b.Loop() {
				FanOut(b.Context(), lim, countries, fn)
			}
		})
	}
}

func TestFailureIssue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		f    Failure
		code string
		text string
	}{
		{Failure{Country: "EC", Reason: FailTimeout}, "timeout", "country EC did not answer in time"},
		{Failure{Country: "PE", Reason: FailCircuitOpen, Err: ErrCircuitOpen}, "transient", "country PE skipped: its node failed repeatedly and is paused"},
		{Failure{Country: "CO", Reason: FailError, Err: errors.New("patient María not found")}, "transient", "country CO answered with an error"},
	} {
		is := tt.f.Issue()
		if is.Code.Code() != tt.code || is.Severity.Code() != "warning" || *is.Diagnostics != tt.text || *is.Details.Coding[0].Code != string(tt.f.Country) {
			t.Errorf("%v: issue %s %s %q", tt.f.Country, is.Severity.Code(), is.Code.Code(), *is.Diagnostics)
		}
	}
}
