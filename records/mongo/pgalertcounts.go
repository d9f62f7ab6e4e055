package mongo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"contigo/records"
)

// The total of the alert list on FerretDB-PostgreSQL. A page reads its 50
// rows from an index, but its total counted every matching alert: at
// 100,000 persons that count was half of the request and made it grow 1.9x
// from 10,000 persons. The totals of the two commonest lists, every alert
// and the alerts of one value of one scalar key (one area, one status...),
// are kept instead in the table contigo_alert_counts of the country's
// schema, one row per (alerts table, key, value) and one per table for
// every alert (key and value ""), by a trigger on the alerts table
// (pgAlertCountTrigger). The trigger runs in the transaction of the
// statement that inserts, replaces or deletes an alert document (a row
// trigger fired AFTER a statement is part of it, and its changes commit or
// roll back with it: PostgreSQL 15, "Overview of Trigger Behavior",
// https://www.postgresql.org/docs/15/trigger-definition.html, and
// INSERT ... ON CONFLICT DO UPDATE is atomic under concurrency,
// https://www.postgresql.org/docs/15/sql-insert.html#SQL-ON-CONFLICT), so
// a count changes exactly when the documents do, whichever replica or tool
// writes them (FerretDB turns each write into one such statement). Other
// lists (two areas, an area and a status, ranges) still count their rows.
//
// A count is used only while the trigger that keeps it exists under its
// current name, which holds a hash of the keys it counts: a start with
// other keys replaces the trigger and counts every alert again, under a
// lock that holds the table's writers meanwhile.

// pgAlertCounts is the table of the counts, in the country's schema.
const pgAlertCounts = "contigo_alert_counts"

// pgAlertCountTrigger is the name of the trigger (and of its function)
// that keeps the counts of alertScalarKeys.
var pgAlertCountTrigger = func() string {
	h := sha256.Sum256([]byte(strings.Join(alertScalarKeys, "\x00")))
	return "contigo_alert_count_" + hex.EncodeToString(h[:4])
}()

// pgAlertCountFunction is the trigger function: the alert documents a
// statement adds (NEW) count +1, those it takes away (OLD) -1, for every
// alert and for each scalar key (the trigger's arguments) the document
// holds; only rows whose count changes are written (a replacement that
// keeps its keys writes none), in key order, so that two writers lock the
// rows they share in the same order.
const pgAlertCountFunction = `CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
	nj jsonb;
	oj jsonb;
BEGIN
	IF TG_OP <> 'DELETE' THEN nj := NEW._jsonb; END IF;
	IF TG_OP <> 'INSERT' THEN oj := OLD._jsonb; END IF;
	INSERT INTO %[2]s AS c (tbl, k, v, n)
	SELECT TG_RELID, d.k, d.v, sum(d.n) FROM (
		SELECT ''::text AS k, ''::text AS v, 1 AS n WHERE nj IS NOT NULL
		UNION ALL SELECT '', '', -1 WHERE oj IS NOT NULL
		UNION ALL SELECT a.key, nj->'k'->>a.key, 1 FROM unnest(TG_ARGV) AS a(key) WHERE nj->'k'->>a.key IS NOT NULL
		UNION ALL SELECT a.key, oj->'k'->>a.key, -1 FROM unnest(TG_ARGV) AS a(key) WHERE oj->'k'->>a.key IS NOT NULL
	) d GROUP BY d.k, d.v HAVING sum(d.n) <> 0 ORDER BY d.k, d.v
	ON CONFLICT (tbl, k, v) DO UPDATE SET n = c.n + EXCLUDED.n;
	RETURN NULL;
END
$f$`

// pgAlertCountsLock is the advisory lock that one replica at a time holds
// while it sets the counts up.
const pgAlertCountsLock = 7_251_003

// ensureAlertCounts sets up the counts of alerts table table (unquoted) in
// schema db (ensureKept): the counts table, the trigger function, and,
// unless the trigger exists under its current name, the counts of every
// alert now and the trigger.
func ensureAlertCounts(ctx context.Context, conn *pgx.Conn, db, table string) error {
	alerts, counts := pgx.Identifier{db, table}.Sanitize(), pgx.Identifier{db, pgAlertCounts}.Sanitize()
	function := pgx.Identifier{db, pgAlertCountTrigger}.Sanitize()
	args := make([]string, len(alertScalarKeys))
	for i, k := range alertScalarKeys {
		args[i] = quoteLiteral(k)
	}
	return ensureKept(ctx, conn, alerts, pgKept{
		what:     "alert counts",
		lock:     pgAlertCountsLock,
		prefix:   "contigo_alert_count_",
		triggers: []string{pgAlertCountTrigger},
		prepare: []string{
			`CREATE TABLE IF NOT EXISTS ` + counts + ` (tbl oid NOT NULL, k text COLLATE "C" NOT NULL, v text COLLATE "C" NOT NULL,
			n bigint NOT NULL, PRIMARY KEY (tbl, k, v))`,
			fmt.Sprintf(pgAlertCountFunction, function, counts),
		},
		fill: []string{
			`DELETE FROM ` + counts + ` WHERE tbl = ` + quoteLiteral(alerts) + `::regclass`,
			`INSERT INTO ` + counts + ` (tbl, k, v, n)
			SELECT ` + quoteLiteral(alerts) + `::regclass, '', '', count(*) FROM ` + alerts + `
			UNION ALL
			SELECT ` + quoteLiteral(alerts) + `::regclass, a.key, _jsonb->'k'->>a.key, count(*)
				FROM ` + alerts + `, unnest(ARRAY[` + strings.Join(args, ", ") + `]) AS a(key)
				WHERE _jsonb->'k'->>a.key IS NOT NULL GROUP BY a.key, _jsonb->'k'->>a.key`,
		},
		create: []string{`CREATE TRIGGER ` + pgx.Identifier{pgAlertCountTrigger}.Sanitize() + ` AFTER INSERT OR UPDATE OR DELETE ON ` + alerts +
			` FOR EACH ROW EXECUTE FUNCTION ` + function + `(` + strings.Join(args, ", ") + `)`},
	})
}

// dropAlertCounts removes the trigger and the counts of alerts table
// table (unquoted) in schema db (DropPostgresIndexes).
func dropAlertCounts(ctx context.Context, conn *pgx.Conn, db, table string) error {
	return dropKept(ctx, conn, pgx.Identifier{db, table}.Sanitize(), pgAlertCountTrigger, pgx.Identifier{db, pgAlertCounts}.Sanitize())
}

// alertCountSQL returns the statement that reads the total of aq on alerts
// table table from counts (both quoted), and its arguments; ok is false
// when aq is not one the counts keep (they keep every alert, and one value
// of one scalar key). The statement returns no row when the trigger that
// keeps the counts is missing: the caller then counts the rows.
func alertCountSQL(table, counts string, aq alertQuery) (q string, args []any, ok bool) {
	k, v := "", ""
	switch {
	case len(aq.conds) == 0:
	case len(aq.conds) == 1 && aq.conds[0].Op == records.OpEq && len(aq.conds[0].Values) == 1 && slices.Contains(alertScalarKeys, aq.conds[0].Key):
		k, v = aq.conds[0].Key, aq.conds[0].Values[0]
	default:
		return "", nil, false
	}
	return `SELECT coalesce(kv.n, 0) FROM ` + counts + ` a LEFT JOIN ` + counts + ` kv ON kv.tbl = a.tbl AND kv.k = $2 AND kv.v = $3
		WHERE a.tbl = $1::regclass AND a.k = '' AND a.v = ''
		AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = a.tbl AND t.tgname = $4)`,
		[]any{table, k, v, pgAlertCountTrigger}, true
}

// countStatement returns the statement that reads the total of aq in
// country cc and its arguments: from the counts when they keep it (kept;
// the statement then finds no row, or no counts table, when they are not
// set up), else a count of the matching rows.
func (h *pgHeads) countStatement(cc records.Country, aq alertQuery) (q string, args []any, kept bool) {
	if q, args, ok := alertCountSQL(h.alerts[cc], h.counts[cc], aq); ok {
		return q, args, true
	}
	q, args = h.countRowsSQL(cc, aq)
	return q, args, false
}

// countRowsSQL returns the statement that counts the alerts of country cc
// matching aq, and its arguments.
func (h *pgHeads) countRowsSQL(cc records.Country, aq alertQuery) (string, []any) {
	where, args := alertSQL(aq)
	return `SELECT count(*) FROM ` + h.alerts[cc] + ` WHERE ` + where, args
}

// countAlerts returns the total of aq in country cc: from the counts when
// they keep it and are set up, else a count of the matching rows.
func (h *pgHeads) countAlerts(ctx context.Context, cc records.Country, aq alertQuery) (int64, error) {
	q, args, kept := h.countStatement(cc, aq)
	var total int64
	err := h.pool.QueryRow(ctx, q, args...).Scan(&total)
	var pe *pgconn.PgError
	if kept && (errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pe) && pe.Code == "42P01") { // no trigger, or no counts table yet
		q, args = h.countRowsSQL(cc, aq)
		err = h.pool.QueryRow(ctx, q, args...).Scan(&total)
	}
	if err != nil {
		return 0, fmt.Errorf("count: %w", pgErr(err))
	}
	return total, nil
}
