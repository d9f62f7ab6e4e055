package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo-contrib/echoprometheus"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"contigo/records"
)

// Config configures a Server.
type Config struct {
	Service   *records.Service  // the records; required
	Countries []records.Country // countries hosted here; the first is the default of /fhir; required
	Key       []byte            // HMAC-SHA256 key that signs bearer tokens; at least MinKeySize bytes
	Logger    *slog.Logger      // nil discards
	MaxBody   int64             // largest request body in bytes; 0 means DefaultMaxBody
	Timeout   time.Duration     // bound on each request's work; 0 means DefaultTimeout
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
	key       []byte
	log       *slog.Logger
	maxBody   int64
	timeout   time.Duration
	reg       *prometheus.Registry
	now       func() time.Time
	fed       *fedNode
	nut       *Nutrition
	ops       *opsMetrics
	version   string
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
	if len(cfg.Key) < MinKeySize {
		errs = append(errs, fmt.Errorf("signing key of %d bytes, want at least %d", len(cfg.Key), MinKeySize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("api config: %w", err)
	}
	s := &Server{
		records:   cfg.Service,
		countries: cfg.Countries,
		hosted:    map[records.Country]bool{},
		key:       cfg.Key,
		log:       cfg.Logger,
		maxBody:   cfg.MaxBody,
		timeout:   cfg.Timeout,
		reg:       cfg.Registry,
		now:       cfg.Now,
		nut:       cfg.Nutrition,
		version:   cfg.Version,
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
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: records.NewID}),
		prom,
		s.accessLog,
		middleware.Recover(),
	)

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
