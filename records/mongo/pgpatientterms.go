package mongo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"contigo/records"
)

// Patient searches with large answers on FerretDB-PostgreSQL. The heads'
// GIN index (pgindex.go) finds the heads holding a term, but a search
// needs its total and its first page in id order: it read every matching
// head's document (TOASTed JSON) to check it and sort it, and `family=g`
// (one person in twelve) took 119-141 ms at 100,000 persons against 12 ms
// at 10,000.
//
// So the Patient terms of every head (its idx entries "Patient|<term>")
// are also kept as rows (term, id) of the table contigo_patient_terms in
// the country's schema, by a trigger on the persons table (ensureKept:
// the rows change in the transaction of the head's write). For a query
// whose terms say exactly which Patients match (exactTerms: equalities,
// and prefixes as long as a kept term), the matches are the ids holding a
// term of every group: the total is a count of index entries, and the
// page the first ids after the cursor in byte order (COLLATE "C", Go's
// order), read from the primary key's btree, with their Patients joined
// by _id, all in one statement (one snapshot). The Patients of the page
// are still decoded and checked (records.Match): a page that disagrees
// sends the search back to the general path.

// pgPatientTerms is the table of the terms, in the country's schema.
const pgPatientTerms = "contigo_patient_terms"

// pgPatientTermsTrigger is the name of the row trigger (and of its
// function) that keeps pgPatientTerms; a new version of what it keeps
// takes a new name, and a start then fills the tables again.
const pgPatientTermsTrigger = "contigo_patient_terms_v2"

// pgPatientTermCounts is the table of the number of Patients holding each
// term, in the country's schema: the total of a one-term search
// (`family=g`) is one row, not a count of its matches.
const pgPatientTermCounts = "contigo_patient_term_counts"

// pgTermCountTriggers are the statement triggers (INSERT, UPDATE, DELETE)
// that keep pgPatientTermCounts, with the function pgTermCountFunction
// (named pgPatientTermsTrigger + "_counts"). Statement triggers, over the
// rows a statement changed (transition tables): a row trigger made every
// document of a multi-document insert update the same count rows (one
// sex, one birth year) within one transaction, each update leaving a
// version the next had to step over, and seeding 10,000 persons in
// batches of 2,000 went from 6 s to 80 s.
var pgTermCountTriggers = map[string][2]string{ // name -> event, transition tables
	pgPatientTermsTrigger + "_counts_d": {"DELETE", "OLD TABLE AS o"},
	pgPatientTermsTrigger + "_counts_i": {"INSERT", "NEW TABLE AS n"},
	pgPatientTermsTrigger + "_counts_u": {"UPDATE", "OLD TABLE AS o NEW TABLE AS n"},
}

// pgTermCountFunction is the statement trigger function (%[1]s) on the
// counts table %[2]s: +1 per term of each document the statement added
// (n), -1 per term of each it took away (o), the sums that are not zero
// written in term order (two writers lock the count rows they share in
// the same order). A statement that keeps its documents' terms (a visit's)
// writes no row.
var pgTermCountFunction = `CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO %[2]s AS c (term, n)
		SELECT x.t, count(*) FROM n, LATERAL (` + fmt.Sprintf(pgTermsOf, "n._jsonb") + `) AS x(t) GROUP BY x.t ORDER BY x.t
		ON CONFLICT (term) DO UPDATE SET n = c.n + EXCLUDED.n;
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO %[2]s AS c (term, n)
		SELECT x.t, -count(*) FROM o, LATERAL (` + fmt.Sprintf(pgTermsOf, "o._jsonb") + `) AS x(t) GROUP BY x.t ORDER BY x.t
		ON CONFLICT (term) DO UPDATE SET n = c.n + EXCLUDED.n;
	ELSE
		INSERT INTO %[2]s AS c (term, n)
		SELECT d.t, sum(d.k) FROM (
			SELECT x.t, 1 FROM n, LATERAL (` + fmt.Sprintf(pgTermsOf, "n._jsonb") + `) AS x(t)
			UNION ALL
			SELECT x.t, -1 FROM o, LATERAL (` + fmt.Sprintf(pgTermsOf, "o._jsonb") + `) AS x(t)
		) AS d(t, k) GROUP BY d.t HAVING sum(d.k) <> 0 ORDER BY d.t
		ON CONFLICT (term) DO UPDATE SET n = c.n + EXCLUDED.n;
	END IF;
	RETURN NULL;
END
$f$`

// pgPatientTermsLock is the advisory lock that one replica at a time holds
// while it sets the terms up.
const pgPatientTermsLock = 7_251_004

// pgTermsOf is the statement that lists the Patient terms (without their
// "Patient|") of the head document %[1]s (a jsonb expression): idx is the
// sorted, distinct list a head holds (patientIdx, wantIdx).
const pgTermsOf = `SELECT substr(e.t, 9) FROM jsonb_array_elements_text(CASE jsonb_typeof(%[1]s->'idx') WHEN 'array' THEN %[1]s->'idx' ELSE '[]' END) AS e(t) WHERE starts_with(e.t, 'Patient|')`

// pgPatientTermsFunction is the trigger function: the terms the new
// document holds and the old did not are added for its _id, those the old
// held and the new does not are removed; a write that keeps the terms (as
// a visit's does) changes no row.
var pgPatientTermsFunction = `CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
	nt text[] := '{}';
	ot text[] := '{}';
BEGIN
	IF TG_OP <> 'DELETE' THEN nt := ARRAY(` + fmt.Sprintf(pgTermsOf, "NEW._jsonb") + `); END IF;
	IF TG_OP <> 'INSERT' THEN ot := ARRAY(` + fmt.Sprintf(pgTermsOf, "OLD._jsonb") + `); END IF;
	IF TG_OP = 'UPDATE' AND NEW._jsonb->>'_id' IS DISTINCT FROM OLD._jsonb->>'_id' THEN
		DELETE FROM %[2]s WHERE id = OLD._jsonb->>'_id';
		ot := '{}';
	ELSIF nt = ot THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		DELETE FROM %[2]s WHERE id = OLD._jsonb->>'_id' AND term = ANY(ot) AND NOT term = ANY(nt);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO %[2]s (term, id) SELECT t, NEW._jsonb->>'_id' FROM unnest(nt) AS u(t) WHERE NOT t = ANY(ot)
		ON CONFLICT DO NOTHING;
	END IF;
	RETURN NULL;
END
$f$`

// ensurePatientTerms sets up the terms of persons table table (unquoted)
// in schema db (ensureKept): the terms table, the trigger function, and,
// unless the trigger exists under its current name, the terms of every
// head now and the trigger.
func ensurePatientTerms(ctx context.Context, conn *pgx.Conn, db, table string) error {
	persons, terms := pgx.Identifier{db, table}.Sanitize(), pgx.Identifier{db, pgPatientTerms}.Sanitize()
	counts := pgx.Identifier{db, pgPatientTermCounts}.Sanitize()
	function := pgx.Identifier{db, pgPatientTermsTrigger}.Sanitize()
	countFunction := pgx.Identifier{db, pgPatientTermsTrigger + "_counts"}.Sanitize()
	k := pgKept{
		what:     "patient terms",
		lock:     pgPatientTermsLock,
		prefix:   "contigo_patient_terms_",
		triggers: []string{pgPatientTermsTrigger},
		prepare: []string{
			`CREATE TABLE IF NOT EXISTS ` + terms + ` (` + termsTable.cols + `, PRIMARY KEY (` + termsTable.key + `))`,
			`CREATE TABLE IF NOT EXISTS ` + counts + ` (` + countsTable.cols + `, PRIMARY KEY (` + countsTable.key + `))`,
			fmt.Sprintf(pgPatientTermsFunction, function, terms),
			fmt.Sprintf(pgTermCountFunction, countFunction, counts),
		},
		// The tables are built anew beside the old ones, their primary
		// keys after their rows, and swapped in at the end (fillSwap):
		// at 100,000 persons (3.1 million terms) an INSERT into the
		// indexed table, with ON CONFLICT, held the writers 20.3-20.8 s,
		// the rows then the keys 11.9-12.7 s. Other replicas' searches
		// read the old tables until the swap, then wait for the commit.
		fill: fillSwap(db, termsTable.from(
			// Distinct per head (a head's idx is distinct: patientIdx)
			// and ids unique (FerretDB's _id index): the key cannot fail
			// on a head written otherwise.
			`SELECT t.t, h._jsonb->>'_id' FROM `+persons+` h, LATERAL (SELECT DISTINCT * FROM (`+
				fmt.Sprintf(pgTermsOf, "h._jsonb")+`) AS d) AS t(t) WHERE h._jsonb->>'_id' IS NOT NULL`),
			countsTable.from(`SELECT term, count(*) FROM `+pgx.Identifier{db, pgPatientTerms + "_new"}.Sanitize()+` GROUP BY term`)),
		// A count of several terms' matches is an index-only scan once the
		// visibility map marks the table's pages all-visible; a fill
		// leaves them unmarked until autovacuum comes (at 10,000 persons,
		// counting 10,000 entries read 2,128 heap pages: 7.8 ms).
		settle: []string{`VACUUM (ANALYZE) ` + terms, `VACUUM (ANALYZE) ` + counts},
		create: []string{`CREATE TRIGGER ` + pgx.Identifier{pgPatientTermsTrigger}.Sanitize() + ` AFTER INSERT OR UPDATE OR DELETE ON ` + persons +
			` FOR EACH ROW EXECUTE FUNCTION ` + function + `()`},
	}
	for _, name := range slices.Sorted(maps.Keys(pgTermCountTriggers)) {
		k.triggers = append(k.triggers, name)
		t := pgTermCountTriggers[name]
		k.create = append(k.create, `CREATE TRIGGER `+pgx.Identifier{name}.Sanitize()+` AFTER `+t[0]+` ON `+persons+
			` REFERENCING `+t[1]+` FOR EACH STATEMENT EXECUTE FUNCTION `+countFunction+`()`)
	}
	return ensureKept(ctx, conn, persons, k)
}

// pgTable is a kept table: its name (in a country's schema), its column
// definitions and the columns of its primary key.
type pgTable struct{ name, cols, key string }

// The tables of the terms and of their counts.
var (
	termsTable  = pgTable{pgPatientTerms, `term text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL`, `term, id`}
	countsTable = pgTable{pgPatientTermCounts, `term text COLLATE "C" NOT NULL, n bigint NOT NULL`, `term`}
)

// pgTableFill is a kept table and the SELECT that fills it.
type pgTableFill struct {
	pgTable
	sel string
}

// from returns t filled by sel.
func (t pgTable) from(sel string) pgTableFill { return pgTableFill{t, sel} }

// fillSwap returns the statements that fill a new table for each of
// tables (its name + "_new", in schema db), in order, each from its
// SELECT and then given its primary key, and then drop the tables of those
// names and put the new ones, and their keys' indexes, in their place. A
// primary key built over the rows sorts them once instead of inserting
// each into a btree, and readers of the old tables wait only from the swap
// to the commit.
//
// The swap first locks every old table, in the reverse of the order given:
// a reader's statement locks the tables it names as it meets them (exactSQL
// names the counts, then the terms), and a swap that dropped the terms
// while such a reader held the counts and waited for the terms would
// deadlock with it (TestExactSearchDuringRefill).
func fillSwap(db string, tables ...pgTableFill) []string {
	steps := []string{`SET LOCAL maintenance_work_mem = '256MB'`}
	var old []string
	for _, t := range slices.Backward(tables) {
		old = append(old, pgx.Identifier{db, t.name}.Sanitize())
	}
	swap := []string{`LOCK TABLE ` + strings.Join(old, ", ") + ` IN ACCESS EXCLUSIVE MODE`}
	for _, t := range tables {
		table, fresh := pgx.Identifier{db, t.name}.Sanitize(), pgx.Identifier{db, t.name + "_new"}.Sanitize()
		steps = append(steps,
			`DROP TABLE IF EXISTS `+fresh,
			`CREATE TABLE `+fresh+` (`+t.cols+`)`,
			`INSERT INTO `+fresh+` `+t.sel,
			`ALTER TABLE `+fresh+` ADD CONSTRAINT `+pgx.Identifier{t.name + "_new_pkey"}.Sanitize()+` PRIMARY KEY (`+t.key+`)`)
		swap = append(swap,
			`DROP TABLE IF EXISTS `+table,
			`ALTER TABLE `+fresh+` RENAME TO `+pgx.Identifier{t.name}.Sanitize(),
			`ALTER INDEX `+pgx.Identifier{db, t.name + "_new_pkey"}.Sanitize()+` RENAME TO `+pgx.Identifier{t.name + "_pkey"}.Sanitize())
	}
	return append(steps, swap...)
}

// dropPatientTerms removes the trigger and the terms of persons table
// table (unquoted) in schema db (DropPostgresIndexes).
func dropPatientTerms(ctx context.Context, conn *pgx.Conn, db, table string) error {
	persons := pgx.Identifier{db, table}.Sanitize()
	for name := range pgTermCountTriggers {
		if err := dropKept(ctx, conn, persons, name); err != nil {
			return err
		}
	}
	return dropKept(ctx, conn, persons, pgPatientTermsTrigger,
		pgx.Identifier{db, pgPatientTerms}.Sanitize(), pgx.Identifier{db, pgPatientTermCounts}.Sanitize())
}

// exactPage is one page of an exact Patient search (exactSearch), read
// from the server's indexes.
type exactPage struct {
	total int64
	ids   []string // the page's ids, in order, one more than asked if there is a next page
	raws  []string // the current Patient (resourceDoc JSON) of each, "" if none
}

// exactSQL returns the statement of exactPatients on persons and terms
// (quoted) for groups of terms: $1 is the triggers' names, $2 the persons
// table, $3 the id after which the page starts, $4 its size, and $5... the
// terms of each group as a text array. The first row (id NULL) holds the
// total and whether the triggers exist (when one does not, the terms are
// not kept and the answer means nothing); the others the page. One term
// (`family=g`) has its total in the counts table (counts, quoted), and
// its page is one range of the terms' primary key, read from the cursor
// on, in order, without sorting the matches. Otherwise the matches are the ids of an INTERSECT of a range
// per group (a person holding several terms of one group is counted once:
// DISTINCT, or INTERSECT's set semantics), gathered once (a CTE read
// twice is materialized), counted, and sorted for the page.
func exactSQL(persons, terms, counts string, groups [][]string) string {
	var with, m, total, page string
	if len(groups) == 1 && len(groups[0]) == 1 {
		m = `SELECT id FROM ` + terms + ` WHERE term = ($5::text[])[1]`
		total = `coalesce((SELECT n FROM ` + counts + ` WHERE term = ($5::text[])[1]), 0)`
		page = m + ` AND id > $3 ORDER BY id LIMIT $4`
	} else {
		var b strings.Builder
		for i, g := range groups {
			if i > 0 {
				b.WriteString(" INTERSECT ")
			}
			distinct := ""
			if len(groups) == 1 && len(g) > 1 {
				distinct = "DISTINCT "
			}
			fmt.Fprintf(&b, `SELECT %sid FROM %s WHERE term = ANY($%d::text[])`, distinct, terms, i+5)
		}
		with, m = `WITH m AS (`+b.String()+`) `, `SELECT id FROM m`
		total = `(SELECT count(*) FROM m)`
		page = m + ` WHERE id > $3 ORDER BY id LIMIT $4`
	}
	return with + `SELECT NULL::text, NULL::text, ` + total + `,
			(SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = $2::regclass AND t.tgname::text = ANY($1::text[])) = cardinality($1::text[])
		UNION ALL
		SELECT p.id, coalesce(h._jsonb->>'patient', ''), NULL, NULL FROM (` + page + `) p
			LEFT JOIN ` + persons + ` h ON h._jsonb->'_id' = to_jsonb(p.id)`
}

// exactPatients reads the total of the Patients of cc holding a term of
// every group (each group a non-empty list of terms, without
// "Patient|"), and the first n+1 of them after id after in byte order;
// kept is false when the terms are not kept (no trigger yet, or no table).
func (h *pgHeads) exactPatients(ctx context.Context, cc records.Country, groups [][]string, after string, n int) (page exactPage, kept bool, err error) {
	persons, terms, counts := h.tables[cc], h.terms[cc], h.termCounts[cc]
	args := []any{patientTermsTriggers(), persons, after, n + 1}
	for _, g := range groups {
		args = append(args, g)
	}
	rows, err := h.pool.Query(ctx, exactSQL(persons, terms, counts, groups), args...)
	if err != nil {
		if missingTable(err) {
			return exactPage{}, false, nil
		}
		return exactPage{}, false, fmt.Errorf("postgresql patient terms: %w", pgErr(err))
	}
	defer rows.Close()
	type entry struct{ id, raw string }
	var found []entry
	counted := false
	for rows.Next() {
		var id, raw *string
		var total *int64
		var trigger *bool
		if err := rows.Scan(&id, &raw, &total, &trigger); err != nil {
			return exactPage{}, false, fmt.Errorf("postgresql patient terms: %w", err)
		}
		if id == nil {
			counted, kept, page.total = true, trigger != nil && *trigger, *total
			continue
		}
		found = append(found, entry{*id, *raw})
	}
	if err := rows.Err(); err != nil {
		if missingTable(err) {
			return exactPage{}, false, nil
		}
		return exactPage{}, false, fmt.Errorf("postgresql patient terms: %w", pgErr(err))
	}
	if !counted || !kept {
		return exactPage{}, false, nil
	}
	slices.SortFunc(found, func(a, b entry) int { return strings.Compare(a.id, b.id) })
	for _, r := range found {
		page.ids = append(page.ids, r.id)
		page.raws = append(page.raws, r.raw)
	}
	return page, true, nil
}

// patientTermsTriggers returns the names of every trigger that keeps the
// terms and their counts.
func patientTermsTriggers() []string {
	return append([]string{pgPatientTermsTrigger}, slices.Sorted(maps.Keys(pgTermCountTriggers))...)
}

// missingTable reports whether err is PostgreSQL's "undefined table" (the
// terms table of a data set no start has set up yet).
func missingTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}
