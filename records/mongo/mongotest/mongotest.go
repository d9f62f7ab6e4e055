// Package mongotest runs one MongoDB-wire server per test binary and hands
// each test a fresh store on it, whose databases are dropped when the test
// ends.
//
//	func TestMain(m *testing.M) { mongotest.Main(m) }
//
//	func TestX(t *testing.T) {
//		s := mongotest.NewStore(t) // countries CO and EC
//		...
//	}
//
// The environment variable CONTIGO_TEST_ENGINE chooses the server:
//
//   - "embedded" (the default): FerretDB on SQLite in a temporary directory,
//     in this process, as `contigo serve` runs without a URI.
//   - "postgres": an external server as a ministry running PostgreSQL would
//     have: a throwaway PostgreSQL cluster (initdb, then postgres on a free
//     127.0.0.1 port; run as the postgres user when the tests run as root)
//     with FerretDB's PostgreSQL handler in front of it. Without PostgreSQL's
//     server binaries the tests are skipped, or fail when CI=true.
//
// Set CONTIGO_TEST_MONGODB_PATHS=1 to run the stores of NewStore on the
// code path a MongoDB server takes (recmongo.Config.MongoDBPaths): its
// indexes and query shapes, none of the FerretDB-specific ones.
//
// Set CONTIGO_TEST_PG_SHARED_BUFFERS (say, 1GB) to give the PostgreSQL
// cluster more than its default 128MB of shared buffers, as a country's
// server would have (the 100,000-person benchmarks).
//
// Set CONTIGO_NO_SQLITE_INDEX=1 to run the embedded engine without the
// SQLite _id indexes.
package mongotest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
)

// The engines CONTIGO_TEST_ENGINE names.
const (
	EngineEmbedded = "embedded" // FerretDB on SQLite, in process
	EnginePostgres = "postgres" // FerretDB on a PostgreSQL cluster
)

var (
	engine string // the engine Main started
	uri    string // its MongoDB URI
	dir    string // its SQLite files (embedded)
	pgURL  string // its PostgreSQL database (postgres)
)

// Main starts the server CONTIGO_TEST_ENGINE names, runs the tests, stops
// the server and exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	switch e := os.Getenv("CONTIGO_TEST_ENGINE"); e {
	case "", EngineEmbedded:
		return runEmbedded(m)
	case EnginePostgres:
		return runPostgres(m)
	default:
		fmt.Fprintf(os.Stderr, "mongotest: CONTIGO_TEST_ENGINE=%q: want %q or %q\n", e, EngineEmbedded, EnginePostgres)
		return 1
	}
}

func runEmbedded(m *testing.M) int {
	d, err := os.MkdirTemp("", "contigo-mongotest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		return 1
	}
	defer os.RemoveAll(d)
	u, stop, err := recmongo.StartEmbedded(context.Background(), d, serverLog())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		return 1
	}
	defer stop()
	engine, uri, dir = EngineEmbedded, u, d
	return m.Run()
}

func runPostgres(m *testing.M) (code int) {
	p, err := startPostgres(context.Background())
	if errors.Is(err, errNoPostgres) && os.Getenv("CI") != "true" {
		fmt.Fprintf(os.Stderr, "mongotest: skipping every test: CONTIGO_TEST_ENGINE=postgres but %v\n", err)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		return 1
	}
	defer func() {
		if err := p.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "mongotest:", err)
			if code == 0 {
				code = 1
			}
		}
	}()
	engine, uri, pgURL = EnginePostgres, p.uri, p.c.url
	return m.Run()
}

// serverLog is where the servers' errors go.
func serverLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Engine returns the engine Main started: EngineEmbedded or EnginePostgres
// ("" if Main did not run).
func Engine() string { return engine }

// MongoDBPaths reports whether NewStore's stores take MongoDB's code path
// on the FerretDB server (CONTIGO_TEST_MONGODB_PATHS=1).
func MongoDBPaths() bool { return os.Getenv("CONTIGO_TEST_MONGODB_PATHS") == "1" }

// URI returns the MongoDB URI of the server Main started.
func URI() string { return uri }

// Dir returns the directory of the embedded server's SQLite files, or ""
// on the postgres engine.
func Dir() string { return dir }

// PostgreSQLURL returns the connection string of the PostgreSQL database
// behind the server on the postgres engine, or "" on the embedded one.
func PostgreSQLURL() string { return pgURL }

// NewStore returns a store on the test binary's server holding fresh
// databases for countries (CO and EC if none are given), dropped and closed
// when tb ends. It fails tb if Main did not run.
func NewStore(tb testing.TB, countries ...records.Country) *recmongo.Store {
	tb.Helper()
	return NewStoreConfig(tb, recmongo.Config{Countries: countries})
}

// NewStoreConfig is NewStore with more settings: URI, SQLiteDir and
// DBPrefix are set here, Countries default to CO and EC.
func NewStoreConfig(tb testing.TB, cfg recmongo.Config) *recmongo.Store {
	tb.Helper()
	if uri == "" {
		tb.Fatal("mongotest: call mongotest.Main(m) from TestMain")
	}
	if len(cfg.Countries) == 0 {
		cfg.Countries = []records.Country{"CO", "EC"}
	}
	cfg.URI, cfg.SQLiteDir = uri, dir
	cfg.DBPrefix = "t" + strings.ToLower(rand.Text()[:12]) + "_"
	if os.Getenv("CONTIGO_NO_SQLITE_INDEX") == "1" {
		cfg.NoSQLiteIndexes = true
	}
	if MongoDBPaths() {
		cfg.MongoDBPaths = true
	}
	if os.Getenv("CONTIGO_NO_PG_INDEX") != "1" {
		cfg.PostgreSQLURL = pgURL // "" on the embedded engine
	}
	ctx := context.Background()
	s, err := recmongo.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("mongotest: open store: %v", err)
	}
	tb.Cleanup(func() {
		for _, cc := range cfg.Countries {
			if err := s.Client().Database(s.DatabaseName(cc)).Drop(ctx); err != nil {
				tb.Errorf("mongotest: drop database: %v", err)
			}
		}
		if err := s.Close(ctx); err != nil {
			tb.Errorf("mongotest: close store: %v", err)
		}
	})
	return s
}

// NewEmbedded returns a store on an embedded server of its own (FerretDB on
// SQLite in a temporary directory, whatever the engine), started and
// stopped with the test: for tests that run several nodes, each with its own
// database server.
func NewEmbedded(tb testing.TB, countries ...records.Country) *recmongo.Store {
	tb.Helper()
	cfg := recmongo.Config{DataDir: tb.TempDir(), Countries: countries}
	if os.Getenv("CONTIGO_NO_SQLITE_INDEX") == "1" {
		cfg.NoSQLiteIndexes = true
	}
	ctx := context.Background()
	s, err := recmongo.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("mongotest: open embedded store: %v", err)
	}
	if !s.Embedded() {
		tb.Fatal("mongotest: store is not embedded")
	}
	tb.Cleanup(func() {
		if err := s.Close(ctx); err != nil {
			tb.Errorf("mongotest: close embedded store: %v", err)
		}
	})
	return s
}
