package mongo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// liteFiles holds the embedded engine's SQLite files opened for direct
// reads (lite.go), one per database, and the tables of their collections,
// from the first read until the store closes: a read by ids on a request's
// path (auditDocsByID) then costs its query, not opening the file and
// looking the table up. An idle connection holds no read transaction, so
// it keeps no checkpoint from copying the write-ahead log back.
type liteFiles struct {
	mu     sync.Mutex
	closed bool
	dbs    map[string]*sql.DB
	tables map[[2]string]string // database, collection -> table
}

// table returns the open file of database db under dir and the table of
// collection coll in it.
func (f *liteFiles) table(ctx context.Context, dir, db, coll string) (*sql.DB, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, "", errors.New("the store is closed")
	}
	sdb := f.dbs[db]
	if sdb == nil {
		var err error
		if sdb, err = openSQLite(dir, db, ""); err != nil {
			return nil, "", err
		}
		if f.dbs == nil {
			f.dbs, f.tables = map[string]*sql.DB{}, map[[2]string]string{}
		}
		f.dbs[db] = sdb
	}
	t, ok := f.tables[[2]string{db, coll}]
	if !ok {
		var err error
		if t, err = sqliteTable(ctx, sdb, coll); err != nil {
			return nil, "", err
		}
		f.tables[[2]string{db, coll}] = t // a collection keeps its table for good
	}
	return sdb, t, nil
}

// close closes the files; later reads fail.
func (f *liteFiles) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	var errs []error
	for db, sdb := range f.dbs {
		if err := sdb.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", db, err))
		}
	}
	f.dbs = nil
	return errors.Join(errs...)
}
