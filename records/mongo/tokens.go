package mongo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"contigo/records"
)

// The token collections live in one database of the node, DBPrefix +
// "auth", shared by every replica and every hosted country.
const (
	revokedColl = "revoked" // revoked token ids
	clientsColl = "clients" // backend-service clients
	usedColl    = "used"    // single-use assertion ids, until they expire
)

func (s *Store) authColl(name string) *mongo.Collection {
	return s.client.Database(s.prefix + "auth").Collection(name)
}

type revokedDoc struct {
	ID      string    `bson:"_id"`
	Expires time.Time `bson:"exp,omitempty"`
	At      time.Time `bson:"at"`
	By      string    `bson:"by"`
	Reason  string    `bson:"reason,omitempty"`
}

// Revoke records a revoked token id (records.TokenStore).
func (s *Store) Revoke(ctx context.Context, r records.Revocation) (err error) {
	defer s.observe("revoke", time.Now(), &err)
	_, err = s.authColl(revokedColl).InsertOne(ctx, revokedDoc{ID: r.ID, Expires: r.Expires.UTC(), At: r.At.UTC(), By: r.By, Reason: r.Reason})
	if err = mapErr(err); err != nil && !errors.Is(err, records.ErrConflict) {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// Revocation returns the revocation of token id; ErrNotFound if none.
func (s *Store) Revocation(ctx context.Context, id string) (_ records.Revocation, err error) {
	defer s.observe("revocation", time.Now(), &err)
	var d revokedDoc
	if err := s.authColl(revokedColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return records.Revocation{}, fmt.Errorf("revocation: %w", mapErr(err))
	}
	return records.Revocation{ID: d.ID, Expires: d.Expires, At: d.At, By: d.By, Reason: d.Reason}, nil
}

type usedDoc struct {
	ID      string    `bson:"_id"`
	Expires time.Time `bson:"exp"`
}

// UseOnce records a single-use assertion id; ErrConflict if it was used
// before. One call in 256 purges the entries that have expired, so the
// collection stays as small as the traffic of the last assertion lifetime.
func (s *Store) UseOnce(ctx context.Context, namespace, id string, expires time.Time) (err error) {
	defer s.observe("use_once", time.Now(), &err)
	c := s.authColl(usedColl)
	_, err = c.InsertOne(ctx, usedDoc{ID: namespace + ":" + id, Expires: expires.UTC()})
	if err = mapErr(err); err != nil {
		if errors.Is(err, records.ErrConflict) {
			return fmt.Errorf("%s %s used before: %w", namespace, "assertion", records.ErrConflict)
		}
		return fmt.Errorf("use once: %w", err)
	}
	if purgeTick.Add(1)%256 == 0 {
		if _, err := c.DeleteMany(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$lt", Value: time.Now().UTC().Add(-time.Minute)}}}}); err != nil {
			return fmt.Errorf("purge used assertions: %w", mapErr(err))
		}
	}
	return nil
}

type clientDoc struct {
	ID        string    `bson:"_id"`
	JWKS      string    `bson:"jwks"`
	Role      string    `bson:"role"`
	Countries []string  `bson:"countries"`
	Added     time.Time `bson:"added"`
	By        string    `bson:"by"`
}

// PutClient registers or replaces a backend-service client.
func (s *Store) PutClient(ctx context.Context, c records.Client) (err error) {
	defer s.observe("put_client", time.Now(), &err)
	d := clientDoc{ID: c.ID, JWKS: c.JWKS, Role: c.Role, Countries: c.Countries, Added: c.Added.UTC(), By: c.By}
	if _, err := s.authColl(clientsColl).ReplaceOne(ctx, bson.D{{Key: "_id", Value: c.ID}}, d, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("put client: %w", mapErr(err))
	}
	return nil
}

// BackendClient returns the client with id; ErrNotFound if none.
func (s *Store) BackendClient(ctx context.Context, id string) (_ records.Client, err error) {
	defer s.observe("client", time.Now(), &err)
	var d clientDoc
	if err := s.authColl(clientsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return records.Client{}, fmt.Errorf("client: %w", mapErr(err))
	}
	return records.Client{ID: d.ID, JWKS: d.JWKS, Role: d.Role, Countries: d.Countries, Added: d.Added, By: d.By}, nil
}

// purgeTick counts UseOnce calls of the process, to purge now and then.
var purgeTick atomic.Uint64

var _ records.TokenStore = (*Store)(nil)
