package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"contigo/records"
)

// CachedRecords returns how many records the record cache of s holds (for
// the tests of package mongo_test).
func CachedRecords(s *Store) int {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return len(s.cache.m)
}

// PostgresIndexes is postgresIndexes (for the tests of package mongo_test).
var PostgresIndexes = postgresIndexes

// ExplainDigestRead returns PostgreSQL's plan of the read of the digests
// of ids in country cc (digest_cache.go), with sequential scans disabled if
// noSeqScan.
func ExplainDigestRead(ctx context.Context, s *Store, cc records.Country, ids []string, noSeqScan bool) (string, error) {
	if s.pg == nil || s.pg.digestsTable(cc) == "" {
		return "", errors.New("explain: the store does not read digests from PostgreSQL")
	}
	return s.pg.explainSQL(ctx, digestSQL(s.pg.digestsTable(cc))+pgDigestsByID, []any{digestIDs(ids)}, noSeqScan)
}

// ExplainDigestsSince returns PostgreSQL's plan of the read of the digests
// of cc written since since (Unix ms), with sequential scans disabled if
// noSeqScan.
func ExplainDigestsSince(ctx context.Context, s *Store, cc records.Country, since int64, noSeqScan bool) (string, error) {
	if s.pg == nil || s.pg.digestsTable(cc) == "" {
		return "", errors.New("explain: the store does not read digests from PostgreSQL")
	}
	return s.pg.explainSQL(ctx, digestVersionsSinceSQL(s.pg.digestsTable(cc)), []any{strconv.FormatInt(since, 10)}, noSeqScan)
}

// SetDigestTimes sets the lag and relist period of the digest refreshes
// of s (digestLag, digestRelist).
func SetDigestTimes(s *Store, lag, relist time.Duration) {
	s.digests.mu.Lock()
	defer s.digests.mu.Unlock()
	s.digests.lag, s.digests.relist = lag, relist
}

// DigestsListed returns how many times s read or listed every digest of cc.
func DigestsListed(s *Store, cc records.Country) int {
	d := s.digests.country(cc)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.listed
}

// WriteDigestAt stores a digest of person id at version v written at at
// (Unix ms), as a write that took long to commit would leave it.
func WriteDigestAt(ctx context.Context, s *Store, cc records.Country, id string, v int64, digest string, at int64) error {
	return replaceByID(ctx, s.coll(cc, digestColl), id, digestDoc{ID: id, Version: v, Digest: digest, At: at})
}

// DigestsRead returns how many digests of cc a store that is not alone on
// its data directory has read from the database for IndicatorFacts.
func DigestsRead(s *Store, cc records.Country) int {
	d := s.digests.country(cc)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.read
}

// ExplainHeadPatient returns PostgreSQL's plan of the read of Patient id's
// head and of the commit after it (CurrentPatient), with sequential scans
// disabled if noSeqScan.
func ExplainHeadPatient(ctx context.Context, s *Store, cc records.Country, id string, noSeqScan bool) (string, error) {
	if s.pg == nil || !s.pg.hosts(cc) {
		return "", errors.New("explain: the store does not read heads from PostgreSQL")
	}
	return s.pg.explainSQL(ctx, s.pg.patientSQL(cc), []any{`"` + id + `"`, id}, noSeqScan)
}

// TakeoverTicket returns the _id of the ticket of attempt n to take over
// the claim of key in namespace held by owner since at.
func TakeoverTicket(namespace, key, owner string, at time.Time, n int) string {
	return takeoverID(claimDoc{ID: claimID(namespace, key), Owner: owner, At: at}, n)
}

// LoaderScans returns what the loaders of the in-process indexes read of
// cc (Flags, heads, audit references, digests), one sorted line per
// document, read from the SQLite file directly (lite) or through FerretDB.
// The store's warm-up must have ended.
func LoaderScans(ctx context.Context, s *Store, cc records.Country, lite bool) ([]string, error) {
	if !s.lite() {
		return nil, errors.New("loader scans: the store does not read its SQLite files")
	}
	s.liteOff = !lite
	defer func() { s.liteOff = false }()
	var out []string
	add := func(parts ...any) { out = append(out, fmt.Sprintf("%#v", parts)) }
	err := errors.Join(
		s.eachProjectionFlags(ctx, cc, func(d *projDoc) error { add("flags", d.ID, d.Version, d.Flags); return nil }),
		s.eachHeadToIndex(ctx, cc, func(h *headDoc) error { add("head", h.ID, h.Version, h.Types, h.Patient); return nil }),
		s.eachAuditRef(ctx, cc, func(d *auditDoc) error {
			add("audit", d.ID, d.Time.UTC().Format(time.RFC3339Nano), d.PersonID, d.Persons)
			return nil
		}),
		s.eachDigest(ctx, cc, func(id string, v int64, digest string, gone bool) { add("digest", id, v, digest, gone) }),
	)
	// Whole audit entries by id (auditDocsByID), an unknown id among them.
	var ids []string
	err = errors.Join(err, s.eachAuditRef(ctx, cc, func(d *auditDoc) error { ids = append(ids, d.ID); return nil }))
	docs, derr := s.auditDocsByID(ctx, cc, append(ids, "unknown"))
	for _, d := range docs {
		add("auditdoc", d.ID, d.Time.UTC().Format(time.RFC3339Nano), d.Actor, d.Role, d.Country, d.Action, d.Interaction,
			d.ResourceType, d.ResourceID, d.PersonID, d.Persons, d.Outcome, d.RequestID, d.Purpose)
	}
	err = errors.Join(err, derr)
	slices.Sort(out)
	return out, err
}

// PatientPostings returns the posting list (sorted, duplicates kept) of
// the term of value v of key in the Patient index of an exclusive store;
// prefix names the term of the value's first runes instead (terms.go).
func PatientPostings(s *Store, cc records.Country, key, v string, prefix bool) []string {
	term := eqTerm(key, v)
	if prefix {
		term = prefixTerm(key, v)
	}
	s.pindex.mu.Lock()
	defer s.pindex.mu.Unlock()
	ps := s.pindex.country(cc)
	out := ps.personIDs(ps.posting[term])
	slices.Sort(out)
	return out
}

// AlertCounts returns the counts the trigger keeps for the alerts of cc
// ("key=value n", key and value "" for every alert) and the same counted
// now from the alert documents, each sorted, and the names of the count
// triggers on the alerts table. The store must read PostgreSQL.
func AlertCounts(ctx context.Context, s *Store, cc records.Country) (kept, counted, triggers []string, err error) {
	if s.pg == nil || s.pg.alertsTable(cc) == "" {
		return nil, nil, nil, errors.New("alert counts: the store does not read alerts from PostgreSQL")
	}
	alerts, counts := s.pg.alertsTable(cc), s.pg.counts[cc]
	read := func(q string, args ...any) ([]string, error) {
		rows, err := s.pg.pool.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var k, v string
			var n int64
			if err := rows.Scan(&k, &v, &n); err != nil {
				return nil, err
			}
			if n != 0 {
				out = append(out, fmt.Sprintf("%s=%s %d", k, v, n))
			}
		}
		slices.Sort(out)
		return out, rows.Err()
	}
	if kept, err = read(`SELECT k, v, n FROM `+counts+` WHERE tbl = $1::regclass`, alerts); err != nil {
		return nil, nil, nil, err
	}
	counted, err = read(`SELECT '', '', count(*) FROM `+alerts+` UNION ALL
		SELECT a.key, _jsonb->'k'->>a.key, count(*) FROM `+alerts+`, unnest($1::text[]) AS a(key)
		WHERE _jsonb->'k'->>a.key IS NOT NULL GROUP BY 1, 2`, alertScalarKeys)
	if err != nil {
		return nil, nil, nil, err
	}
	rows, err := s.pg.pool.Query(ctx, `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY 1`, alerts)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, nil, nil, err
		}
		triggers = append(triggers, name)
	}
	return kept, counted, triggers, rows.Err()
}

// SpoilAlertCounts renames the count trigger of cc's alerts to one an
// older version would have made and adds 5 to every count: what a start
// with other counted keys finds (for the tests of package mongo_test).
func SpoilAlertCounts(ctx context.Context, s *Store, cc records.Country) error {
	alerts, counts := s.pg.alertsTable(cc), s.pg.counts[cc]
	_, err := s.pg.pool.Exec(ctx, `ALTER TRIGGER `+pgAlertCountTrigger+` ON `+alerts+` RENAME TO contigo_alert_count_00000000`)
	if err == nil {
		_, err = s.pg.pool.Exec(ctx, `UPDATE `+counts+` SET n = n + 5`)
	}
	return err
}

// ExactSearch is Store.exactSearch: a Patient search answered from the
// server's indexes, ok false when it is not (for the tests of package
// mongo_test).
func ExactSearch(ctx context.Context, s *Store, cc records.Country, q records.Query) (records.Page, bool, error) {
	return s.exactSearch(ctx, cc, q, q.PageSize())
}

// RenamePatientTermsTrigger gives the row trigger of the Patient terms of
// database db another name, as a node that ran an older version of it
// leaves it (the next start fills the tables again).
func RenamePatientTermsTrigger(ctx context.Context, pgURL, db, name string) error {
	return onPersonsTable(ctx, pgURL, db, func(conn *pgx.Conn, table string) error {
		_, err := conn.Exec(ctx, `ALTER TRIGGER `+pgPatientTermsTrigger+` ON `+pgx.Identifier{db, table}.Sanitize()+
			` RENAME TO `+pgx.Identifier{name}.Sanitize())
		return err
	})
}

// PatientTerms drops (keep false) or sets up (keep true) the Patient terms
// of database db's persons table on the PostgreSQL server at pgURL, as
// DropPostgresIndexes and a start do (for the benchmarks of package
// mongo_test).
func PatientTerms(ctx context.Context, pgURL, db string, keep bool) error {
	return onPersonsTable(ctx, pgURL, db, func(conn *pgx.Conn, table string) error {
		if !keep {
			return dropPatientTerms(ctx, conn, db, table)
		}
		return ensurePatientTerms(ctx, conn, db, table)
	})
}

// FillPatientTermsWriting fills the Patient terms of database db as a
// start does when it finds no trigger under the current name, calling
// between once the bulk is built from a snapshot and before the writers
// are held (writes the fill must catch up with).
func FillPatientTermsWriting(ctx context.Context, pgURL, db string, between func() error) error {
	return onPersonsTable(ctx, pgURL, db, func(conn *pgx.Conn, table string) error {
		k := patientTermsKept(db, table)
		k.built = between
		return ensureKept(ctx, conn, pgx.Identifier{db, table}.Sanitize(), k)
	})
}

// onPersonsTable calls fn with a connection to the PostgreSQL server at
// pgURL and the name of database db's persons table.
func onPersonsTable(ctx context.Context, pgURL, db string, fn func(conn *pgx.Conn, table string) error) error {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := pgTables(ctx, conn, db)
	if err != nil {
		return err
	}
	return fn(conn, tables[personsColl])
}

// ExplainExact returns PostgreSQL's plan (with analyze, as run, with its
// buffers) of the statement of an exact Patient search of q in cc
// (pgpatientterms.go), with sequential scans disabled if noSeqScan.
func ExplainExact(ctx context.Context, s *Store, cc records.Country, q records.Query, analyze, noSeqScan bool) (string, error) {
	if s.pg == nil || !exactTerms(q) {
		return "", errors.New("explain: not an exact search on FerretDB-PostgreSQL")
	}
	var terms [][]string
	for _, g := range queryTerms(q) {
		terms = append(terms, g.Terms)
	}
	args := []any{patientTermsTriggers(), s.pg.tables[cc], "", q.PageSize() + 1}
	for _, g := range terms {
		args = append(args, g)
	}
	opt := ""
	if analyze {
		opt = "(ANALYZE, BUFFERS) "
	}
	return s.pg.explainSQL(ctx, opt+exactSQL(s.pg.tables[cc], s.pg.terms[cc], s.pg.termCounts[cc], terms), args, noSeqScan)
}

// IndexedPage is Store.indexedPage: an exact Patient search answered from
// the embedded engine's index by its page alone, ok false when it is not
// (for the tests of package mongo_test).
func IndexedPage(ctx context.Context, s *Store, cc records.Country, q records.Query) (records.Page, bool, error) {
	return s.indexedPage(ctx, cc, q)
}
