package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgIndexed lists, per collection, the top-level fields whose equality
// filters the store pushes down to FerretDB on PostgreSQL, beside _id
// (which every collection gets).
//
// FerretDB v1.24 turns a top-level equality {f: v} into the SQL condition
// _jsonb->'f' @> 'v' (internal/backends/postgresql/query.go, filterEqual).
// The btree indexes it creates for createIndexes (and its own unique index
// on _id) are on _jsonb->'f' and cannot serve @>, so every lookup, even by
// _id, reads the whole table. A GIN index with jsonb_path_ops on exactly
// the expression _jsonb->'f' does serve @> (PostgreSQL 15, "GIN Indexes",
// https://www.postgresql.org/docs/15/gin-builtin-opclasses.html and
// https://www.postgresql.org/docs/15/datatype-json.html#JSON-INDEXING), for
// scalars and for membership in arrays (idx, fidx) alike. The planner
// matches FerretDB's parameterised key (_jsonb->$1) because the statement
// is planned with its parameter values (custom plans); TestPostgresIndexes
// checks the plan.
//
// The indexes are built without GIN's pending list (fastupdate = off): with
// it, new entries wait in an unsorted list that every search reads whole
// until a vacuum or 4 MB of entries flush it, and at 100,000 persons each
// blocking key's lookup read ~230 pages of it for one or two rows (EXPLAIN
// ANALYZE, BUFFERS) instead of a few. A write then updates the index at
// once, which costs the write (a head holds ~25 idx entries) what it saves
// every read (https://www.postgresql.org/docs/15/gin-implementation.html#GIN-FAST-UPDATE).
// The audit is searched by patient as two equalities, on person and on
// persons (Store.Audits).
var pgIndexed = map[string][]string{
	personsColl:   {"idx", "types"},
	nutritionColl: {"fidx"},
	auditColl:     {"person", "persons"},
	alertsColl:    {"fidx", "p"},
}

// postgresIndexes adds the GIN indexes of pgIndexed (and of _id, for every
// collection) to the tables of database db in the PostgreSQL database at
// pgURL, the one behind FerretDB. FerretDB keeps each MongoDB database in a
// schema of the same name and maps collections to tables in that schema's
// _ferretdb_database_metadata table. It is idempotent, and safe when
// several replicas start at once: CREATE INDEX IF NOT EXISTS, with the
// error of a concurrent creation of the same index ignored.
func postgresIndexes(ctx context.Context, pgURL, db string) error {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return fmt.Errorf("postgresql indexes of %s: connect: %w", db, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := pgTables(ctx, conn, db)
	if err != nil {
		return fmt.Errorf("postgresql indexes of %s: %w", db, err)
	}
	pending, err := pendingListIndexes(ctx, conn, db)
	if err != nil {
		return fmt.Errorf("postgresql indexes of %s: %w", db, err)
	}
	if table, ok := tables[alertsColl]; ok {
		// The btree indexes of the alert list (pgalerts.go), on the
		// expressions its statements filter and order by, byte by byte.
		for _, ix := range pgAlertIndexes() {
			q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s)`, pgx.Identifier{table + ix.suffix}.Sanitize(),
				pgx.Identifier{db, table}.Sanitize(), ix.exprs)
			if _, err := conn.Exec(ctx, q); err != nil && !concurrentCreate(err) {
				return fmt.Errorf("postgresql indexes of %s: %s%s: %w", db, alertsColl, ix.suffix, err)
			}
		}
		if err := ensureAlertCounts(ctx, conn, db, table); err != nil {
			return fmt.Errorf("postgresql indexes of %s: %w", db, err)
		}
	}
	if table, ok := tables[personsColl]; ok {
		if err := ensurePatientTerms(ctx, conn, db, table); err != nil {
			return fmt.Errorf("postgresql indexes of %s: %w", db, err)
		}
	}
	if table, ok := tables[digestColl]; ok {
		// The digests written since a time (pgdigests.go, readDigestsSince).
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s ((_jsonb -> 't'))`, pgx.Identifier{table + "_contigo_t"}.Sanitize(),
			pgx.Identifier{db, table}.Sanitize())
		if _, err := conn.Exec(ctx, q); err != nil && !concurrentCreate(err) {
			return fmt.Errorf("postgresql indexes of %s: %s.t: %w", db, digestColl, err)
		}
	}
	for coll, table := range tables {
		for _, field := range append([]string{"_id"}, pgIndexed[coll]...) {
			name := pgx.Identifier{table + "_contigo_" + field}.Sanitize()
			q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s USING gin ((_jsonb -> %s) jsonb_path_ops) WITH (fastupdate = off)`,
				name, pgx.Identifier{db, table}.Sanitize(), quoteLiteral(field))
			if _, err := conn.Exec(ctx, q); err != nil && !concurrentCreate(err) {
				return fmt.Errorf("postgresql indexes of %s: %s.%s: %w", db, coll, field, err)
			}
			if !pending[table+"_contigo_"+field] {
				continue
			}
			// An index an earlier version created with the pending list.
			qualified := pgx.Identifier{db, table + "_contigo_" + field}.Sanitize()
			if _, err := conn.Exec(ctx, `ALTER INDEX `+qualified+` SET (fastupdate = off)`); err != nil {
				return fmt.Errorf("postgresql indexes of %s: %s.%s: %w", db, coll, field, err)
			}
			if _, err := conn.Exec(ctx, `SELECT gin_clean_pending_list($1::regclass)`, qualified); err != nil {
				return fmt.Errorf("postgresql indexes of %s: %s.%s: %w", db, coll, field, err)
			}
		}
	}
	return nil
}

// pendingListIndexes returns the names of the indexes in schema db that
// keep GIN's pending list (not created or altered with fastupdate = off),
// so that a start alters and cleans only those an earlier version made.
func pendingListIndexes(ctx context.Context, conn *pgx.Conn, db string) (map[string]bool, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'i' AND NOT 'fastupdate=off' = ANY(coalesce(c.reloptions, '{}'))`, db)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list indexes: %w", err)
		}
		out[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	return out, nil
}

// DropPostgresIndexes drops the indexes postgresIndexes adds to database db,
// to measure what they are worth.
func DropPostgresIndexes(ctx context.Context, pgURL, db string) error {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return fmt.Errorf("drop postgresql indexes of %s: connect: %w", db, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := pgTables(ctx, conn, db)
	if err != nil {
		return fmt.Errorf("drop postgresql indexes of %s: %w", db, err)
	}
	if table, ok := tables[alertsColl]; ok {
		for _, ix := range pgAlertIndexes() {
			if _, err := conn.Exec(ctx, `DROP INDEX IF EXISTS `+pgx.Identifier{db, table + ix.suffix}.Sanitize()); err != nil {
				return fmt.Errorf("drop postgresql indexes of %s: %w", db, err)
			}
		}
	}
	if table, ok := tables[alertsColl]; ok {
		if err := dropAlertCounts(ctx, conn, db, table); err != nil {
			return fmt.Errorf("drop postgresql indexes of %s: %w", db, err)
		}
	}
	if table, ok := tables[personsColl]; ok {
		if err := dropPatientTerms(ctx, conn, db, table); err != nil {
			return fmt.Errorf("drop postgresql indexes of %s: %w", db, err)
		}
	}
	if table, ok := tables[digestColl]; ok {
		if _, err := conn.Exec(ctx, `DROP INDEX IF EXISTS `+pgx.Identifier{db, table + "_contigo_t"}.Sanitize()); err != nil {
			return fmt.Errorf("drop postgresql indexes of %s: %w", db, err)
		}
	}
	for coll, table := range tables {
		for _, field := range append([]string{"_id"}, pgIndexed[coll]...) {
			q := `DROP INDEX IF EXISTS ` + pgx.Identifier{db, table + "_contigo_" + field}.Sanitize()
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("drop postgresql indexes of %s: %w", db, err)
			}
		}
	}
	return nil
}

// pgTables maps the collections of database db that the store uses to
// their PostgreSQL tables.
func pgTables(ctx context.Context, conn *pgx.Conn, db string) (map[string]string, error) {
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT _jsonb->>'_id', _jsonb->>'table' FROM %s`,
		pgx.Identifier{db, "_ferretdb_database_metadata"}.Sanitize()))
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var coll, table string
		if err := rows.Scan(&coll, &table); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if slices.Contains(storeCollections, coll) {
			out[coll] = table
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

// concurrentCreate reports whether err is PostgreSQL's answer to two
// sessions creating the same index at once (a unique violation in the
// catalog, or the relation existing after all).
func concurrentCreate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07")
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := range len(s) {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// ExplainPostgreSQL returns PostgreSQL's plan for the query FerretDB runs
// for the filter {field: value} on collection coll of database db, with
// the statement planned as FerretDB's are (parameters bound), for tests
// that check an index is used.
func ExplainPostgreSQL(ctx context.Context, pgURL, db, coll, field, value string) (string, error) {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return "", fmt.Errorf("explain: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := pgTables(ctx, conn, db)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	table, ok := tables[coll]
	if !ok {
		return "", fmt.Errorf("explain: no table for collection %s", coll)
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`EXPLAIN SELECT _jsonb FROM %s WHERE _jsonb->$1 @> $2`,
		pgx.Identifier{db, table}.Sanitize()), field, fmt.Sprintf("%q", value))
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	return planOf(rows)
}

// planOf reads the lines of an EXPLAIN answer into one text.
func planOf(rows pgx.Rows) (string, error) {
	defer rows.Close()
	var plan string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
		plan += line + "\n"
	}
	return plan, rows.Err()
}
