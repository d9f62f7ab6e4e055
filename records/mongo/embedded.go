package mongo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", as FerretDB registers it
)

// embedded is a FerretDB server running in this process.
type embedded struct {
	lock   *os.File // dir/contigo.lock, held while the engine runs
	uri    string
	dir    string
	cancel context.CancelFunc
	done   chan error
}

// SQLiteURL returns FerretDB's SQLiteURL for data directory dir. It asks
// SQLite for full sync of the write-ahead log, so that a write FerretDB has
// acknowledged survives the process being killed (and a power cut), and to
// cut the log back to 64 MiB each time a checkpoint has copied it all into
// the database (otherwise the file keeps the largest size it ever had, and
// its size, contigo_store_wal_bytes, says nothing of the present).
func SQLiteURL(dir string) string {
	return "file:" + filepath.ToSlash(dir) + "/?_pragma=synchronous(full)&_pragma=journal_size_limit(67108864)"
}

// StartEmbedded starts FerretDB on dir (created if missing), listening on a
// random loopback port, and returns its MongoDB URI and a function that stops
// it. FerretDB logs only errors to log. Tests use it through
// mongotest; Open uses it when no URI is configured.
func StartEmbedded(ctx context.Context, dir string, log *slog.Logger) (uri string, stop func() error, err error) {
	e, err := startEmbedded(ctx, dir, log)
	if err != nil {
		return "", nil, err
	}
	return e.uri, e.stop, nil
}

func startEmbedded(ctx context.Context, dir string, log *slog.Logger) (*embedded, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	f, err := newFerretDB(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: SQLiteURL(dir),
		// FerretDB logs every wire message at debug level, and whole error
		// responses (which may quote identifiers) at warn level.
		Logger: slog.New(minLevel{h: log.Handler(), min: slog.LevelError}),
	})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &embedded{lock: lock, dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- f.Run(runCtx) }()
	e.uri = f.MongoDBURI() // waits for the listener
	return e, nil
}

func (e *embedded) stop() error {
	e.cancel()
	err := <-e.done
	e.lock.Close()
	return err
}

// ferretNew serialises ferretdb.New, which writes a package-level
// variable (version.Get().Package) without a lock: tests start several
// engines at once.
var ferretNew sync.Mutex

func newFerretDB(c *ferretdb.Config) (*ferretdb.FerretDB, error) {
	ferretNew.Lock()
	defer ferretNew.Unlock()
	return ferretdb.New(c)
}

// minLevel drops records below min. Its WithAttrs and WithGroup are
// lazy: they are applied to the handler below only when a record is
// handled. FerretDB's SQL layer derives a logger with the statement's
// arguments (whole documents) for each statement it runs, twice, to log at
// debug level; a text or JSON handler formats those attributes as soon as
// they are added, which cost the embedded engine 250 KB allocated per
// visit written to a child of 300 visits (BenchmarkVisitHistory), all
// for records that are dropped.
type minLevel struct {
	h   slog.Handler
	min slog.Level
	// with are the WithAttrs and WithGroup calls not yet applied to h, in
	// order.
	with []func(slog.Handler) slog.Handler
}

// Enabled reports whether l is at least min and h handles it.
func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}

// Handle applies the pending attributes and groups to h, then hands r to
// it.
func (m minLevel) Handle(ctx context.Context, r slog.Record) error {
	h := m.h
	for _, w := range m.with {
		h = w(h)
	}
	return h.Handle(ctx, r)
}

// WithAttrs returns m with as pending.
func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return m.then(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

// WithGroup returns m with group g pending.
func (m minLevel) WithGroup(g string) slog.Handler {
	return m.then(func(h slog.Handler) slog.Handler { return h.WithGroup(g) })
}

func (m minLevel) then(w func(slog.Handler) slog.Handler) minLevel {
	return minLevel{h: m.h, min: m.min, with: append(slices.Clip(m.with), w)}
}

// idExpr is the expression FerretDB v1.24 compares in every {_id: value}
// query (metadata.IDColumn). The index FerretDB creates for _id is on
// _ferretdb_sjson->"_id", which SQLite does not match with this expression,
// so without an index on exactly this expression every _id lookup scans the
// table.
const idExpr = `_ferretdb_sjson->'$._id'`

// sqliteIndexes adds (or with add false, drops) an index on idExpr to the
// table of every collection of database db in the SQLite files under dir.
// It is idempotent.
func sqliteIndexes(ctx context.Context, dir, db string, add bool) error {
	sdb, err := openSQLite(dir, db, "&_pragma=journal_mode(wal)&_pragma=synchronous(full)")
	if err != nil {
		return fmt.Errorf("sqlite indexes of %s: %w", db, err)
	}
	defer sdb.Close()
	tables, err := sqliteTables(ctx, sdb)
	if err != nil {
		return fmt.Errorf("sqlite indexes of %s: %w", db, err)
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s)`, quoteIdent(t+"_contigo_id"), quoteIdent(t), idExpr)
		if !add {
			q = fmt.Sprintf(`DROP INDEX IF EXISTS %s`, quoteIdent(t+"_contigo_id"))
		}
		if _, err := sdb.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite indexes of %s: table %s: %w", db, t, err)
		}
	}
	return nil
}

func sqliteTables(ctx context.Context, sdb *sql.DB) ([]string, error) {
	rows, err := sdb.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// openSQLite opens the SQLite file of database db under dir (FerretDB's
// SQLite backend: one file per database), waiting up to 10 s for a lock,
// with more URI parameters if any ("&_pragma=...").
func openSQLite(dir, db, params string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(dir, db+".sqlite"))+"?_pragma=busy_timeout(10000)"+params)
}

// sqliteTable returns the table that holds collection coll in sdb.
func sqliteTable(ctx context.Context, sdb *sql.DB, coll string) (string, error) {
	var table string
	if err := sdb.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`, coll).Scan(&table); err != nil {
		return "", fmt.Errorf("find the table of %s: %w", coll, err)
	}
	return table, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ExplainIDQuery returns SQLite's plan for the query FerretDB runs to find
// a document by _id in collection coll of database db under dir, for tests
// that check the index is used.
func ExplainIDQuery(ctx context.Context, dir, db, coll string) (string, error) {
	sdb, err := openSQLite(dir, db, "")
	if err != nil {
		return "", err
	}
	defer sdb.Close()
	table, err := sqliteTable(ctx, sdb, coll)
	if err != nil {
		return "", err
	}
	rows, err := sdb.QueryContext(ctx, fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %s WHERE %s = ?`, quoteIdent(table), idExpr), `"x"`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
}
