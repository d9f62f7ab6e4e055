package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Format is the version of the stored format this code reads and writes,
// kept per country in the claim meta:format. Format 1 (before the log) kept
// each record as one document of personsColl holding every version; format
// 2 is the commit log; format 3 stores a commit's nutrition state as a
// delta of the previous one (log.go, nutritionDelta); format 4 adds the
// scalar keys of alert documents (alertDoc.Keys) and format 5 the alert's
// update time among them, which a start builds again (alertsMarkerKey),
// and the two-rune name terms of heads (headTermsMarkerKey); format 6 adds
// the one-rune name terms of heads (headTermsMarkerKey again).
const Format = 6

const formatKey = "format"

// v1Doc is a format-1 person document.
type v1Doc struct {
	ID        string    `bson:"_id"`
	Version   int64     `bson:"version"`
	Created   time.Time `bson:"created"`
	Updated   time.Time `bson:"updated"`
	Resources []string  `bson:"resources"`
	Txns      []txnDoc  `bson:"txns,omitempty"`
	Nutrition string    `bson:"nutrition,omitempty"`
}

// migrate brings country cc to Format: a format-1 record becomes one log
// document covering all its versions, and its person document a head. It
// is idempotent (a crash midway is finished by the next start) and refuses
// a format newer than this code.
func (s *Store) migrate(ctx context.Context, cc records.Country) error {
	owner, err := s.Owner(ctx, cc, projMarkerNS, formatKey)
	switch {
	case err == nil:
		n, perr := strconv.Atoi(owner)
		if perr != nil || n > Format {
			return fmt.Errorf("the database holds stored format %q, newer than this contigo reads (%d): run a newer contigo", owner, Format)
		}
		if n == Format {
			return nil
		}
		if n >= 2 && n < Format {
			// Format 3 only adds nutrition deltas to new commits: format-2
			// data reads as it is. Formats 4 to 6 only add derived
			// fields, rebuilt by setupAlerts and setupHeadTerms. Raising the
			// mark stops older binaries at their start, which would take a
			// delta for a whole state, or write alert documents without
			// their scalar keys and heads without the name terms of one or
			// two runes.
			if _, err := s.Takeover(ctx, cc, projMarkerNS, formatKey, owner, strconv.Itoa(Format), time.Now().Add(time.Hour)); err != nil {
				return fmt.Errorf("stored format: %w", err)
			}
			return nil
		}
	case !errors.Is(err, records.ErrNotFound):
		return fmt.Errorf("stored format: %w", err)
	}
	var olds []v1Doc
	cur, err := s.coll(cc, personsColl).Find(ctx, bson.D{{Key: "resources", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		return fmt.Errorf("migrate to format %d: %w", Format, mapErr(err))
	}
	if err := cur.All(ctx, &olds); err != nil {
		return fmt.Errorf("migrate to format %d: %w", Format, mapErr(err))
	}
	for _, o := range olds {
		p := &records.Person{ID: o.ID, Country: cc, Version: o.Version, Created: o.Created.UTC(), Updated: o.Updated.UTC()}
		for i, raw := range o.Resources {
			r, err := decodeResource(raw)
			if err != nil {
				return fmt.Errorf("migrate %s: resource %d: %w", o.ID, i, err)
			}
			p.Resources = append(p.Resources, r)
		}
		for _, t := range o.Txns {
			p.Txns = append(p.Txns, records.Txn{Key: t.Key, At: t.At.UTC(), Response: t.Response})
		}
		if o.Nutrition != "" {
			p.Nutrition = []byte(o.Nutrition)
		}
		d, err := seedDoc(p)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", o.ID, err)
		}
		if _, err := s.coll(cc, commitsColl).InsertOne(ctx, d); err != nil && !errors.Is(mapErr(err), records.ErrConflict) {
			return fmt.Errorf("migrate %s: %w", o.ID, mapErr(err))
		}
		e, err := s.load(ctx, cc, o.ID)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", o.ID, err)
		}
		if err := s.project(ctx, cc, e); err != nil {
			return fmt.Errorf("migrate %s: %w", o.ID, err)
		}
	}
	if _, err := s.Claim(ctx, cc, projMarkerNS, formatKey, strconv.Itoa(Format)); err != nil {
		return fmt.Errorf("stored format: %w", err)
	}
	return nil
}
