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

// patient returns the version and the Patient (resourceDoc JSON, "" if
// none) of the head of person id in cc, read straight from PostgreSQL as
// types is; found is false if there is no such head.
func (h *pgHeads) patient(ctx context.Context, cc records.Country, id string) (v int64, raw string, found bool, err error) {
	q := fmt.Sprintf(`SELECT (_jsonb->>'version')::bigint, coalesce(_jsonb->>'patient', '') FROM %s WHERE _jsonb->'_id' @> $1::jsonb`, h.tables[cc])
	arg, _ := json.Marshal(id) // a string always marshals
	err = h.pool.QueryRow(ctx, q, string(arg)).Scan(&v, &raw)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, "", false, nil
	case err != nil:
		return 0, "", false, fmt.Errorf("postgresql head patient: %w", pgErr(err))
	}
	return v, raw, true, nil
}
