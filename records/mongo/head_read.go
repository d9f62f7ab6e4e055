package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"contigo/records"
)

// CurrentPatient returns the current version of Patient id (deleted or
// not) from the record's head, two small lookups by _id instead of the
// whole record (its segments, every resource version and the nutrition
// state). ok is false when the head cannot answer: the record is in this
// process's cache (one lookup there), it has no head or no Patient in it,
// or a commit after the head's version exists (the head is written after
// its commit, so it lags a write being projected or one whose projection
// failed until Reconcile): the caller then reads the record.
//
// Why it is current: the head read holds the projection of version v;
// commits are never deleted and version v+1 is inserted exactly once
// (commitID, the unique _id:
// https://www.mongodb.com/docs/manual/core/index-unique/), so when no
// commit v+1 exists after the head was read, v was the latest version at
// that moment and the Patient is the one a full read would return then.
// A head overwritten by an older projection (last writer wins) is caught
// the same way: the commit after its version exists. On the embedded
// engine the head comes from the in-process Patient index once loaded
// (the heads this process wrote or loaded, newest kept), with the same
// check: one lookup instead of two.
func (s *Store) CurrentPatient(ctx context.Context, cc records.Country, id string) (_ records.Resource, ok bool, err error) {
	defer s.observe("current_patient", time.Now(), &err)
	if s.cache.has(cc, id) {
		return records.Resource{}, false, nil
	}
	if r, v, ok := s.pindex.currentOf(cc, id); ok {
		// The embedded engine's Patient index holds the head this process
		// last wrote or loaded: the same check as for a stored head.
		newer, err := s.commitExists(ctx, cc, commitID(id, v+1))
		if err != nil || newer {
			return records.Resource{}, false, err
		}
		return r, true, nil
	}
	raw, found, newer, err := s.headPatient(ctx, cc, id)
	if err != nil || !found || raw == "" || newer {
		return records.Resource{}, false, err
	}
	r, err := decodeResource(raw)
	if err != nil {
		return records.Resource{}, false, fmt.Errorf("head patient of %s: %w", id, err)
	}
	if r.Type != "Patient" || r.ID != id {
		return records.Resource{}, false, fmt.Errorf("head of %s holds %s/%s", id, r.Type, r.ID)
	}
	return r, true, nil
}

// headPatient returns the Patient (resourceDoc JSON, "" if none) of the
// head of person id, and whether the commit after the head's version
// exists (read after the head); found is false if it has no head.
// On FerretDB-PostgreSQL with its URL both come from one statement
// (pgHeads.patient), elsewhere from a head read with a projection and a
// commit lookup by _id.
func (s *Store) headPatient(ctx context.Context, cc records.Country, id string) (raw string, found, newer bool, err error) {
	if s.pg != nil && s.pg.hosts(cc) {
		return s.pg.patient(ctx, cc, id)
	}
	var h struct {
		Version int64  `bson:"version"`
		Patient string `bson:"patient"`
	}
	err = s.coll(cc, personsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}, {Key: "patient", Value: 1}})).Decode(&h)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return "", false, false, nil
	case err != nil:
		return "", false, false, fmt.Errorf("head patient of %s: %w", id, mapErr(err))
	}
	if h.Patient == "" {
		return "", true, false, nil
	}
	newer, err = s.commitExists(ctx, cc, commitID(id, h.Version+1))
	return h.Patient, true, newer, err
}

// commitExists reports whether the commit document id exists, reading
// only its _id.
func (s *Store) commitExists(ctx context.Context, cc records.Country, id string) (bool, error) {
	err := s.coll(cc, commitsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("commit %s: %w", id, mapErr(err))
	}
	return true, nil
}
