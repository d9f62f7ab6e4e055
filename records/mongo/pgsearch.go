package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contigo/records"
)

// pgHeads reads the heads of Patient searches straight from PostgreSQL on
// FerretDB-PostgreSQL (when Config.PostgreSQLURL is given), in one
// statement per search.
//
// Why: FerretDB v1.24 pushes down only a top-level equality (never $in or
// $or), so a search whose condition has several values (the candidate
// search of $match: 20 to 30 blocking keys) is one FerretDB query per
// value (headFilters), and FerretDB decodes every document it reads from
// its JSON form (sjson) and re-encodes it as BSON: at 100,000 persons that
// was most of a $match (measured in docs/architecture-notes.md, "Storage").
// Here one statement asks for all values at once (a UNION ALL of
// `_jsonb->'idx' @> v`), which PostgreSQL serves from the GIN index
// postgresIndexes adds (a bitmap scan per value; TestPostgresHeadSearch checks
// the plan), and returns only the current Patient of each head, a string
// field of the document.
//
// It reads the same committed rows FerretDB would, with the same read
// committed isolation, and the filter only narrows: the store checks every
// condition again on the decoded Patient, as on every engine. It depends
// on FerretDB v1's storage (documents in the _jsonb column, strings as
// JSON strings, tables named in _ferretdb_database_metadata), as
// pgindex.go does; TestPostgresHeadSearch compares it with FerretDB's own
// answer.
type pgHeads struct {
	pool   *pgxpool.Pool
	tables map[records.Country]string // the persons table of each country, schema-qualified and quoted
	alerts map[records.Country]string // the alerts table of each country, likewise (pgalerts.go)
	counts map[records.Country]string // the alert counts table of each country, likewise (pgalertcounts.go)
	// commits holds the commits table of each country, likewise (pgtypes.go)
	commits map[records.Country]string
	// digests holds the indicator digests table of each country, likewise (pgdigests.go)
	digests map[records.Country]string
	// terms holds the Patient terms table of each country, likewise (pgpatientterms.go)
	terms map[records.Country]string
	// termCounts holds the table of the number of Patients per term of each country, likewise
	termCounts map[records.Country]string
}

// openPGHeads connects to the PostgreSQL database at pgURL and finds the
// persons table of each country's database (dbName).
func openPGHeads(ctx context.Context, pgURL string, countries []records.Country, dbName func(records.Country) string) (*pgHeads, error) {
	cfg, err := pgxpool.ParseConfig(pgURL)
	if err != nil {
		return nil, fmt.Errorf("postgresql heads: %w", err)
	}
	cfg.MaxConns = parallelFilters
	// Each statement is planned with its values (an unnamed statement): a
	// cached generic plan cannot know how few heads a key selects and
	// reads the whole table. The setting is a second guard, for any
	// prepared statement.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	// A search reads a few hundred rows by index: starting parallel
	// workers for it costs more than it saves (measured: 384 ms instead of
	// tens at 100,000 persons on a busy machine).
	cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	// The tables are read from memory or SSD: at the default
	// random_page_cost (4) the planner prefers reading the whole alerts
	// table and opening every document's JSON over a bitmap scan of an
	// alert key's btree (measured: 47 ms against 1.5 ms for the total of one
	// severity at 10,000 persons). 1.1 is PostgreSQL's advice for such
	// storage (https://www.postgresql.org/docs/15/runtime-config-query.html#GUC-RANDOM-PAGE-COST).
	cfg.ConnConfig.RuntimeParams["random_page_cost"] = "1.1"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgresql heads: %w", err)
	}
	h := &pgHeads{pool: pool, tables: map[records.Country]string{}, alerts: map[records.Country]string{}, counts: map[records.Country]string{}, digests: map[records.Country]string{},
		commits: map[records.Country]string{}, terms: map[records.Country]string{}, termCounts: map[records.Country]string{}}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgresql heads: connect: %w", err)
	}
	defer conn.Release()
	for _, cc := range countries {
		db := dbName(cc)
		tables, err := pgTables(ctx, conn.Conn(), db)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgresql heads of %s: %w", db, err)
		}
		t, ok := tables[personsColl]
		if !ok {
			pool.Close()
			return nil, fmt.Errorf("postgresql heads of %s: no table for collection %s", db, personsColl)
		}
		h.tables[cc] = pgx.Identifier{db, t}.Sanitize()
		h.alerts[cc] = alertsTableName(db, tables)
		h.counts[cc] = pgx.Identifier{db, pgAlertCounts}.Sanitize()
		h.terms[cc] = pgx.Identifier{db, pgPatientTerms}.Sanitize()
		h.termCounts[cc] = pgx.Identifier{db, pgPatientTermCounts}.Sanitize()
		if t, ok := tables[digestColl]; ok {
			h.digests[cc] = pgx.Identifier{db, t}.Sanitize()
		}
		if t, ok := tables[commitsColl]; ok {
			h.commits[cc] = pgx.Identifier{db, t}.Sanitize()
		}
	}
	return h, nil
}

// close closes the connections.
func (h *pgHeads) close() { h.pool.Close() }

// headSQL returns the statement of patients on table for n arguments:
// the _id and current Patient of the heads whose idx holds every JSON
// string of the JSON array $i, for each i from 1 to n, as a UNION ALL of one
// containment each (a head that several select comes several times). Each
// branch is planned alone, and PostgreSQL serves a containment from the GIN
// index as it does FerretDB's own lookups, intersecting the posting lists
// of an array's terms; an OR of them all, planned as one condition, adds up
// the GIN scans' estimated costs and at 100,000 heads reads the table
// instead (and an @> ANY(array) is never served by a GIN index).
func headSQL(table string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, `SELECT _jsonb->>'_id', _jsonb->>'patient' FROM %s WHERE _jsonb->'idx' @> $%d::jsonb`, table, i+1)
	}
	return b.String()
}

// jsonArgs returns the arguments of headSQL for the terms every head
// holds (required) and the terms of which it holds one (anyOf, or nil):
// one JSON array of idx entries per term of anyOf, each with the required
// ones, or the required ones alone.
func jsonArgs(required, anyOf []string) []any {
	entries := func(terms ...string) string {
		out := make([]string, 0, len(required)+len(terms))
		for _, t := range append(slices.Clone(required), terms...) {
			out = append(out, "Patient|"+t)
		}
		b, _ := json.Marshal(out) // strings always marshal
		return string(b)
	}
	if anyOf == nil {
		return []any{entries()}
	}
	out := make([]any, len(anyOf))
	for i, t := range anyOf {
		out[i] = entries(t)
	}
	return out
}

// hosts reports whether the persons table of country cc is known.
func (h *pgHeads) hosts(cc records.Country) bool {
	_, ok := h.tables[cc]
	return ok
}

// patients calls fn with the current Patient (resourceDoc JSON) of every
// head of country cc whose idx holds every term of required and one of
// anyOf (when not nil), each head once (in the order of anyOf).
func (h *pgHeads) patients(ctx context.Context, cc records.Country, required, anyOf []string, fn func(string)) error {
	args := jsonArgs(required, anyOf)
	rows, err := h.pool.Query(ctx, headSQL(h.tables[cc], len(args)), args...)
	if err != nil {
		return fmt.Errorf("postgresql heads: %w", pgErr(err))
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id, patient *string
		if err := rows.Scan(&id, &patient); err != nil {
			return fmt.Errorf("postgresql heads: %w", err)
		}
		if id == nil || seen[*id] {
			continue
		}
		seen[*id] = true
		if patient != nil && *patient != "" {
			fn(*patient)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgresql heads: %w", pgErr(err))
	}
	return nil
}

// pgErr marks an error of PostgreSQL other than the end of the request's
// context as the database being unavailable, as mapErr does for the
// MongoDB driver's.
func pgErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", records.ErrUnavailable, err)
}

// explain returns PostgreSQL's plan of the statement of patients; with
// noSeqScan, as planned with sequential scans disabled (on a small table
// the planner reads the table, rightly, and the test wants to know whether
// the index can serve the statement).
func (h *pgHeads) explain(ctx context.Context, cc records.Country, required, anyOf []string, noSeqScan bool) (string, error) {
	args := jsonArgs(required, anyOf)
	return h.explainSQL(ctx, headSQL(h.tables[cc], len(args)), args, noSeqScan)
}

// pgTerms returns the terms of Patient query q that every match holds
// (required) and the group of which it holds one (anyOf), as
// requiredAndAnyOf; ok is false if q has no term group (then the search
// reads every head, as on FerretDB).
func pgTerms(q records.Query) (required, anyOf []string, ok bool) {
	required, anyOf = requiredAndAnyOf(queryTerms(q))
	return required, anyOf, len(required) > 0 || anyOf != nil
}

// ExplainHeadSearch returns PostgreSQL's plan of the statement a Patient
// search of q in country cc runs on FerretDB-PostgreSQL, for tests that
// check an index serves it (with noSeqScan, planned with sequential scans
// disabled: whether the index can serve it at all); an error if the store
// does not read heads from PostgreSQL or q has no equality condition.
func (s *Store) ExplainHeadSearch(ctx context.Context, cc records.Country, q records.Query, noSeqScan bool) (string, error) {
	required, anyOf, ok := pgTerms(q)
	if s.pg == nil || !ok {
		return "", fmt.Errorf("explain: the store does not read Patient heads from PostgreSQL for this query")
	}
	return s.pg.explain(ctx, cc, required, anyOf, noSeqScan)
}
