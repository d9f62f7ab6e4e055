package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"contigo/records"
	"contigo/records/nutrition"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// digestColl holds, beside each nutrition projection, the person's
// indicator digest (nutrition.Digest: the few hundred bytes of the state
// that /indicators counts), so that the indicators read one small document
// per person, not whole states: FerretDB's cost grows with the size of what
// it decodes. Like the projection it is derived, last-writer-wins and
// written by project() after each commit (so it ends at the latest
// commit), repaired by Reconcile and rebuilt by RebuildNutrition.
const digestColl = "nutrition_digests"

// digestMarkerKey names the claim that says the digests of a country were
// built from its projections (data sets from before the digests).
const digestMarkerKey = "nutrition-digests-v1"

// digestDoc is the stored digest of one person (persistence contract:
// never rename a bson tag).
type digestDoc struct {
	ID      string `bson:"_id"`
	Version int64  `bson:"version"` // the record version digested
	Digest  string `bson:"d"`       // nutrition.Digest JSON
	// At is when it was written (the writer's clock, Unix milliseconds):
	// replicas read the digests written since their last look by it
	// (digest_cache.go). Digests written before it existed have none.
	At int64 `bson:"t,omitempty"`
	// Gone marks a person without a nutrition state any more (a
	// tombstone, so that replicas see the change by At like any other).
	Gone bool `bson:"g,omitempty"`
}

// stamped returns d with At set to now.
func stamped(d digestDoc) digestDoc {
	d.At = time.Now().UnixMilli()
	return d
}

// dropDigest replaces the digest of person id by a tombstone at version v.
func (s *Store) dropDigest(ctx context.Context, cc records.Country, id string, v int64) error {
	if err := replaceByID(ctx, s.coll(cc, digestColl), id, stamped(digestDoc{ID: id, Version: v, Gone: true})); err != nil {
		return fmt.Errorf("indicator digest of %s: %w", id, err)
	}
	s.cacheDigest(cc, id, v, "", false)
	return nil
}

// digestOf returns the digest document of version v of person id, whose
// nutrition state is state. A state that is not a nutrition.State gets an
// empty digest: the write that stored it stands, and /indicators reports
// the broken state (as it did reading states).
func digestOf(id string, v int64, state []byte) digestDoc {
	d, err := nutrition.Digest(state)
	if err != nil {
		return digestDoc{ID: id, Version: v}
	}
	return digestDoc{ID: id, Version: v, Digest: string(d)}
}

// personDigest returns the digest of p's current state: the one its hook
// computed if it did (Person.NutritionDigest), else computed from the state.
func personDigest(p *records.Person) digestDoc {
	if len(p.NutritionDigest) > 0 {
		return digestDoc{ID: p.ID, Version: p.Version, Digest: string(p.NutritionDigest)}
	}
	return digestOf(p.ID, p.Version, p.Nutrition)
}

// writeDigest writes the digest of p (or deletes it if p has no nutrition
// state), last writer wins like the projection.
func (s *Store) writeDigest(ctx context.Context, cc records.Country, p *records.Person) error {
	if !projected(p) {
		return s.dropDigest(ctx, cc, p.ID, p.Version)
	}
	d := stamped(personDigest(p))
	if err := replaceByID(ctx, s.coll(cc, digestColl), p.ID, d); err != nil {
		return fmt.Errorf("indicator digest of %s: %w", p.ID, err)
	}
	s.cacheDigest(cc, p.ID, d.Version, d.Digest, true)
	return nil
}

// digestMany writes the digests of new records in batches (seeding).
func (s *Store) digestMany(ctx context.Context, cc records.Country, ps []*records.Person) {
	var models []mongo.WriteModel
	for _, p := range ps {
		if !projected(p) {
			continue
		}
		d := stamped(personDigest(p))
		s.cacheDigest(cc, d.ID, d.Version, d.Digest, true)
		models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: p.ID}}).SetReplacement(d).SetUpsert(true))
	}
	const batch = 32 // FerretDB can hang on an update of 100 statements or more
	for lo := 0; lo < len(models); lo += batch {
		_, _ = s.coll(cc, digestColl).BulkWrite(ctx, models[lo:min(lo+batch, len(models))], options.BulkWrite().SetOrdered(false))
	}
}

// EachIndicatorDigest calls fn with the id and indicator digest
// (nutrition.Digest) of every person of cc with a nutrition state, until fn
// returns an error, which it returns. For /indicators.
func (s *Store) EachIndicatorDigest(ctx context.Context, cc records.Country, fn func(id string, digest []byte) error) (err error) {
	defer s.observe("each_digest", time.Now(), &err)
	cur, err := s.coll(cc, digestColl).Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "d", Value: 1}, {Key: "g", Value: 1}}))
	if err != nil {
		return fmt.Errorf("indicator digests: %w", mapErr(err))
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d digestDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("indicator digests: decode: %w", err)
		}
		if d.Gone {
			continue
		}
		if err := fn(d.ID, []byte(d.Digest)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("indicator digests: %w", mapErr(err))
	}
	return nil
}

// digestVersions returns the version of every digest of cc (tombstones
// left out).
func (s *Store) digestVersions(ctx context.Context, cc records.Country) (map[string]int64, error) {
	cur, err := s.coll(cc, digestColl).Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "version", Value: 1}, {Key: "g", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("indicator digests: %w", mapErr(err))
	}
	var docs []digestDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("indicator digests: %w", mapErr(err))
	}
	out := make(map[string]int64, len(docs))
	for _, d := range docs {
		if !d.Gone {
			out[d.ID] = d.Version
		}
	}
	return out, nil
}

// setupDigests builds the digests of cc from its projections once (marked
// by a claim), for data sets written before the digests existed.
func (s *Store) setupDigests(ctx context.Context, cc records.Country) error {
	_, err := s.Owner(ctx, cc, projMarkerNS, digestMarkerKey)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, records.ErrNotFound):
		return fmt.Errorf("indicator digest marker: %w", err)
	}
	if err := s.backfillDigests(ctx, cc); err != nil {
		return err
	}
	if _, err := s.Claim(ctx, cc, projMarkerNS, digestMarkerKey, "built"); err != nil {
		return fmt.Errorf("indicator digest marker: %w", err)
	}
	return nil
}

// backfillDigests writes the digest of every projection. A writer of
// another replica may project a newer version meanwhile and write its
// digest before ours: so the projections' versions are read again
// afterwards, and the digests of those that changed are written again
// (each writer writes the projection before the digest, so a projection
// seen at the version we digested was not yet followed by a newer digest).
func (s *Store) backfillDigests(ctx context.Context, cc records.Country) error {
	done := map[string]int64{}
	write := func(id string, v int64, st []byte) error {
		d := stamped(digestOf(id, v, st))
		if err := replaceByID(ctx, s.coll(cc, digestColl), id, d); err != nil {
			return fmt.Errorf("indicator digest of %s: %w", id, err)
		}
		s.cacheDigest(cc, id, v, d.Digest, true)
		done[id] = v
		return nil
	}
	proj := bson.D{{Key: "version", Value: 1}, {Key: "nutrition", Value: 1}, {Key: "pages", Value: 1}, {Key: "splice", Value: 1}, {Key: "tail", Value: 1}}
	for round := 0; ; round++ {
		var again []string
		err := s.eachProjection(ctx, cc, bson.D{}, proj, func(d *projDoc) error {
			if d.Nutrition == "" {
				return nil
			}
			if v, ok := done[d.ID]; ok && v == d.Version {
				return nil
			}
			if round > 0 {
				again = append(again, d.ID)
			}
			st, err := s.stateOf(ctx, cc, d)
			if err != nil {
				return err
			}
			return write(d.ID, d.Version, st)
		})
		if err != nil {
			return fmt.Errorf("indicator digests: %w", err)
		}
		if round > 0 && len(again) == 0 {
			return nil
		}
		if round > 8 {
			return errors.New("indicator digests: the projections keep changing")
		}
	}
}
