// Package mongotest runs one embedded MongoDB-wire server (FerretDB on
// SQLite) per test binary and hands each test a fresh store on it, whose
// databases are dropped when the test ends.
//
//	func TestMain(m *testing.M) { mongotest.Main(m) }
//
//	func TestX(t *testing.T) {
//		s := mongotest.NewStore(t) // countries CO and EC
//		...
//	}
//
// Set CONTIGO_NO_SQLITE_INDEX=1 to run without the SQLite _id indexes.
package mongotest

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
)

var (
	uri string // of the server Main started
	dir string // its SQLite files
)

// Main starts the embedded server in a temporary directory, runs the tests
// and exits with their status. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	d, err := os.MkdirTemp("", "contigo-mongotest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		return 1
	}
	defer os.RemoveAll(d)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	u, stop, err := recmongo.StartEmbedded(context.Background(), d, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongotest:", err)
		return 1
	}
	defer stop()
	uri, dir = u, d
	return m.Run()
}

// URI returns the MongoDB URI of the server Main started.
func URI() string { return uri }

// Dir returns the directory of the server's SQLite files.
func Dir() string { return dir }

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
// SQLite in a temporary directory), started and stopped with the test: for
// tests that run several nodes, each with its own database server.
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
