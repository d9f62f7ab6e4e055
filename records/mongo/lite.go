package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The embedded engine's in-process indexes (flag cache, Patient index,
// audit index, indicator facts) are loaded by one scan of a collection
// each. Through FerretDB such a scan decodes every whole document in Go
// (its SQLite backend applies a projection after decoding): a nutrition
// projection holds the person's whole nutrition state, of which the flag
// cache needs the Flags only. At 10,000 persons that decoding was about
// 60 % of an 8 s warm-up. liteScan reads the fields a loader needs
// straight from the SQLite file with SQLite's JSON operators instead.
//
// This is sound because the data directory belongs to this process
// (dirlock.go) and FerretDB v1.24 stores each document as one JSON text
// in the _ferretdb_sjson column of the table named in
// _ferretdb_collections, with strings, 64-bit integers and arrays of
// strings as JSON strings, numbers and arrays, and dates as Unix
// milliseconds (its "sjson" format, with the types in "$s"). Only fields
// of those types are read here, and TestLiteScanEqualsFerretDB checks each
// loader's fields against FerretDB's own decoding. A scan is one SELECT:
// one read transaction of SQLite's write-ahead log, which FerretDB's
// writes do not wait for. The loaders already tolerate writes during
// the load (each keeps the newest version of a person, audit entries
// are insert-only).

// liteRow holds the values of one document's fields as SQLite returns
// them: string, int64, float64, JSON text (arrays) or nil (absent).
type liteRow []any

// str returns field i as a string ("" if absent).
func (r liteRow) str(i int) string {
	switch v := r[i].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// int returns field i as an integer (0 if absent; true is 1).
func (r liteRow) int(i int) int64 {
	switch v := r[i].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

// millis returns field i, a date, as a time (zero if absent).
func (r liteRow) millis(i int) time.Time {
	if r[i] == nil {
		return time.Time{}
	}
	return time.UnixMilli(r.int(i)).UTC()
}

// strings returns field i, an array of strings (nil if absent).
func (r liteRow) strings(i int) ([]string, error) {
	raw := r.str(i)
	if raw == "" {
		return nil, nil
	}
	out, err := decodeStrings(raw)
	if err != nil {
		return nil, fmt.Errorf("field %d: %w", i, err)
	}
	return out, nil
}

// lite reports whether the store reads its in-process indexes with
// liteScan: the embedded engine, unless it is told to act as MongoDB.
func (s *Store) lite() bool { return s.embedded != nil && s.ferret && !s.liteOff }

// liteScan calls fn with fields (top-level names) of every document of
// collection coll of cc, read from the embedded engine's SQLite file, in
// no particular order, until fn returns an error.
func (s *Store) liteScan(ctx context.Context, cc records.Country, coll string, fields []string, fn func(liteRow) error) error {
	return s.liteQuery(ctx, cc, coll, fields, "", nil, fn)
}

// liteQuery is liteScan of the documents that match where (an SQL
// condition on the collection's table, with args; every document if
// empty).
func (s *Store) liteQuery(ctx context.Context, cc records.Country, coll string, fields []string, where string, args []any, fn func(liteRow) error) error {
	db := s.dbName(cc)
	sdb, table, err := s.liteFiles.table(ctx, s.dataDir, db, coll)
	if err != nil {
		return fmt.Errorf("read %s of %s: %w", coll, db, err)
	}
	exprs := make([]string, len(fields))
	for i, f := range fields {
		exprs[i] = `_ferretdb_sjson->>` + quoteLiteral("$."+f)
	}
	q := fmt.Sprintf(`SELECT %s FROM %s`, strings.Join(exprs, ", "), quoteIdent(table))
	if where != "" {
		q += " WHERE " + where
	}
	rows, err := sdb.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read %s of %s: %w", coll, db, err)
	}
	defer rows.Close()
	row := make(liteRow, len(fields))
	ptrs := make([]any, len(fields))
	for i := range row {
		ptrs[i] = &row[i]
	}
	for rows.Next() {
		clear(row)
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s of %s: %w", coll, db, err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s of %s: %w", coll, db, err)
	}
	return nil
}

// eachProjectionFlags calls fn with the id, version and Flags of every
// nutrition projection of cc.
func (s *Store) eachProjectionFlags(ctx context.Context, cc records.Country, fn func(*projDoc) error) error {
	if !s.lite() {
		return s.eachProjection(ctx, cc, bson.D{}, bson.D{{Key: "version", Value: 1}, {Key: "flags", Value: 1}}, fn)
	}
	return s.liteScan(ctx, cc, nutritionColl, []string{"_id", "version", "flags"}, func(r liteRow) error {
		flags, err := r.strings(2)
		if err != nil {
			return fmt.Errorf("nutrition projection %s: %w", r.str(0), err)
		}
		return fn(&projDoc{ID: r.str(0), Version: r.int(1), Flags: flags})
	})
}

// eachHeadToIndex calls fn with the id, version, types and Patient of
// every head of cc (what the Patient index reads; no search terms).
func (s *Store) eachHeadToIndex(ctx context.Context, cc records.Country, fn func(*headDoc) error) error {
	if !s.lite() {
		var ferr error
		err := s.eachHead(ctx, cc, bson.D{}, func(h *headDoc) bool { ferr = fn(h); return ferr == nil })
		return errors.Join(err, ferr)
	}
	return s.liteScan(ctx, cc, personsColl, []string{"_id", "version", "types", "patient"}, func(r liteRow) error {
		types, err := r.strings(2)
		if err != nil {
			return fmt.Errorf("head %s: %w", r.str(0), err)
		}
		return fn(&headDoc{ID: r.str(0), Version: r.int(1), Types: types, Patient: r.str(3)})
	})
}

// eachAuditRef calls fn with the id, time and persons of every audit
// entry of cc.
func (s *Store) eachAuditRef(ctx context.Context, cc records.Country, fn func(*auditDoc) error) error {
	if !s.lite() {
		proj := bson.D{{Key: "t", Value: 1}, {Key: "person", Value: 1}, {Key: "persons", Value: 1}}
		return eachDoc(ctx, s.coll(cc, auditColl), bson.D{}, proj, fn)
	}
	return s.liteScan(ctx, cc, auditColl, []string{"_id", "t", "person", "persons"}, func(r liteRow) error {
		persons, err := r.strings(3)
		if err != nil {
			return fmt.Errorf("audit entry %s: %w", r.str(0), err)
		}
		return fn(&auditDoc{ID: r.str(0), Time: r.millis(1), PersonID: r.str(2), Persons: persons})
	})
}

// eachDigest calls fn with every indicator digest of cc.
func (s *Store) eachDigest(ctx context.Context, cc records.Country, fn func(id string, v int64, digest string, gone bool)) error {
	if !s.lite() {
		return s.findDigests(ctx, cc, bson.D{}, fn)
	}
	return s.liteScan(ctx, cc, digestColl, []string{"_id", "version", "d", "g"}, func(r liteRow) error {
		fn(r.str(0), r.int(1), r.str(2), r.int(3) != 0)
		return nil
	})
}

// liteIDArg returns the argument that matches id in idExpr (the JSON text
// of a string), and false for an id whose JSON text SQLite might write
// otherwise than this (anything but letters, digits and "-_.:"): those
// are read through FerretDB.
func liteIDArg(id string) (string, bool) {
	if id == "" {
		return "", false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return "", false
		}
	}
	return `"` + id + `"`, true
}
