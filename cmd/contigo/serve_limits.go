package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"contigo/api"
)

func init() {
	serveEnv["read-header-timeout"] = "CONTIGO_READ_HEADER_TIMEOUT"
	serveEnv["read-timeout"] = "CONTIGO_READ_TIMEOUT"
	serveEnv["rate-limit"] = "CONTIGO_RATE_LIMIT"
	serveEnv["rate-burst"] = "CONTIGO_RATE_BURST"
	serveEnv["auth-failures"] = "CONTIGO_AUTH_FAILURES"
	serveEnv["trusted-proxies"] = "CONTIGO_TRUSTED_PROXIES"
	serveEnv["concurrent-searches"] = "CONTIGO_CONCURRENT_SEARCHES"
}

// limitOptions are the HTTP deadlines and rate limits of "contigo serve".
type limitOptions struct {
	ReadHeaderTimeout time.Duration // headers of a request
	ReadTimeout       time.Duration // a whole request, headers and body: slow bodies are cut off
	Rates             api.RateLimits
	TrustedProxies    []*net.IPNet
}

// Defaults of limitOptions.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = time.Minute
)

// limitFlags registers the flags of limitOptions on fs; the returned
// function reads and validates them after parsing.
func limitFlags(fs *flag.FlagSet) func() (limitOptions, error) {
	header := fs.Duration("read-header-timeout", defaultReadHeaderTimeout, "deadline for reading a request's headers")
	read := fs.Duration("read-timeout", defaultReadTimeout, "deadline for reading a whole request, headers and body (a slower upload is cut off)")
	perToken := fs.Float64("rate-limit", 0, "requests per second allowed per token subject, per replica (429 with Retry-After beyond); 0 is no limit")
	burst := fs.Int("rate-burst", 0, "requests a token may send at once above --rate-limit; 0 means twice the rate")
	failures := fs.Int("auth-failures", api.DefaultAuthFailures, "failed authentications allowed per client address per minute, per replica (429 with Retry-After beyond); -1 is no limit")
	searches := fs.Int("concurrent-searches", 0, "searches, $match, /alerts and /indicators run at once per replica; more wait their turn (503 at the request deadline), so that reads by id and writes stay fast; 0 means half the processors (at least 1), -1 no bound")
	proxies := fs.String("trusted-proxies", "", "comma-separated networks (CIDR) of load balancers whose X-Forwarded-For names the client; empty trusts no header")
	return func() (limitOptions, error) {
		o := limitOptions{ReadHeaderTimeout: *header, ReadTimeout: *read,
			Rates: api.RateLimits{AuthFailures: *failures, AuthWindow: time.Minute, PerToken: *perToken, Burst: *burst, Searches: *searches}}
		var errs []error
		if o.ReadHeaderTimeout <= 0 || o.ReadTimeout <= 0 {
			errs = append(errs, errors.New("--read-header-timeout and --read-timeout must be positive"))
		}
		o.ReadHeaderTimeout = min(o.ReadHeaderTimeout, o.ReadTimeout) // the headers are part of the request
		if *perToken < 0 || *burst < 0 {
			errs = append(errs, errors.New("--rate-limit and --rate-burst must not be negative"))
		}
		if *searches < -1 {
			errs = append(errs, errors.New("--concurrent-searches: want a positive number, 0 for the default or -1 for no bound"))
		}
		if *failures == 0 || *failures < -1 {
			errs = append(errs, errors.New("--auth-failures: want a positive number, or -1 for no limit"))
		}
		for s := range strings.SplitSeq(*proxies, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("--trusted-proxies %q: %w", s, err))
				continue
			}
			o.TrustedProxies = append(o.TrustedProxies, n)
		}
		return o, errors.Join(errs...)
	}
}

// newHTTPServer returns the server of a listener with the deadlines of o:
// a client that sends its headers or its body too slowly is cut off.
func newHTTPServer(h http.Handler, o limitOptions, errLog *slog.Logger, level slog.Level) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(errLog.Handler(), level),
	}
}
