package api

import (
	"math"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"contigo/records"
)

// RateLimits bound how often a client may fail to authenticate and how
// many requests a token may send. They are kept in memory, per replica:
// behind a load balancer with n replicas a client may get up to n times
// as much.
type RateLimits struct {
	// AuthFailures is how many failed authentications a client IP may
	// make at once (the burst) before its next failures are 429; they
	// refill at AuthFailures per AuthWindow. Zero means DefaultAuthFailures;
	// negative turns the limit off.
	AuthFailures int
	// AuthWindow is the refill period of AuthFailures; zero means
	// DefaultAuthWindow.
	AuthWindow time.Duration
	// PerToken is the sustained request rate allowed per token subject,
	// in requests per second; zero turns the limit off.
	PerToken float64
	// Burst is how many requests a token may send at once above PerToken;
	// zero means max(1, 2*PerToken).
	Burst int
	// Searches is how many searches (type searches, type history, $match,
	// /alerts, /indicators) run at once in this replica; more wait their
	// turn until their deadline (searchlane.go). Zero means
	// DefaultSearches(); negative turns the bound off.
	Searches int
}

// Defaults of RateLimits: 20 failed authentications per IP per minute.
const (
	DefaultAuthFailures = 20
	DefaultAuthWindow   = time.Minute
)

// limiters holds the rate limiters of a Server.
type limiters struct {
	authFail   *middleware.RateLimiterMemoryStore // nil: off
	authRetry  int                                // Retry-After of a refused failure, seconds
	perToken   *middleware.RateLimiterMemoryStore // nil: off
	tokenRetry int
	limited    *prometheus.CounterVec
}

// newLimiters builds the limiters of cfg and registers their counter.
func newLimiters(cfg RateLimits, reg prometheus.Registerer) (*limiters, error) {
	l := &limiters{limited: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "contigo", Subsystem: "http", Name: "rate_limited_total",
		Help: "Requests refused with 429 by a rate limit (reason: auth_failures per client IP, token per token subject).",
	}, []string{"reason"})}
	if err := reg.Register(l.limited); err != nil {
		return nil, err
	}
	n, window := cfg.AuthFailures, cfg.AuthWindow
	if n == 0 {
		n = DefaultAuthFailures
	}
	if window <= 0 {
		window = DefaultAuthWindow
	}
	if n > 0 {
		r := rate.Limit(float64(n) / window.Seconds())
		l.authFail = middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{Rate: r, Burst: n, ExpiresIn: 2 * window})
		l.authRetry = retryAfter(r)
	}
	if cfg.PerToken > 0 {
		burst := cfg.Burst
		if burst <= 0 {
			burst = max(1, int(2*cfg.PerToken))
		}
		r := rate.Limit(cfg.PerToken)
		l.perToken = middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{Rate: r, Burst: burst, ExpiresIn: 3 * time.Minute})
		l.tokenRetry = retryAfter(r)
	}
	return l, nil
}

// retryAfter is the whole seconds until a limiter of rate r has refilled
// one request: when a refused client may try again.
func retryAfter(r rate.Limit) int {
	return max(1, int(math.Ceil(1/float64(r))))
}

// throttle answers 429 with Retry-After and an OperationOutcome.
func (l *limiters) throttle(c echo.Context, reason string, retry int, format string, args ...any) error {
	l.limited.WithLabelValues(reason).Inc()
	c.Response().Header().Set("Retry-After", strconv.Itoa(retry))
	return errorf(records.ErrTooMany, format, args...)
}

// authFailed is called on a failed authentication from the client's IP:
// nil to answer it as usual (401), or a 429 once the IP has failed too
// often.
func (l *limiters) authFailed(c echo.Context) error {
	if l.authFail == nil {
		return nil
	}
	if ok, _ := l.authFail.Allow(c.RealIP()); ok {
		return nil
	}
	return l.throttle(c, "auth_failures", l.authRetry, "too many failed authentications from this address; retry after %d s", l.authRetry)
}

// tokenRequest is called for every authenticated request: nil, or a 429
// once the token's subject sends faster than its rate.
func (l *limiters) tokenRequest(c echo.Context, subject string) error {
	if l.perToken == nil {
		return nil
	}
	if ok, _ := l.perToken.Allow(subject); ok {
		return nil
	}
	return l.throttle(c, "token", l.tokenRetry, "request rate of this token exceeded; retry after %d s", l.tokenRetry)
}
