package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"contigo/records"
)

// MayHold reports whether the record of person id in cc may hold a current
// resource of type typ, from the record's head alone (its types: from the
// embedded engine's Patient index when it knows the person, from
// PostgreSQL directly on FerretDB-PostgreSQL with its URL, else one
// document read by _id; not the record's commits): false means it holds
// none, or there is no such record; true means read the record to know.
//
// A head is written after its commit (project), so it can lag a write
// that is still being projected: a caller deciding on false must fail
// safe (a peer's $match shows a stub for a person whose Consent is being
// written, never a record without one).
func (s *Store) MayHold(ctx context.Context, cc records.Country, id, typ string) (_ bool, err error) {
	defer s.observe("may_hold", time.Now(), &err)
	if s.exclusive() {
		if may, known := s.pindex.mayHold(cc, id, typ); known {
			return may, nil
		}
	}
	if s.pg != nil && s.pg.hosts(cc) {
		types, found, err := s.pg.types(ctx, cc, id)
		if err != nil {
			return false, fmt.Errorf("head types of %s: %w", id, err)
		}
		return found && slices.Contains(types, typ), nil
	}
	var h struct {
		Types []string `bson:"types"`
	}
	err = s.coll(cc, personsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "types", Value: 1}})).Decode(&h)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("head types of %s: %w", id, mapErr(err))
	}
	return slices.Contains(h.Types, typ), nil
}
