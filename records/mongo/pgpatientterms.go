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
		SELECT x.t, count(*) FROM n, LATERAL (` + termsOf("n._jsonb->'idx'") + `) AS x(t) GROUP BY x.t ORDER BY x.t
		ON CONFLICT (term) DO UPDATE SET n = c.n + EXCLUDED.n;
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO %[2]s AS c (term, n)
		SELECT x.t, -count(*) FROM o, LATERAL (` + termsOf("o._jsonb->'idx'") + `) AS x(t) GROUP BY x.t ORDER BY x.t
		ON CONFLICT (term) DO UPDATE SET n = c.n + EXCLUDED.n;
	ELSE
		INSERT INTO %[2]s AS c (term, n)
		SELECT d.t, sum(d.k) FROM (
			SELECT x.t, 1 FROM n, LATERAL (` + termsOf("n._jsonb->'idx'") + `) AS x(t)
			UNION ALL
			SELECT x.t, -1 FROM o, LATERAL (` + termsOf("o._jsonb->'idx'") + `) AS x(t)
		) AS d(t, k) GROUP BY d.t HAVING sum(d.k) <> 0 ORDER BY d.t
		ON CONFLICT (term) DO UPDATE SET n = c.n + EXCLUDED.n;
	END IF;
	RETURN NULL;
END
$f$`

// pgPatientTermsLock is the advisory lock that one replica at a time holds
// while it sets the terms up.
const pgPatientTermsLock = 7_251_004

// termsOf returns the statement that lists the Patient terms (without
// their "Patient|") of idx, a jsonb expression: the idx of a head
// document (doc->'idx'), the sorted, distinct list a head holds
// (patientIdx, wantIdx). A NULL or a non-array lists none.
func termsOf(idx string) string {
	return `SELECT substr(e.t, 9) FROM jsonb_array_elements_text(CASE jsonb_typeof(` + idx + `) WHEN 'array' THEN ` + idx +
		` ELSE '[]' END) AS e(t) WHERE starts_with(e.t, 'Patient|')`
}

// pgPatientTermsFunction is the trigger function: the terms the new
// document holds and the old did not are added for its _id, those the old
// held and the new does not are removed; a write that keeps the terms (as
// a visit's does) changes no row.
var pgPatientTermsFunction = `CREATE OR REPLACE FUNCTION %[1]s() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
	nt text[] := '{}';
	ot text[] := '{}';
BEGIN
	IF TG_OP <> 'DELETE' THEN nt := ARRAY(` + termsOf("NEW._jsonb->'idx'") + `); END IF;
	IF TG_OP <> 'INSERT' THEN ot := ARRAY(` + termsOf("OLD._jsonb->'idx'") + `); END IF;
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
	return ensureKept(ctx, conn, pgx.Identifier{db, table}.Sanitize(), patientTermsKept(db, table))
}

// patientTermsKept describes the terms of persons table table (unquoted)
// in schema db and their counts for ensureKept.
func patientTermsKept(db, table string) pgKept {
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
			`CREATE TABLE IF NOT EXISTS ` + terms + ` (` + pgTermsCols + `, PRIMARY KEY (term, id))`,
			`CREATE TABLE IF NOT EXISTS ` + counts + ` (` + pgCountsCols + `, PRIMARY KEY (term))`,
			fmt.Sprintf(pgPatientTermsFunction, function, terms),
			fmt.Sprintf(pgTermCountFunction, countFunction, counts),
		},
		build: termsBuild(db, persons),
		fill:  termsFill(db, persons),
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
	return k
}

// The fill of the terms and their counts builds new tables beside the old
// ones and swaps them in, in two parts of one transaction (ensureKept).
//
// termsBuild, before the heads are locked (their writers go on): one
// statement, so one snapshot, reads every head's _id and idx once, keeps
// them in the table _seen, and writes their terms into _new, which then
// gets its primary key: rows first and the key after sorts them once,
// where an INSERT into the indexed table with ON CONFLICT took 24-26 s
// at 100,000 persons (3.1 million terms), against 8 + 3.5 s.
//
// termsFill, with the heads' writers held: the heads whose idx differs
// from the one seen, or that came or went since, are found by one join of
// the heads with _seen, their seen terms deleted from _new and their
// current ones inserted; the counts are built from _new; then the old
// tables are swapped out. Holding the writers costs one pass over the
// heads' idx and the counts, not the terms' insertion.
//
// Other replicas' searches read the old tables until the swap, which
// locks them counts first, in the order a search's statement (exactSQL)
// meets them: a swap that took the terms first deadlocked with a search
// that held the counts and waited for the terms
// (TestExactSearchDuringRefill).

// Names of the fill's tables, in the country's schema.
const (
	pgTermsNew    = pgPatientTerms + "_new"
	pgTermsSeen   = pgPatientTerms + "_seen"
	pgTermsChange = pgPatientTerms + "_changed"
	pgCountsNew   = pgPatientTermCounts + "_new"
)

// Column definitions of the terms and counts tables.
const (
	pgTermsCols  = `term text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL`
	pgCountsCols = `term text COLLATE "C" NOT NULL, n bigint NOT NULL`
)

// pgHeadsIdx is the SELECT of the _id and idx of every head of persons
// table %s.
const pgHeadsIdx = `SELECT h._jsonb->>'_id' AS id, h._jsonb->'idx' AS idx FROM %s h WHERE h._jsonb->>'_id' IS NOT NULL`

// distinctTermsOf is termsOf(idx) with each term once (a head's idx is
// distinct, patientIdx; and _id is unique, FerretDB's index: a primary
// key on (term, id) cannot fail on a head written otherwise).
func distinctTermsOf(idx string) string { return `SELECT DISTINCT * FROM (` + termsOf(idx) + `) AS d` }

// termsBuild returns the statements of the fill before the heads of
// persons (quoted) in schema db are locked.
func termsBuild(db, persons string) []string {
	q := func(name string) string { return pgx.Identifier{db, name}.Sanitize() }
	return []string{
		`SET LOCAL maintenance_work_mem = '256MB'`,
		`DROP TABLE IF EXISTS ` + q(pgTermsNew) + `, ` + q(pgTermsSeen) + `, ` + q(pgTermsChange) + `, ` + q(pgCountsNew),
		`CREATE TABLE ` + q(pgTermsNew) + ` (` + pgTermsCols + `)`,
		`CREATE TABLE ` + q(pgTermsSeen) + ` (id text COLLATE "C" NOT NULL, idx jsonb)`,
		`WITH h AS MATERIALIZED (` + fmt.Sprintf(pgHeadsIdx, persons) + `),
			s AS (INSERT INTO ` + q(pgTermsSeen) + ` (id, idx) SELECT id, idx FROM h)
		INSERT INTO ` + q(pgTermsNew) + ` (term, id) SELECT t.t, h.id FROM h, LATERAL (` + distinctTermsOf("h.idx") + `) AS t(t)`,
		`ALTER TABLE ` + q(pgTermsNew) + ` ADD CONSTRAINT ` + pgx.Identifier{pgTermsNew + "_pkey"}.Sanitize() + ` PRIMARY KEY (term, id)`,
	}
}

// termsFill returns the statements of the fill once the heads of persons
// (quoted) in schema db are locked against writers.
func termsFill(db, persons string) []string {
	q := func(name string) string { return pgx.Identifier{db, name}.Sanitize() }
	steps := []string{
		`CREATE TABLE ` + q(pgTermsChange) + ` AS SELECT coalesce(c.id, s.id) AS id, s.idx AS old, c.idx AS new
			FROM (` + fmt.Sprintf(pgHeadsIdx, persons) + `) c FULL JOIN ` + q(pgTermsSeen) + ` s ON s.id = c.id
			WHERE c.idx IS DISTINCT FROM s.idx`,
		`DELETE FROM ` + q(pgTermsNew) + ` t USING ` + q(pgTermsChange) + ` d, LATERAL (` + termsOf("d.old") + `) AS o(t)
			WHERE t.id = d.id AND t.term = o.t`,
		`INSERT INTO ` + q(pgTermsNew) + ` (term, id) SELECT x.t, d.id FROM ` + q(pgTermsChange) + ` d, LATERAL (` + distinctTermsOf("d.new") + `) AS x(t)`,
		`DROP TABLE ` + q(pgTermsChange) + `, ` + q(pgTermsSeen),
		`CREATE TABLE ` + q(pgCountsNew) + ` (` + pgCountsCols + `)`,
		`INSERT INTO ` + q(pgCountsNew) + ` (term, n) SELECT term, count(*) FROM ` + q(pgTermsNew) + ` GROUP BY term`,
		`ALTER TABLE ` + q(pgCountsNew) + ` ADD CONSTRAINT ` + pgx.Identifier{pgCountsNew + "_pkey"}.Sanitize() + ` PRIMARY KEY (term)`,
		`LOCK TABLE ` + q(pgPatientTermCounts) + `, ` + q(pgPatientTerms) + ` IN ACCESS EXCLUSIVE MODE`,
	}
	for _, name := range []string{pgPatientTerms, pgPatientTermCounts} {
		steps = append(steps,
			`DROP TABLE `+q(name),
			`ALTER TABLE `+q(name+"_new")+` RENAME TO `+pgx.Identifier{name}.Sanitize(),
			`ALTER INDEX `+q(name+"_new_pkey")+` RENAME TO `+pgx.Identifier{name + "_pkey"}.Sanitize())
	}
	return steps
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
