package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// claimDoc makes a key unique per country: its _id is "<namespace>:<key>",
// and inserting a document whose _id exists fails on every engine (the one
// guarantee the store's correctness rests on; see commitsColl).
type claimDoc struct {
	ID    string    `bson:"_id"`
	Owner string    `bson:"owner"`
	At    time.Time `bson:"at,omitempty"` // when it was claimed
}

func claimID(namespace, key string) string { return namespace + ":" + key }

// Claim makes key belong to owner unless someone holds it; it returns the
// owner after the call (records.Store).
func (s *Store) Claim(ctx context.Context, cc records.Country, namespace, key, owner string) (_ string, err error) {
	defer s.observe("claim", time.Now(), &err)
	id := claimID(namespace, key)
	c := s.coll(cc, claimsColl)
	for range 3 {
		_, err := c.InsertOne(ctx, claimDoc{ID: id, Owner: owner, At: time.Now().UTC()})
		if err == nil {
			return owner, nil
		}
		if err = mapErr(err); !errors.Is(err, records.ErrConflict) {
			return "", fmt.Errorf("claim %s: %w", namespace, err)
		}
		d, err := s.claim(ctx, cc, id)
		if err == nil {
			return d.Owner, nil
		}
		if !errors.Is(err, records.ErrNotFound) {
			return "", fmt.Errorf("claim %s: %w", namespace, err)
		}
	}
	return "", fmt.Errorf("claim %s: released and claimed again repeatedly: %w", namespace, records.ErrConflict)
}

func (s *Store) claim(ctx context.Context, cc records.Country, id string) (claimDoc, error) {
	var d claimDoc
	if err := s.coll(cc, claimsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return claimDoc{}, mapErr(err)
	}
	return d, nil
}

// Owner returns who holds key; ErrNotFound if nobody.
func (s *Store) Owner(ctx context.Context, cc records.Country, namespace, key string) (_ string, err error) {
	defer s.observe("owner", time.Now(), &err)
	d, err := s.claim(ctx, cc, claimID(namespace, key))
	if err != nil {
		return "", fmt.Errorf("owner of %s key: %w", namespace, err)
	}
	return d.Owner, nil
}

// Takeover moves key from owner from to owner to if from still holds it
// and claimed it before olderThan; it returns the owner after the call.
//
// Taking over one claim is itself claimed: a writer first inserts a ticket
// whose _id names that claim (key, owner, time) and an attempt number, and
// only the writer whose insert succeeds (a duplicate _id fails on every
// engine) deletes the claim and claims the key; the others return the
// owner after it. Without the ticket, a slower writer's delete removed the
// claim a faster one had just made, and both took the key over. A ticket
// as old as records.StaleClaim (its writer stopped midway) lets the next
// attempt be claimed; its winner deletes the claim only if it is still the one
// the ticket names. A writer that claims the key between the delete and
// the insert wins, and Takeover returns it.
func (s *Store) Takeover(ctx context.Context, cc records.Country, namespace, key, from, to string, olderThan time.Time) (_ string, err error) {
	defer s.observe("takeover", time.Now(), &err)
	id := claimID(namespace, key)
	d, err := s.claim(ctx, cc, id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return s.Claim(ctx, cc, namespace, key, to)
	case err != nil:
		return "", fmt.Errorf("take over %s key: %w", namespace, err)
	case d.Owner != from || !d.At.Before(olderThan):
		return d.Owner, nil
	}
	c := s.coll(cc, claimsColl)
	for attempt := 1; ; attempt++ {
		ticket := takeoverID(d, attempt)
		_, err := c.InsertOne(ctx, claimDoc{ID: ticket, Owner: to, At: time.Now().UTC()})
		if err == nil {
			break
		}
		if err = mapErr(err); !errors.Is(err, records.ErrConflict) {
			return "", fmt.Errorf("take over %s key: %w", namespace, err)
		}
		t, err := s.claim(ctx, cc, ticket)
		if err != nil {
			return "", fmt.Errorf("take over %s key: %w", namespace, err)
		}
		if time.Since(t.At) < records.StaleClaim {
			return s.ownerAfterTakeover(ctx, cc, namespace, key, to, d)
		}
	}
	now, err := s.claim(ctx, cc, id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return s.Claim(ctx, cc, namespace, key, to)
	case err != nil:
		return "", fmt.Errorf("take over %s key: %w", namespace, err)
	case !sameClaim(now, d):
		return now.Owner, nil
	}
	if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return "", fmt.Errorf("take over %s key: %w", namespace, mapErr(err))
	}
	return s.Claim(ctx, cc, namespace, key, to)
}

// takeoverID is the _id of the ticket of attempt n to take claim d over.
func takeoverID(d claimDoc, n int) string {
	return fmt.Sprintf("~takeover:%s:%d:%d:%s", d.ID, n, d.At.UnixMilli(), d.Owner)
}

// sameClaim reports whether a and b are the same claim of a key: the same
// owner since the same time.
func sameClaim(a, b claimDoc) bool { return a.Owner == b.Owner && a.At.Equal(b.At) }

// ownerAfterTakeover returns the owner of key once another writer's
// takeover of claim d is done: it waits up to a second for d to go. If
// the key is free then, to claims it.
func (s *Store) ownerAfterTakeover(ctx context.Context, cc records.Country, namespace, key, to string, d claimDoc) (string, error) {
	for try := 0; ; try++ {
		now, err := s.claim(ctx, cc, d.ID)
		switch {
		case errors.Is(err, records.ErrNotFound):
			if try < 10 {
				break // the other writer is between its delete and its claim
			}
			return s.Claim(ctx, cc, namespace, key, to)
		case err != nil:
			return "", fmt.Errorf("take over %s key: %w", namespace, err)
		case !sameClaim(now, d) || try == 10:
			return now.Owner, nil
		}
		if err := records.Sleep(ctx, 100*time.Millisecond); err != nil {
			return "", fmt.Errorf("take over %s key: %w", namespace, err)
		}
	}
}

// Release frees key if owner holds it. The check and the delete are two
// steps; only the owner releases its own key, and a takeover needs the key
// to be stale, so nobody else can have taken it in between.
func (s *Store) Release(ctx context.Context, cc records.Country, namespace, key, owner string) (err error) {
	defer s.observe("release", time.Now(), &err)
	id := claimID(namespace, key)
	d, err := s.claim(ctx, cc, id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("release %s key: %w", namespace, err)
	case d.Owner != owner:
		return nil
	}
	if _, err := s.coll(cc, claimsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("release %s key: %w", namespace, mapErr(err))
	}
	return nil
}
