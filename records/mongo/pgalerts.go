package mongo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"contigo/fhir"
	"contigo/records"
)

// The alert list on FerretDB-PostgreSQL reads the alert documents
// (alerts.go) straight from PostgreSQL, as pgHeads does the Patient heads:
// FerretDB v1.24 pushes down one top-level equality and neither the sort
// nor the limit, so through it a page would decode every alert of the
// country. Here one statement walks the btree index on the sort key
// (pgAlertSortIndex) from the cursor, keeps the rows whose fidx holds
// every equality (the GIN index on fidx when an equality is selective)
// and stops after count+1 rows; the Total is read from the counts a
// trigger keeps (pgalertcounts.go) for every alert and for one value of
// one key, and counts the same condition otherwise. The conditions compare
// text with COLLATE "C", byte by byte, as records.Match and
// records.Paginate do.

// pgAlertSort is the sort key of an alert document in SQL: the index
// pgAlertSortIndex is on exactly these expressions.
const pgAlertSort = `(_jsonb->>'s') COLLATE "C", (_jsonb->>'_id') COLLATE "C"`

// pgAlertSortIndexExprs are the index elements of pgAlertSortIndex, the
// expressions of pgAlertSort.
const pgAlertSortIndexExprs = `((_jsonb->>'s') COLLATE "C"), ((_jsonb->>'_id') COLLATE "C")`

// pgAlertSortIndex is the suffix of the name of the btree index on
// pgAlertSort of the alerts table (pgindex.go).
const pgAlertSortIndex = "_contigo_sort"

// pgAlertIndex is a btree index of the alerts table: the suffix of its
// name and its elements.
type pgAlertIndex struct{ suffix, exprs string }

// pgAlertIndexes returns the btree indexes of the alerts table: on the
// sort key (pgAlertSortIndex), and on each scalar key (alertScalarKeys)
// followed by the sort key. An equality on one such key is then read in
// the list's order from its index, and a total counts index entries: with
// no condition left to check on the row, PostgreSQL's bitmap scan skips
// the pages the visibility map marks all-visible instead of reading each
// matching document (and its TOASTed JSON) as a containment on fidx must.
func pgAlertIndexes() []pgAlertIndex {
	out := []pgAlertIndex{{pgAlertSortIndex, pgAlertSortIndexExprs}}
	for _, k := range alertScalarKeys {
		out = append(out, pgAlertIndex{"_contigo_k_" + strings.TrimPrefix(k, "alert-"), "(" + pgAlertKey(k) + "), " + pgAlertSortIndexExprs})
	}
	return out
}

// pgAlertKey is the SQL expression of scalar key k of an alert document
// (alertDoc.Keys), as pgAlertIndexes indexes it.
func pgAlertKey(k string) string { return `(_jsonb->'k'->>` + quoteLiteral(k) + `) COLLATE "C"` }

// alertsTable returns the quoted alerts table of country cc, "" if unknown.
func (h *pgHeads) alertsTable(cc records.Country) string { return h.alerts[cc] }

// alertSQL returns the WHERE clause of aq (without the cursor; "TRUE" if
// none) and its arguments, numbered from $1.
func alertSQL(aq alertQuery) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	ops := map[records.Op]string{records.OpGe: ">=", records.OpGt: ">", records.OpLe: "<=", records.OpLt: "<"}
	var and []string
	for _, c := range aq.conds {
		if c.Op == records.OpEq && slices.Contains(alertScalarKeys, c.Key) {
			// One value as a plain equality on the index's leading
			// column, the form TestPostgresAlertPlan checks.
			if len(c.Values) == 1 {
				and = append(and, pgAlertKey(c.Key)+" = "+arg(c.Values[0]))
			} else {
				and = append(and, pgAlertKey(c.Key)+" = ANY("+arg(c.Values)+"::text[])")
			}
			continue
		}
		var or []string
		for _, v := range c.Values {
			switch {
			case c.Op == records.OpEq:
				b, _ := json.Marshal(c.Key + "|" + v) // a string always marshals
				or = append(or, `_jsonb->'fidx' @> `+arg(string(b))+`::jsonb`)
			case c.Op == records.OpPrefix:
				or = append(or, `EXISTS (SELECT 1 FROM jsonb_array_elements_text(_jsonb->'fidx') e(v) WHERE starts_with(e.v, `+arg(c.Key+"|"+v)+`))`)
			case c.Key == fhir.KeyAlertCreated:
				or = append(or, fmt.Sprintf(`(_jsonb->>'%s') COLLATE "C" %s %s`, createdField(c.Op), ops[c.Op], arg(v)))
			default: // a range on a key of alertDoc.Keys (alertQueryOf)
				or = append(or, fmt.Sprintf(`%s %s %s`, pgAlertKey(c.Key), ops[c.Op], arg(v)))
			}
		}
		and = append(and, "("+strings.Join(or, " OR ")+")")
	}
	if len(and) == 0 {
		return "TRUE", nil
	}
	return strings.Join(and, " AND "), args
}

// alertPageSQL returns the statement of one page of aq on table and its
// arguments: the sort value, _id and Flag of count+1 alerts after the
// cursor, in order.
func alertPageSQL(table string, aq alertQuery) (string, []any) {
	where, args := alertSQL(aq)
	if aq.after != nil {
		sv, id := aq.cursorOf()
		args = append(args, sv, id)
		where += fmt.Sprintf(` AND (%s) > ($%d, $%d)`, pgAlertSort, len(args)-1, len(args))
	}
	args = append(args, aq.size+1)
	return fmt.Sprintf(`SELECT coalesce(_jsonb->>'s', ''), _jsonb->>'_id', _jsonb->>'f' FROM %s WHERE %s ORDER BY %s LIMIT $%d`,
		table, where, pgAlertSort, len(args)), args
}

// searchAlerts answers aq in country cc: the page, then its Total, each
// one statement.
func (h *pgHeads) searchAlerts(ctx context.Context, cc records.Country, aq alertQuery) (records.Page, error) {
	table := h.alerts[cc]
	q, args := alertPageSQL(table, aq)
	rows, err := h.pool.Query(ctx, q, args...)
	if err != nil {
		return records.Page{}, fmt.Errorf("postgresql alerts: %w", pgErr(err))
	}
	var out []alertRow
	for rows.Next() {
		var r alertRow
		var id, flag *string
		if err := rows.Scan(&r.sort, &id, &flag); err != nil {
			rows.Close()
			return records.Page{}, fmt.Errorf("postgresql alerts: %w", err)
		}
		if id == nil || flag == nil {
			continue
		}
		r.id, r.flag = *id, *flag
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return records.Page{}, fmt.Errorf("postgresql alerts: %w", pgErr(err))
	}
	total, err := h.countAlerts(ctx, cc, aq)
	if err != nil {
		return records.Page{}, fmt.Errorf("postgresql alerts: %w", err)
	}
	return alertPage(out, aq.size, total)
}

// ExplainAlertSearch returns PostgreSQL's plans of the two statements
// (page, then total: from the counts or a count) the alert search of q in country cc runs on
// FerretDB-PostgreSQL, for tests that check the indexes serve them (with
// noSeqScan, planned with sequential scans disabled); an error if the
// store does not read alerts from PostgreSQL or the alert documents
// cannot answer q.
func (s *Store) ExplainAlertSearch(ctx context.Context, cc records.Country, q records.Query, noSeqScan bool) (string, string, error) {
	aq, ok, err := alertQueryOf(q)
	if err != nil || !ok || s.pg == nil || s.pg.alertsTable(cc) == "" {
		return "", "", fmt.Errorf("explain: the store does not read alerts from PostgreSQL for this query (%v)", err)
	}
	table := s.pg.alertsTable(cc)
	q1, args1 := alertPageSQL(table, aq)
	q2, args2, _ := s.pg.countStatement(cc, aq)
	var plans []string
	for _, st := range []struct {
		q    string
		args []any
	}{{q1, args1}, {q2, args2}} {
		plan, err := s.pg.explainSQL(ctx, st.q, st.args, noSeqScan)
		if err != nil {
			return "", "", err
		}
		plans = append(plans, plan)
	}
	return plans[0], plans[1], nil
}

// explainSQL returns PostgreSQL's plan of statement q with args.
func (h *pgHeads) explainSQL(ctx context.Context, q string, args []any, noSeqScan bool) (string, error) {
	tx, err := h.pool.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if noSeqScan {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+q, args...)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	return planOf(rows)
}

// alertsTableName returns the quoted alerts table of database db among
// tables (pgTables), "" if it has none.
func alertsTableName(db string, tables map[string]string) string {
	t, ok := tables[alertsColl]
	if !ok {
		return ""
	}
	return pgx.Identifier{db, t}.Sanitize()
}
