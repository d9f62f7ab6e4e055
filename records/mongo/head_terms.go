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
// them hold only equality terms (v1 added the prefixes of three runes and
// dates, v2 those of two runes of names, v3 those of one rune of names),
// and a search that looks up a prefix term would miss them: so a store
// upgrades the heads of a data set without the claim at start
// (setupHeadTerms), before it serves any search.
const headTermsMarkerKey = "head-terms-v3"

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
// its Patient gives (patientIdx), in passes until one finds none to set.
// Each pass first lists the heads to change (reading every head, the cursor
// then closed: FerretDB on SQLite stalls a cursor's next batch behind
// writes made meanwhile), then reads each again by _id and sets its idx.
// A writer of another replica may replace a head meanwhile (with the right
// idx of its newer Patient), and our $set, computed from the Patient we
// read, may land after it: the next pass, which compares each head with
// its own Patient, sets it again.
func (s *Store) retermHeads(ctx context.Context, cc records.Country) error {
	coll := s.coll(cc, personsColl)
	proj := bson.D{{Key: "version", Value: 1}, {Key: "idx", Value: 1}, {Key: "patient", Value: 1}}
	for pass := 0; pass < 8; pass++ {
		var stale []string
		err := eachDoc(ctx, coll, bson.D{}, proj, func(h *headDoc) error {
			want, err := wantIdx(h)
			if err != nil {
				return err
			}
			if !slices.Equal(want, h.Idx) {
				stale = append(stale, h.ID)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("head terms: %w", err)
		}
		if len(stale) == 0 {
			return nil
		}
		for _, id := range stale {
			var h headDoc
			err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(proj)).Decode(&h)
			if errors.Is(err, mongo.ErrNoDocuments) {
				continue
			}
			if err != nil {
				return fmt.Errorf("head terms of %s: %w", id, mapErr(err))
			}
			want, err := wantIdx(&h)
			if err != nil {
				return fmt.Errorf("head terms: %w", err)
			}
			// By _id alone: FerretDB serves that from its _id index (a
			// condition more reads every head, once per update).
			_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "idx", Value: want}}}})
			if err != nil {
				return fmt.Errorf("head terms of %s: %w", id, mapErr(err))
			}
		}
	}
	return errors.New("head terms: the heads keep changing")
}

// wantIdx returns the idx that head h's Patient gives.
func wantIdx(h *headDoc) ([]string, error) {
	if h.Patient == "" {
		return []string{}, nil
	}
	r, err := decodeResource(h.Patient)
	if err != nil {
		return nil, fmt.Errorf("head of %s: %w", h.ID, err)
	}
	if r.Deleted {
		return []string{}, nil
	}
	return patientIdx(r), nil
}

// eachDoc calls fn with every document of coll matching filter, decoded
// into a T, with projection proj.
func eachDoc[T any](ctx context.Context, coll *mongo.Collection, filter, proj bson.D, fn func(*T) error) error {
	return eachDocOpts(ctx, coll, filter, options.Find().SetProjection(proj), fn)
}

// eachDocOpts is eachDoc with the find's options (a sort, a limit).
func eachDocOpts[T any](ctx context.Context, coll *mongo.Collection, filter bson.D, opts *options.FindOptionsBuilder, fn func(*T) error) error {
	cur, err := coll.Find(ctx, filter, opts)
	if err != nil {
		return mapErr(err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d T
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if err := fn(&d); err != nil {
			return err
		}
	}
	return mapErr(cur.Err())
}
