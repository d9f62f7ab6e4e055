package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"contigo/api"
	"contigo/fhir"
	"contigo/records"
	recmongo "contigo/records/mongo"
)

func init() {
	commands["serve"] = command{summary: "run the records service (FHIR R4 API)", run: runServe}
}

// serveConfig is the configuration of "contigo serve".
type serveConfig struct {
	Addr            string
	MongoDBURI      string
	PostgreSQLURL   string // FerretDB-on-PostgreSQL's database, for its indexes
	DataDir         string
	Countries       []records.Country
	LogLevel        slog.Level
	LogFormat       string
	MaxBody         int64
	SigningKey      string
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	Peers           string           // peers file; "" means no federation (federation.go)
	PeerAddr        string           // mutual-TLS listener for peers
	FedTimeout      time.Duration    // overall deadline of a federated request
	PeerWrites      bool             // peers may create and update
	Nutrition       nutritionOptions // serve_nutrition.go
	CORSOrigins     []string         // serve_cors.go
	Limits          limitOptions     // serve_limits.go
	Tokens          tokenOptions     // serve_tokens.go
	CanonicalBase   string           // base of the conformance resources' canonical URLs
}

// serveEnv maps each flag of serve to its environment variable.
var serveEnv = map[string]string{
	"addr":               "CONTIGO_ADDR",
	"mongodb-uri":        "CONTIGO_MONGODB_URI",
	"postgresql-url":     "CONTIGO_POSTGRESQL_URL",
	"data-dir":           "CONTIGO_DATA_DIR",
	"countries":          "CONTIGO_COUNTRIES",
	"log-level":          "CONTIGO_LOG_LEVEL",
	"log-format":         "CONTIGO_LOG_FORMAT",
	"max-body":           "CONTIGO_MAX_BODY",
	"signing-key":        "CONTIGO_SIGNING_KEY",
	"request-timeout":    "CONTIGO_REQUEST_TIMEOUT",
	"shutdown-timeout":   "CONTIGO_SHUTDOWN_TIMEOUT",
	"peers":              "CONTIGO_PEERS",
	"peer-addr":          "CONTIGO_PEER_ADDR",
	"federated-timeout":  "CONTIGO_FEDERATED_TIMEOUT",
	"peer-writes":        "CONTIGO_PEER_WRITES",
	"signing-keys-dir":   "CONTIGO_SIGNING_KEYS_DIR",
	"max-token-lifetime": "CONTIGO_MAX_TOKEN_LIFETIME",
	"public-url":         "CONTIGO_PUBLIC_URL",
	"oidc-issuer":        "CONTIGO_OIDC_ISSUER",
	"oidc-audience":      "CONTIGO_OIDC_AUDIENCE",
	"oidc-jwks-url":      "CONTIGO_OIDC_JWKS_URL",
	"oidc-role-claim":    "CONTIGO_OIDC_ROLE_CLAIM",
	"oidc-country-claim": "CONTIGO_OIDC_COUNTRY_CLAIM",
	"canonical-base":     "CONTIGO_CANONICAL_BASE",
}

// parseServe reads flags, with environment variables as fallbacks, and
// validates them all at once. It returns flag.ErrHelp for --help.
func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("contigo serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	uri := fs.String("mongodb-uri", "", "MongoDB URI (6.0+, replica set recommended); empty starts the embedded engine (FerretDB + SQLite) on --data-dir")
	pgURL := fs.String("postgresql-url", "", "with --mongodb-uri served by FerretDB on PostgreSQL: that PostgreSQL database (postgres://...), where contigo adds the indexes FerretDB's queries use; without it searches there read whole tables")
	dataDir := fs.String("data-dir", "./data", "directory for the embedded database and the token signing key")
	countries := fs.String("countries", "CO", "comma-separated ISO 3166-1 alpha-2 codes this node hosts; the first is the default of /fhir")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "json", "json or text")
	maxBody := fs.Int64("max-body", api.DefaultMaxBody, "largest request body in bytes (413 beyond)")
	signingKey := fs.String("signing-key", "", "file holding the token signing key (default <data-dir>/signing.key, created with mode 0600 if absent)")
	reqTimeout := fs.Duration("request-timeout", api.DefaultTimeout, "bound on each request's work")
	shutdown := fs.Duration("shutdown-timeout", 10*time.Second, "how long SIGTERM waits for requests in flight")
	peers := fs.String("peers", "", "peers file (docs/federation.md): the nodes hosting other countries; starts the mutual-TLS peer listener on --peer-addr")
	peerAddr := fs.String("peer-addr", "127.0.0.1:8443", "address of the mutual-TLS listener that peers call (with --peers)")
	fedTimeout := fs.Duration("federated-timeout", api.DefaultFederatedTimeout, "overall deadline of a _federated=true request (each peer's own is in the peers file)")
	peerWrites := fs.Bool("peer-writes", false, "let peers' users create and update records here (with the person's consent)")
	nutritionOpts := nutritionFlags(fs)
	corsOrigins := corsFlag(fs)
	limitOpts := limitFlags(fs)
	tokenOpts := tokenFlags(fs)
	canonicalBase := fs.String("canonical-base", fhir.DefaultCanonicalBase, "base of the canonical URLs of the project's code systems, extensions, search parameters and operations (published at <base>/fhir/{type}/{id})")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: contigo serve [flags]\n\nRuns the Contigo records service: the FHIR R4 API at /fhir (and\n/countries/{cc}/fhir), /healthz, /readyz and /metrics. Every flag can also be\nset by its environment variable; a flag on the command line wins.\n\nFlags:")
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s (env %s, default %q)\n    \t%s\n", f.Name, serveEnv[f.Name], f.DefValue, f.Usage)
		})
	}
	var errs []error
	for name, env := range serveEnv {
		if v := getenv(env); v != "" {
			if err := fs.Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return serveConfig{}, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	cfg := serveConfig{
		Addr: *addr, MongoDBURI: *uri, PostgreSQLURL: *pgURL, DataDir: *dataDir, LogFormat: *logFormat, MaxBody: *maxBody,
		SigningKey: *signingKey, RequestTimeout: *reqTimeout, ShutdownTimeout: *shutdown,
		Peers: *peers, PeerAddr: *peerAddr, FedTimeout: *fedTimeout, PeerWrites: *peerWrites,
	}
	nopts, err := nutritionOpts()
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Nutrition = nopts
	if cfg.CORSOrigins, err = corsOrigins(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Limits, err = limitOpts(); err != nil {
		errs = append(errs, err)
	}
	topts, err := tokenOpts()
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Tokens = topts
	if cfg.CanonicalBase, err = parseCanonicalBase(*canonicalBase); err != nil {
		errs = append(errs, err)
	}
	seen := map[records.Country]bool{}
	for s := range strings.SplitSeq(*countries, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		cc, err := records.ParseCountry(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--countries %q: %w", s, err))
			continue
		}
		if !seen[cc] {
			seen[cc] = true
			cfg.Countries = append(cfg.Countries, cc)
		}
	}
	if len(cfg.Countries) == 0 {
		errs = append(errs, errors.New("--countries: name at least one country"))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if cfg.LogFormat != "json" && cfg.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("--log-format %q: want json or text", cfg.LogFormat))
	}
	if cfg.MaxBody < 1024 {
		errs = append(errs, fmt.Errorf("--max-body %d: want at least 1024 bytes", cfg.MaxBody))
	}
	if cfg.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty"))
	}
	if cfg.RequestTimeout <= 0 || cfg.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--request-timeout and --shutdown-timeout must be positive"))
	}
	return cfg, errors.Join(errs...)
}

// runServe implements "contigo serve".
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseServe(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "contigo serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg serveConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// serve runs the service until ctx is done, then drains requests in flight
// (under ShutdownTimeout) and closes the store.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := privateFiles(cfg.DataDir, keyPath(cfg.SigningKey, cfg.DataDir), log); err != nil {
		return err
	}
	key, created, err := loadOrCreateKey(keyPath(cfg.SigningKey, cfg.DataDir))
	if err != nil {
		return err
	}
	if created {
		log.Info("created token signing key", "path", keyPath(cfg.SigningKey, cfg.DataDir))
	}
	// signing.key keys the nutrition pseudonyms and, without a keys
	// directory, the tokens; with one, tokens rotate on their own.
	tokKeys := tokenKeys{Sign: key, Files: []string{keyPath(cfg.SigningKey, cfg.DataDir)}}
	if cfg.Tokens.KeysDir != "" {
		if tokKeys, err = loadTokenKeys(cfg.Tokens.KeysDir, ""); err != nil {
			return err
		}
	}
	log.Info("token keys", "signing_kid", api.KeyID(tokKeys.Sign), "accepted", len(tokKeys.Accept)+1, "max_lifetime", cfg.Tokens.MaxLifetime.String())

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfo())
	if cfg.MongoDBURI == "" {
		log.Info("no MongoDB URI: starting the embedded MongoDB-wire engine (FerretDB, SQLite backend)", "data_dir", cfg.DataDir)
	} else {
		log.Info("using MongoDB") // the URI may hold credentials: never logged
	}
	store, err := recmongo.Open(ctx, recmongo.Config{
		URI:           cfg.MongoDBURI,
		PostgreSQLURL: cfg.PostgreSQLURL,
		DataDir:       cfg.DataDir,
		Countries:     cfg.Countries,
		Logger:        log.With("component", "store"),
		Registerer:    reg,
	})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := store.Close(cctx); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	peer, err := loadPeerNode(cfg)
	if err != nil {
		return err
	}
	nut, err := newNutrition(cfg.Nutrition, key, reg, store)
	if err != nil {
		return err
	}
	svc := records.NewService(store, records.ServiceOptions{OnWrite: nut.OnWrite})
	srv, err := api.New(api.Config{
		Service:          svc,
		Nutrition:        nut,
		Countries:        cfg.Countries,
		Key:              tokKeys.Sign,
		OldKeys:          tokKeys.Accept,
		MaxTokenLifetime: cfg.Tokens.MaxLifetime,
		PublicURL:        cfg.Tokens.PublicURL,
		OIDC:             cfg.Tokens.oidc(),
		Logger:           log,
		MaxBody:          cfg.MaxBody,
		Timeout:          cfg.RequestTimeout,
		Registry:         reg,
		Federation:       peer.api(),
		Version:          Version(),
		CORSOrigins:      cfg.CORSOrigins,
		RateLimits:       cfg.Limits.Rates,
		TrustedProxies:   cfg.Limits.TrustedProxies,
		CanonicalBase:    cfg.CanonicalBase,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := newHTTPServer(srv, cfg.Limits, log, slog.LevelWarn)
	countries := make([]string, len(cfg.Countries))
	for i, cc := range cfg.Countries {
		countries[i] = string(cc)
	}
	log.Info("listening", "addr", ln.Addr().String(), "countries", strings.Join(countries, ","), "embedded", cfg.MongoDBURI == "")

	if err := startFollowUp(ctx, cfg.Nutrition, nut, svc, cfg.Countries, reg, log); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if err := peer.listen(srv, cfg.Limits, log); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := errors.Join(hs.Shutdown(sctx), peer.shutdown(sctx)); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("stopped")
	return nil
}
