package mongo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"contigo/records"
)

// The indicator digest cache (digest_cache.go) on FerretDB-PostgreSQL
// reads the digests straight from PostgreSQL: through FerretDB, listing
// the versions would decode every digest document in Go (FerretDB v1.24
// applies a projection after decoding), here PostgreSQL reads two fields
// of each row. The changed digests are then read by _id, a thousand at a
// time, through FerretDB's own unique btree index on _jsonb->'_id'
// (TestPostgresDigestPlan checks the plan).

// pgDigestsByID is the condition of a read of digests by _id: $1 is an
// array of JSON strings.
const pgDigestsByID = ` WHERE (_jsonb->'_id') = ANY($1::jsonb[])`

// digestsTable returns the quoted digests table of country cc, "" if unknown.
func (h *pgHeads) digestsTable(cc records.Country) string { return h.digests[cc] }

// digestVersions returns the version of every digest of cc (tombstones
// left out).
func (h *pgHeads) digestVersions(ctx context.Context, cc records.Country) (map[string]int64, error) {
	q := fmt.Sprintf(`SELECT _jsonb->>'_id', _jsonb->>'version' FROM %s WHERE _jsonb->'g' IS NULL`, h.digestsTable(cc))
	rows, err := h.pool.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("postgresql digest versions: %w", pgErr(err))
	}
	out := map[string]int64{}
	var id, v string
	_, err = pgx.ForEachRow(rows, []any{&id, &v}, func() error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("digest %s: version %q: %w", id, v, err)
		}
		out[id] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgresql digest versions: %w", pgErr(err))
	}
	return out, nil
}

// readDigests calls fn with the id, version, digest and tombstone mark of
// the digests of cc with the given ids, or of all of them if ids is nil.
func (h *pgHeads) readDigests(ctx context.Context, cc records.Country, ids []string, fn func(id string, v int64, digest string, gone bool)) error {
	base := digestSQL(h.digestsTable(cc))
	read := func(q string, args ...any) error { return h.queryDigests(ctx, fn, q, args...) }
	if ids == nil {
		return read(base)
	}
	const batch = 1000
	for lo := 0; lo < len(ids); lo += batch {
		if err := read(base+pgDigestsByID, digestIDs(ids[lo:min(lo+batch, len(ids))])); err != nil {
			return err
		}
	}
	return nil
}

// digestVersionsSince calls fn with the id, version and tombstone mark of
// the digests of cc written at or after since (Unix milliseconds): a range
// of the btree index on _jsonb->'t' (pgindex.go; TestPostgresDigestPlan
// checks the plan). FerretDB stores a BSON int64 as a JSON number, and
// jsonb numbers compare by value
// (https://www.postgresql.org/docs/15/datatype-json.html, "jsonb Indexing").
func (h *pgHeads) digestVersionsSince(ctx context.Context, cc records.Country, since int64, fn func(id string, v int64, gone bool)) error {
	q := digestVersionsSinceSQL(h.digestsTable(cc))
	rows, err := h.pool.Query(ctx, q, strconv.FormatInt(since, 10))
	if err != nil {
		return fmt.Errorf("postgresql digests since: %w", pgErr(err))
	}
	var id, v, g string
	_, err = pgx.ForEachRow(rows, []any{&id, &v, &g}, func() error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("digest %s: version %q: %w", id, v, err)
		}
		fn(id, n, g == "true")
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgresql digests since: %w", pgErr(err))
	}
	return nil
}

// digestVersionsSinceSQL returns the statement of digestVersionsSince on
// table; $1 is a JSON number.
func digestVersionsSinceSQL(table string) string {
	return fmt.Sprintf(`SELECT _jsonb->>'_id', _jsonb->>'version', COALESCE(_jsonb->>'g', '') FROM %s WHERE (_jsonb->'t') >= $1::jsonb`, table)
}

// queryDigests runs q (a digestSQL statement) and calls fn for each row.
func (h *pgHeads) queryDigests(ctx context.Context, fn func(id string, v int64, digest string, gone bool), q string, args ...any) error {
	rows, err := h.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("postgresql digests: %w", pgErr(err))
	}
	var id, v, d, g string
	_, err = pgx.ForEachRow(rows, []any{&id, &v, &d, &g}, func() error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("digest %s: version %q: %w", id, v, err)
		}
		fn(id, n, d, g == "true")
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgresql digests: %w", pgErr(err))
	}
	return nil
}

// digestSQL returns the statement that reads the id, version, digest and
// tombstone mark of every row of table (a digests table).
func digestSQL(table string) string {
	return fmt.Sprintf(`SELECT _jsonb->>'_id', _jsonb->>'version', COALESCE(_jsonb->>'d', ''), COALESCE(_jsonb->>'g', '') FROM %s`, table)
}

// digestIDs returns the argument of pgDigestsByID for ids.
func digestIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		b, _ := json.Marshal(id) // a string always marshals
		out = append(out, string(b))
	}
	return out
}
