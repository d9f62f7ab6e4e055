package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"contigo/records"
)

// types returns the types of the head of person id in cc, read straight
// from PostgreSQL (one lookup served by the GIN index on _id that
// postgresIndexes adds), without FerretDB decoding the head: a peer's
// $match asks it for every candidate it returns (MayHold). found is false
// if there is no such head.
func (h *pgHeads) types(ctx context.Context, cc records.Country, id string) (types []string, found bool, err error) {
	q := fmt.Sprintf(`SELECT _jsonb->'types' FROM %s WHERE _jsonb->'_id' @> $1::jsonb`, h.tables[cc])
	arg, _ := json.Marshal(id) // a string always marshals
	err = h.pool.QueryRow(ctx, q, string(arg)).Scan(&types)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("postgresql head types: %w", pgErr(err))
	}
	return types, true, nil
}

// patient returns the Patient (resourceDoc JSON, "" if none) of the head
// of person id in cc, and whether the commit after the head's version
// exists, in one statement read straight from PostgreSQL as types
// is (two lookups by _id, in one snapshot);
// found is false if there is no such head. Without a commits table known
// at open, newer is true: the head cannot be checked, read the log.
func (h *pgHeads) patient(ctx context.Context, cc records.Country, id string) (raw string, found, newer bool, err error) {
	arg, _ := json.Marshal(id) // a string always marshals
	err = h.pool.QueryRow(ctx, h.patientSQL(cc), string(arg), id).Scan(&raw, &newer)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, false, nil
	case err != nil:
		return "", false, false, fmt.Errorf("postgresql head patient: %w", pgErr(err))
	}
	return raw, true, newer, nil
}

// patientSQL returns the statement of patient in cc: $1 is the person's
// id as a JSON string, $2 the id.
func (h *pgHeads) patientSQL(cc records.Country) string {
	next := "TRUE"
	if t := h.commits[cc]; t != "" {
		// commitID(id, version+1): "c:<id>:" and the version in 12 digits.
		// An equality, served by FerretDB's unique btree on _jsonb->'_id'
		// (the index that makes a second insert of an _id fail): with a
		// containment (@>) the planner, estimating 1 % of the table for
		// a value computed from the head, chose to read every commit and
		// open its TOASTed JSON (937 ms at 10,000 persons, against 0.8 ms).
		next = fmt.Sprintf(`EXISTS (SELECT 1 FROM %s c WHERE c._jsonb->'_id' = to_jsonb('c:' || $2 || ':' || lpad(((h._jsonb->>'version')::bigint + 1)::text, 12, '0')))`, t)
	}
	return fmt.Sprintf(`SELECT coalesce(h._jsonb->>'patient', ''), %s FROM %s h WHERE h._jsonb->'_id' @> $1::jsonb`, next, h.tables[cc])
}
