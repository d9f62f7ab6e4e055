package mongo_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// TestPostgresIndexesLeavePendingList checks that a start turns GIN's
// pending list off on an index an earlier version created with it (the
// start alters only such indexes), and leaves it off.
func TestPostgresIndexesLeavePendingList(t *testing.T) {
	s := postgresStore(t)
	ctx := t.Context()
	db := s.DatabaseName("CO")
	conn, err := pgx.Connect(ctx, mongotest.PostgreSQLURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var name string
	if err := conn.QueryRow(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'i' AND c.relname LIKE '%\_contigo\_idx'`, db).Scan(&name); err != nil {
		t.Fatal(err)
	}
	options := func() []string {
		var opts []string
		if err := conn.QueryRow(ctx, `SELECT coalesce(c.reloptions, '{}') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = $2`, db, name).Scan(&opts); err != nil {
			t.Fatal(err)
		}
		return opts
	}
	if _, err := conn.Exec(ctx, `ALTER INDEX `+pgx.Identifier{db, name}.Sanitize()+` SET (fastupdate = on)`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := recmongo.PostgresIndexes(ctx, mongotest.PostgreSQLURL(), db); err != nil {
			t.Fatal(err)
		}
		if opts := options(); len(opts) != 1 || opts[0] != "fastupdate=off" {
			t.Fatalf("%s: options %q, want fastupdate=off", name, opts)
		}
	}
}
