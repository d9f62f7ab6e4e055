package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// claimDoc maps a key, unique per country and namespace, to its owner.
// _id is namespace + ":" + key, so that every operation is an _id lookup.
type claimDoc struct {
	ID    string `bson:"_id"`
	Owner string `bson:"owner"`
}

func claimID(namespace, key string) string { return namespace + ":" + key }

// Claim makes key belong to owner unless it belongs to someone else already,
// and returns the owner after the call.
func (s *Store) Claim(ctx context.Context, cc records.Country, namespace, key, owner string) (_ string, err error) {
	defer s.observe("claim", time.Now(), &err)
	id := claimID(namespace, key)
	defer s.lock(cc, "claim\x00"+id)()
	c := s.coll(cc, claimsColl)
	// A claim released between our insert and our read is retried.
	for range 3 {
		_, err := c.InsertOne(ctx, claimDoc{ID: id, Owner: owner})
		if err == nil {
			return owner, nil
		}
		if err = mapErr(err); !errors.Is(err, records.ErrConflict) {
			return "", fmt.Errorf("claim %s: %w", namespace, err)
		}
		var d claimDoc
		err = c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		if err == nil {
			return d.Owner, nil
		}
		if err = mapErr(err); !errors.Is(err, records.ErrNotFound) {
			return "", fmt.Errorf("claim %s: %w", namespace, err)
		}
	}
	return "", fmt.Errorf("claim %s: released and claimed again repeatedly: %w", namespace, records.ErrConflict)
}

// Owner returns who holds key; ErrNotFound if nobody.
func (s *Store) Owner(ctx context.Context, cc records.Country, namespace, key string) (_ string, err error) {
	defer s.observe("owner", time.Now(), &err)
	var d claimDoc
	if err := s.coll(cc, claimsColl).FindOne(ctx, bson.D{{Key: "_id", Value: claimID(namespace, key)}}).Decode(&d); err != nil {
		return "", fmt.Errorf("owner of %s key: %w", namespace, mapErr(err))
	}
	return d.Owner, nil
}

// Release frees key if owner holds it; it is not an error if it does not.
// On the embedded engine the owner check and the {_id}-only delete run under
// an in-process lock (see Replace).
func (s *Store) Release(ctx context.Context, cc records.Country, namespace, key, owner string) (err error) {
	defer s.observe("release", time.Now(), &err)
	id := claimID(namespace, key)
	c := s.coll(cc, claimsColl)
	if !s.ferret {
		if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "owner", Value: owner}}); err != nil {
			return fmt.Errorf("release %s key: %w", namespace, mapErr(err))
		}
		return nil
	}
	defer s.lock(cc, "claim\x00"+id)()
	var d claimDoc
	err = c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	switch err = mapErr(err); {
	case errors.Is(err, records.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("release %s key: %w", namespace, err)
	case d.Owner != owner:
		return nil
	}
	if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("release %s key: %w", namespace, mapErr(err))
	}
	return nil
}
