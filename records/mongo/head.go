package mongo

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// headDoc is the search projection of one record in personsColl
// (persistence contract: never rename a bson tag): what Patient search
// needs, with a size bounded by the Patient, not by the record's history.
// It is derived from the log and rewritten whole after each commit.
type headDoc struct {
	ID      string    `bson:"_id"`
	Version int64     `bson:"version"`
	Created time.Time `bson:"created"`
	Updated time.Time `bson:"updated"`
	// Types lists the types of the record's current resources.
	Types []string `bson:"types"`
	// Idx lists "Patient|" + every search term (terms.go) of the current
	// Patient's keys, "_id" and "_lastUpdated": "Patient|key|value" for
	// each value and "Patient|key^|prefix" for its prefixes.
	Idx []string `bson:"idx"`
	// Patient is the current Patient version (resourceDoc JSON).
	Patient string `bson:"patient,omitempty"`
}

// idxEntry is the element of headDoc.Idx for value v of key on typ.
func idxEntry(typ, key, v string) string { return typ + "|" + eqTerm(key, v) }

// headOf returns the head of p, whose current resources are latest
// (p.Latest()).
func headOf(p *records.Person, latest []records.Resource) (headDoc, error) {
	d := headDoc{ID: p.ID, Version: p.Version, Created: p.Created.UTC(), Updated: p.Updated.UTC(), Types: []string{}, Idx: []string{}}
	for _, r := range latest {
		if !slices.Contains(d.Types, r.Type) {
			d.Types = append(d.Types, r.Type)
		}
	}
	slices.Sort(d.Types)
	if r, ok := p.Patient(); ok {
		raw, err := encodeResource(r)
		if err != nil {
			return headDoc{}, err
		}
		d.Patient = raw
		if !r.Deleted {
			d.Idx = patientIdx(r)
		}
	}
	return d, nil
}

// patientIdx returns the idx of a head whose current Patient is r: the
// search terms (terms.go) of its keys, _id and _lastUpdated, each as
// "Patient|" + term, sorted.
func patientIdx(r records.Resource) []string {
	var idx []string
	add := func(term string) { idx = append(idx, r.Type+"|"+term) }
	keyTerms("_id", r.ID, add)
	keyTerms("_lastUpdated", r.Updated.UTC().Format(records.TimeFormat), add)
	for k, vals := range r.Keys {
		for _, v := range vals {
			keyTerms(k, v, add)
		}
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

func sortedKeys(k records.Keys) []string {
	out := make([]string, 0, len(k))
	for name := range k {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// replaceByID replaces (or inserts) the document with d's _id. Two writers
// inserting the same new _id at once make one fail with a duplicate key;
// it then replaces the document the other inserted. A replacement by _id
// is atomic on every engine
// (https://www.mongodb.com/docs/manual/core/write-operations-atomicity/).
func replaceByID(ctx context.Context, c *mongo.Collection, id string, d any) error {
	_, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, d, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		_, err = c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, d)
	}
	return mapErr(err)
}

// project writes the head and the nutrition projection of e's record, then
// looks for a commit after it: projections are last-writer-wins, so a
// writer that finds a newer commit projects again from it. Whoever writes
// last has seen no newer commit after writing, so the projections end up
// describing the latest commit. It then clears the intents the record's
// writers left for versions up to the projected one.
func (s *Store) project(ctx context.Context, cc records.Country, e *entry) error {
	for range 16 {
		latest := e.p.Latest() // once for the head, the projection and the flag cache
		h, err := headOf(e.p, latest)
		if err != nil {
			return fmt.Errorf("project %s: %w", e.p.ID, err)
		}
		if err := replaceByID(ctx, s.coll(cc, personsColl), e.p.ID, h); err != nil {
			return fmt.Errorf("project %s: head: %w", e.p.ID, err)
		}
		s.indexHead(cc, &h)
		if err := s.writeProjection(ctx, cc, e.p, latest); err != nil {
			return fmt.Errorf("project %s: %w", e.p.ID, err)
		}
		_, newer, err := s.getCommit(ctx, cc, commitID(e.p.ID, e.p.Version+1))
		if err != nil {
			return fmt.Errorf("project %s: %w", e.p.ID, err)
		}
		if !newer {
			return s.clearIntents(ctx, cc, e.p.ID, e.p.Version)
		}
		if e, err = s.load(ctx, cc, e.p.ID); err != nil {
			return fmt.Errorf("project %s: %w", e.p.ID, err)
		}
	}
	return fmt.Errorf("project %s: the record keeps changing", e.p.ID)
}

// intentsColl holds one document per commit being written: inserted before
// the commit, deleted once the commit's projections are written. What is
// left after a crash tells Reconcile which records to project again.
const intentsColl = "intents"

type intentDoc struct {
	ID      string    `bson:"_id"` // "<person>:<version>:<random>"
	Person  string    `bson:"p"`
	Version int64     `bson:"v"`
	At      time.Time `bson:"at"`
}

// intend records that a commit of version v of person id is being written.
func (s *Store) intend(ctx context.Context, cc records.Country, id string, v int64) error {
	d := intentDoc{ID: fmt.Sprintf("%s:%d:%s", id, v, strings.ToLower(rand.Text()[:8])), Person: id, Version: v, At: time.Now().UTC()}
	if _, err := s.coll(cc, intentsColl).InsertOne(ctx, d); err != nil {
		return fmt.Errorf("intent: %w", mapErr(err))
	}
	return nil
}

// done clears the intents of person id up to version v (after a lost race:
// the winner's projections cover it).
func (s *Store) done(ctx context.Context, cc records.Country, id string, v int64) {
	_ = s.clearIntents(ctx, cc, id, v)
}

// clearIntents deletes the intents of person id for versions <= v. The
// intents of a record are few, and found by the prefix of their _id.
func (s *Store) clearIntents(ctx context.Context, cc records.Country, id string, v int64) error {
	ins, err := s.intents(ctx, cc)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.Person != id || in.Version > v {
			continue
		}
		if _, err := s.coll(cc, intentsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: in.ID}}); err != nil {
			return fmt.Errorf("clear intent: %w", mapErr(err))
		}
	}
	return nil
}

// intents lists the open intents of cc: a small collection (writes in
// flight and crashed ones), read whole.
func (s *Store) intents(ctx context.Context, cc records.Country) ([]intentDoc, error) {
	cur, err := s.coll(cc, intentsColl).Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("intents: %w", mapErr(err))
	}
	var out []intentDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("intents: %w", mapErr(err))
	}
	return out, nil
}

// Reconcile finishes what crashed writers left: it projects again every
// record with an open intent whose commit exists, and deletes intents whose
// commit never happened once they are older than records.StaleClaim. It
// returns how many records it projected. serve runs it at start and with
// every follow-up scan.
func (s *Store) Reconcile(ctx context.Context, cc records.Country) (_ int, err error) {
	defer s.observe("reconcile", time.Now(), &err)
	ins, err := s.intents(ctx, cc)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	n := 0
	for _, in := range ins {
		if seen[in.Person] {
			continue
		}
		e, err := s.load(ctx, cc, in.Person)
		if err != nil {
			return n, fmt.Errorf("reconcile %s: %w", in.Person, err)
		}
		if e.p.Version >= in.Version {
			seen[in.Person] = true
			if e.p.Version > 0 {
				if err := s.project(ctx, cc, e); err != nil {
					return n, fmt.Errorf("reconcile: %w", err)
				}
				n++
			}
			continue
		}
		if time.Since(in.At) > records.StaleClaim {
			if _, err := s.coll(cc, intentsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: in.ID}}); err != nil {
				return n, fmt.Errorf("reconcile: %w", mapErr(err))
			}
		}
	}
	return n, nil
}
