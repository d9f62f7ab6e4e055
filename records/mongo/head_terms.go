package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// headTermsMarkerKey names the claim that says every head of a country
// holds the prefix terms of terms.go in its idx. Heads written before
// them hold only equality terms, and a search that looks up a prefix term
// would miss them: so a store upgrades the heads of a data set without the
// claim at start (setupHeadTerms), before it serves any search.
const headTermsMarkerKey = "head-terms-v1"

// setupHeadTerms gives every head of cc the idx of its current Patient
// once (marked by a claim), for data sets written before the prefix terms.
func (s *Store) setupHeadTerms(ctx context.Context, cc records.Country) error {
	_, err := s.Owner(ctx, cc, projMarkerNS, headTermsMarkerKey)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, records.ErrNotFound):
		return fmt.Errorf("head terms marker: %w", err)
	}
	if err := s.retermHeads(ctx, cc); err != nil {
		return err
	}
	if _, err := s.Claim(ctx, cc, projMarkerNS, headTermsMarkerKey, "built"); err != nil {
		return fmt.Errorf("head terms marker: %w", err)
	}
	return nil
}

// retermHeads sets the idx of every head of cc that differs from the one
// its Patient gives (patientIdx), in passes until one finds none to set. A
// writer of another replica may replace a head meanwhile (with the right
// idx of its newer Patient), and our $set, computed from the Patient we
// read, may land after it: the update asks for the version we read, and
// the next pass, which compares each head with its own Patient, would set
// it again.
func (s *Store) retermHeads(ctx context.Context, cc records.Country) error {
	coll := s.coll(cc, personsColl)
	const batch = 32 // FerretDB can hang on an update of 100 statements or more
	for pass := 0; pass < 8; pass++ {
		var models []mongo.WriteModel
		set := 0
		flush := func() error {
			if len(models) == 0 {
				return nil
			}
			if _, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
				return fmt.Errorf("head terms: %w", mapErr(err))
			}
			set += len(models)
			models = models[:0]
			return nil
		}
		cur, err := coll.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "version", Value: 1}, {Key: "idx", Value: 1}, {Key: "patient", Value: 1}}))
		if err != nil {
			return fmt.Errorf("head terms: %w", mapErr(err))
		}
		for cur.Next(ctx) {
			var h headDoc
			if err := cur.Decode(&h); err != nil {
				cur.Close(context.WithoutCancel(ctx))
				return fmt.Errorf("head terms: decode head: %w", err)
			}
			want := []string{}
			if h.Patient != "" {
				r, err := decodeResource(h.Patient)
				if err != nil {
					cur.Close(context.WithoutCancel(ctx))
					return fmt.Errorf("head terms of %s: %w", h.ID, err)
				}
				if !r.Deleted {
					want = patientIdx(r)
				}
			}
			if slices.Equal(want, h.Idx) {
				continue
			}
			models = append(models, mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: h.ID}, {Key: "version", Value: h.Version}}).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "idx", Value: want}}}}))
			if len(models) == batch {
				if err := flush(); err != nil {
					cur.Close(context.WithoutCancel(ctx))
					return err
				}
			}
		}
		err = mapErr(cur.Err())
		cur.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("head terms: %w", err)
		}
		if err := flush(); err != nil {
			return err
		}
		if set == 0 {
			return nil
		}
	}
	return errors.New("head terms: the heads keep changing")
}
