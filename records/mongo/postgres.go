package mongo

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// StartFerretDBPostgreSQL starts FerretDB in this process with its
// "postgresql" handler on the PostgreSQL database at postgresURL (a pgx
// connection string such as postgres://user@127.0.0.1:5432/db), listening on
// a random loopback port, and returns its MongoDB URI and a function that
// stops it (idempotent). FerretDB logs only errors to log (discarded if nil).
//
// Contigo itself only ever connects to such a server by URI, as a ministry
// running FerretDB on PostgreSQL would; mongotest uses this to run the test
// suites on that engine. FerretDB opens its PostgreSQL connections lazily,
// so an unreachable postgresURL shows at the first command, not here.
func StartFerretDBPostgreSQL(ctx context.Context, postgresURL string, log *slog.Logger) (uri string, stop func() error, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f, err := newFerretDB(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:       "postgresql",
		PostgreSQLURL: postgresURL,
		// As for the embedded engine: FerretDB's warnings quote whole wire
		// messages. Its traces of failed SQL statements quote whole
		// documents, and the client gets the error anyway (a duplicate _id
		// is one).
		Logger: slog.New(noSQLTrace{minLevel{h: log.Handler(), min: slog.LevelError}}),
	})
	if err != nil {
		return "", nil, fmt.Errorf("ferretdb on postgresql: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("ferretdb on postgresql: %w", err)
		}
		return nil
	})
	return f.MongoDBURI(), stop, nil // MongoDBURI waits for the listener
}

// noSQLTrace drops pgx's traces of SQL statements (records with a "sql"
// attribute).
type noSQLTrace struct{ slog.Handler }

func (n noSQLTrace) Handle(ctx context.Context, r slog.Record) error {
	trace := false
	r.Attrs(func(a slog.Attr) bool {
		trace = a.Key == "sql"
		return !trace
	})
	if trace {
		return nil
	}
	return n.Handler.Handle(ctx, r)
}

func (n noSQLTrace) WithAttrs(as []slog.Attr) slog.Handler {
	return noSQLTrace{n.Handler.WithAttrs(as)}
}
func (n noSQLTrace) WithGroup(g string) slog.Handler { return noSQLTrace{n.Handler.WithGroup(g)} }
