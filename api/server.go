package api

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"contigo/fhir"
	"contigo/records"
)

// Config configures a Server.
type Config struct {
	Service   *records.Service  // the records; required
	Countries []records.Country // countries hosted here; the first is the default of /fhir; required
	Key       []byte            // HMAC-SHA256 key that signs bearer tokens (the newest); at least MinKeySize bytes
	// OldKeys are earlier signing keys, still accepted (by key id) until
	// the tokens they signed have expired: rotation without cutting anyone off.
	OldKeys [][]byte
	// MaxTokenLifetime bounds exp - iat of every accepted token; 0 means
	// DefaultMaxLifetime; more than MaxLifetimeCeiling is refused.
	MaxTokenLifetime time.Duration
	// OIDC, if set, also accepts tokens of an external OpenID Connect provider.
	OIDC *OIDCConfig
	// PublicURL is the node's external base URL (e.g. https://contigo.example.org),
	// from which the SMART token endpoint and the audience of client
	// assertions are named; "" derives it from each request's scheme and Host.
	PublicURL string
	Logger    *slog.Logger  // nil discards
	MaxBody   int64         // largest request body in bytes; 0 means DefaultMaxBody
	Timeout   time.Duration // bound on each request's work; 0 means DefaultTimeout
	// Registry receives the HTTP metrics and is served at /metrics, with
	// whatever else the caller registered on it (Go runtime, database). Nil
	// means a new, private registry.
	Registry *prometheus.Registry
	Now      func() time.Time // the clock for token expiry; time.Now if nil
	// Federation, if set, reaches the countries of peer nodes (federation.go).
	Federation *Federation
	// Nutrition, if set, serves /alerts, /indicators and /episodes; its
	// OnWrite must be the Service's records.ServiceOptions.OnWrite.
	Nutrition *Nutrition
	// ExportExpiry is how long Bulk Data $export output is kept after the
	// export completes; 0 means DefaultExportExpiry.
	ExportExpiry time.Duration
	// Version is the release, shown as software.version of the
	// CapabilityStatement; empty leaves it out.
	Version string
	// CORSOrigins are the origins of browser apps allowed to call the API
	// ("https://app.example.org", or "*"); none sends no CORS header.
	CORSOrigins []string
	// RateLimits bound failed authentications per client IP and requests
	// per token (ratelimit.go); the zero value limits failures only.
	RateLimits RateLimits
	// TrustedProxies are the networks whose X-Forwarded-For names the
	// client (a load balancer); empty means the connection's address is
	// the client's, whatever the headers say.
	TrustedProxies []*net.IPNet
	// CanonicalBase is the base of the canonical URLs of the project's
	// conformance resources (code systems, extensions, search parameters,
	// operations); empty means fhir.DefaultCanonicalBase.
	CanonicalBase string
}

// Defaults of Config.
const (
	DefaultMaxBody = 1 << 20
	DefaultTimeout = 30 * time.Second
)

// Server is the HTTP API. It keeps no state between requests beyond its
// configuration, so several replicas may run behind a load balancer.
type Server struct {
	records   *records.Service
	countries []records.Country
	hosted    map[records.Country]bool
	keys      *KeySet
	maxLife   time.Duration
	tokens    records.TokenStore
	revCache  revocationCache
	oidc      *oidcVerifier
	publicURL string
	log       *slog.Logger
	maxBody   int64
	timeout   time.Duration
	reg       *prometheus.Registry
	now       func() time.Time
	fed       *fedNode
	nut       *Nutrition
	ops       *opsMetrics
	version   string
	cors      []string
	lim       *limiters
	lane      *searchLane
	proxies   []*net.IPNet
	conf      *fhir.Conformance
	bulk      *bulkRunner
	e         *echo.Echo
}

// New returns a Server with every route registered. It fails if the
// configuration is incomplete or the metrics cannot be registered.
func New(cfg Config) (*Server, error) {
	var errs []error
	if cfg.Service == nil {
		errs = append(errs, errors.New("no records service"))
	}
	if len(cfg.Countries) == 0 {
		errs = append(errs, errors.New("no hosted country"))
	}
	keys, err := NewKeySet(append([][]byte{cfg.Key}, cfg.OldKeys...)...)
	if err != nil {
		errs = append(errs, fmt.Errorf("signing keys: %w", err))
	}
	if cfg.MaxTokenLifetime > MaxLifetimeCeiling || cfg.MaxTokenLifetime < 0 {
		errs = append(errs, fmt.Errorf("maximum token lifetime %s, want at most %s", cfg.MaxTokenLifetime, MaxLifetimeCeiling))
	}
	var tokens records.TokenStore
	if cfg.Service != nil {
		var ok bool
		if tokens, ok = cfg.Service.Store().(records.TokenStore); !ok {
			errs = append(errs, errors.New("the store keeps no token data (revocations, clients)"))
		}
	}
	oidc, err := newOIDCVerifier(cfg.OIDC)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("api config: %w", err)
	}
	s := &Server{
		records:   cfg.Service,
		countries: cfg.Countries,
		hosted:    map[records.Country]bool{},
		keys:      keys,
		maxLife:   cmp.Or(cfg.MaxTokenLifetime, DefaultMaxLifetime),
		tokens:    tokens,
		oidc:      oidc,
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		log:       cfg.Logger,
		maxBody:   cfg.MaxBody,
		timeout:   cfg.Timeout,
		reg:       cfg.Registry,
		now:       cfg.Now,
		nut:       cfg.Nutrition,
		version:   cfg.Version,
		cors:      cfg.CORSOrigins,
		conf:      fhir.NewConformance(cfg.CanonicalBase),
	}
	for _, cc := range cfg.Countries {
		s.hosted[cc] = true
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if s.now == nil {
		s.now = time.Now
	}
	ops, err := newOpsMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.ops = ops
	if s.lim, err = newLimiters(cfg.RateLimits, s.reg); err != nil {
		return nil, fmt.Errorf("register rate limit metrics: %w", err)
	}
	if s.lane, err = newSearchLane(cfg.RateLimits.Searches, s.reg); err != nil {
		return nil, err
	}
	s.proxies = cfg.TrustedProxies
	fed, err := newFedNode(cfg.Federation, cfg.Countries, s.reg)
	if err != nil {
		return nil, err
	}
	s.fed = fed
	s.bulk = newBulkRunner(s, cfg.ExportExpiry)
	if err := s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Echo returns the underlying Echo instance.
func (s *Server) Echo() *echo.Echo { return s.e }

// routes builds the Echo instance: middleware, probes, metrics and FHIR.
func (s *Server) routes() error {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Logger.SetOutput(discard{})
	e.IPExtractor = echo.ExtractIPDirect()
	if len(s.proxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range s.proxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}

	prom, err := echoprometheus.MiddlewareConfig{
		Namespace:                 "contigo",
		Subsystem:                 "http",
		Registerer:                s.reg,
		DoNotUseRequestPathFor404: true,
		StatusCodeResolver:        statusOf,
		// The Host header is the client's to choose: not a label.
		LabelFuncs: map[string]echoprometheus.LabelValueFunc{"host": func(echo.Context, error) string { return "" }},
	}.ToMiddleware()
	if err != nil {
		return fmt.Errorf("register http metrics: %w", err)
	}
	e.Pre(trimTrailingSlash, headAsGet)
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: records.NewID}),
		prom,
		s.accessLog,
		middleware.Recover(),
	)
	if mw := cors(s.cors); mw != nil {
		e.Use(mw)
	}
	e.Use(compressResponses(), decompressRequests)

	e.GET("/healthz", s.handleHealth)
	e.GET("/readyz", s.handleReady)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))

	timeout := middleware.ContextTimeout(s.timeout)
	s.fhirRoutes(e, "/fhir", timeout, s.negotiate, s.defaultCountry)
	s.fhirRoutes(e, "/countries/:cc/fhir", timeout, s.negotiate, s.countryRoute)
	s.nutritionRoutes(e, timeout)
	s.referralRoutes(e, timeout)
	s.heapingRoutes(e, timeout)
	s.appRoutes(e)
	s.authRoutes(e, timeout)
	s.e = e
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// handleHealth serves GET /healthz: the process is up.
func (s *Server) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady serves GET /readyz: 503 unless the database answers.
func (s *Server) handleReady(c echo.Context) error {
	if err := s.records.Store().Ping(c.Request().Context()); err != nil {
		s.log.WarnContext(c.Request().Context(), "readiness: database unreachable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
