package mongotest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	recmongo "contigo/records/mongo"
)

// pgServer is FerretDB, in this process, on a cluster of its own.
type pgServer struct {
	c          *cluster
	uri        string // FerretDB's MongoDB URI
	stopFerret func() error
}

// startPostgres starts a cluster and FerretDB on it, and waits (boundedly)
// until a command reaches PostgreSQL through FerretDB.
func startPostgres(ctx context.Context) (*pgServer, error) {
	c, err := startCluster(ctx)
	if err != nil {
		return nil, err
	}
	u, stop, err := recmongo.StartFerretDBPostgreSQL(ctx, c.url, serverLog())
	if err != nil {
		return nil, errors.Join(err, c.stop())
	}
	p := &pgServer{c: c, uri: u, stopFerret: stop}
	if err := ping(ctx, u); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// ping lists the server's databases, which FerretDB answers from
// PostgreSQL.
func ping(ctx context.Context, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return fmt.Errorf("ferretdb on postgresql: %w", err)
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	if _, err := client.ListDatabaseNames(ctx, bson.D{}); err != nil {
		return fmt.Errorf("ferretdb on postgresql: list databases: %w", err)
	}
	return nil
}

// stop stops FerretDB, then PostgreSQL, and removes the cluster's files.
func (p *pgServer) stop() error {
	return errors.Join(p.stopFerret(), p.c.stop())
}

// StartPostgres starts an external MongoDB-wire server of tb's own,
// FerretDB on a throwaway PostgreSQL cluster as for CONTIGO_TEST_ENGINE=postgres
// (whatever the engine), and returns its MongoDB URI on 127.0.0.1, which
// other processes (such as `contigo serve --mongo-uri`) can use too. The
// server is stopped and its files removed when tb ends. Without
// PostgreSQL's server binaries it skips tb, or fails it when CI=true.
func StartPostgres(tb testing.TB) (mongoURI string) {
	tb.Helper()
	mongoURI, _ = StartPostgresURLs(tb)
	return mongoURI
}

// StartPostgresURLs is StartPostgres, and also returns the connection
// string of the PostgreSQL database behind the server (for
// `contigo serve --postgresql-url`, which adds the indexes FerretDB uses).
func StartPostgresURLs(tb testing.TB) (mongoURI, postgresURL string) {
	tb.Helper()
	start := time.Now()
	p, err := startPostgres(context.Background())
	if errors.Is(err, errNoPostgres) && os.Getenv("CI") != "true" {
		tb.Skipf("mongotest: %v", err)
	}
	if err != nil {
		tb.Fatalf("mongotest: %v", err)
	}
	tb.Logf("mongotest: FerretDB on PostgreSQL at %s, started in %s", p.uri, time.Since(start).Round(time.Millisecond))
	tb.Cleanup(func() {
		if err := p.stop(); err != nil {
			tb.Errorf("mongotest: %v", err)
		}
	})
	return p.uri, p.c.url
}
