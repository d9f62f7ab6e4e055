package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// personDoc is the stored form of a records.Person (persistence contract:
// never rename a bson tag). Besides the record itself it holds search fields
// derived from the current resources, top-level arrays of strings so that
// MongoDB indexes serve them.
type personDoc struct {
	ID        string    `bson:"_id"`
	Version   int64     `bson:"version"`
	Created   time.Time `bson:"created"`
	Updated   time.Time `bson:"updated"`
	Resources []string  `bson:"resources"` // resourceDoc JSON, oldest first
	Txns      []txnDoc  `bson:"txns,omitempty"`
	// Nutrition is records.Person.Nutrition (JSON text), absent if never
	// assessed. Alerts are searched through their Flag resources' idx
	// entries, not inside this field.
	Nutrition string `bson:"nutrition,omitempty"`

	// Types lists the types of the current resources.
	Types []string `bson:"types"`
	// Idx lists "Type|key|value" for every search key value of every
	// current resource, including "_id" and "_lastUpdated".
	Idx []string `bson:"idx"`
}

// resourceDoc is one version of one resource, stored as one JSON string
// (an element of personDoc.Resources). A string rather than a sub-document
// because the embedded engine stores every sub-document with its own type
// schema and decodes value by value: a 100-entry record read 3x faster
// this way. Nothing queries inside resources: search uses the top-level idx.
type resourceDoc struct {
	Type    string       `json:"t"`
	ID      string       `json:"i"`
	Version int64        `json:"v"`
	Updated time.Time    `json:"u"`
	Deleted bool         `json:"d,omitempty"`
	Body    string       `json:"b,omitempty"` // FHIR JSON, byte for byte
	Keys    records.Keys `json:"k,omitempty"`
}

type txnDoc struct {
	Key      string    `bson:"key"`
	At       time.Time `bson:"at"`
	Response []byte    `bson:"resp,omitempty"`
}

// idxEntry is the element of personDoc.Idx for value v of key on typ.
func idxEntry(typ, key, v string) string { return typ + "|" + key + "|" + v }

func toDoc(p *records.Person) (personDoc, error) {
	d := personDoc{ID: p.ID, Version: p.Version, Created: p.Created, Updated: p.Updated,
		Resources: make([]string, len(p.Resources)), Types: []string{}, Idx: []string{}, Nutrition: string(p.Nutrition)}
	for i, r := range p.Resources {
		rd := resourceDoc{Type: r.Type, ID: r.ID, Version: r.Version, Updated: r.Updated.UTC(), Deleted: r.Deleted, Body: string(r.Body), Keys: r.Keys}
		b, err := json.Marshal(rd)
		if err != nil {
			return personDoc{}, fmt.Errorf("encode %s/%s: %w", r.Type, r.ID, err)
		}
		d.Resources[i] = string(b)
	}
	for _, t := range p.Txns {
		d.Txns = append(d.Txns, txnDoc{Key: t.Key, At: t.At, Response: t.Response})
	}
	for _, r := range p.Latest() {
		if !slices.Contains(d.Types, r.Type) {
			d.Types = append(d.Types, r.Type)
		}
		d.Idx = append(d.Idx, idxEntry(r.Type, "_id", r.ID), idxEntry(r.Type, "_lastUpdated", r.Updated.UTC().Format(records.TimeFormat)))
		for _, k := range sortedKeys(r.Keys) {
			for _, v := range r.Keys[k] {
				d.Idx = append(d.Idx, idxEntry(r.Type, k, v))
			}
		}
	}
	slices.Sort(d.Idx)
	d.Idx = slices.Compact(d.Idx)
	return d, nil
}

func sortedKeys(k records.Keys) []string {
	out := make([]string, 0, len(k))
	for name := range k {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func fromDoc(cc records.Country, d *personDoc) (*records.Person, error) {
	p := &records.Person{ID: d.ID, Country: cc, Version: d.Version, Created: d.Created.UTC(), Updated: d.Updated.UTC(),
		Resources: make([]records.Resource, len(d.Resources))}
	if d.Nutrition != "" {
		p.Nutrition = []byte(d.Nutrition)
	}
	for i, raw := range d.Resources {
		var rd resourceDoc
		if err := json.Unmarshal([]byte(raw), &rd); err != nil {
			return nil, fmt.Errorf("decode resource %d: %w", i, err)
		}
		r := records.Resource{Type: rd.Type, ID: rd.ID, Version: rd.Version, Updated: rd.Updated.UTC(), Deleted: rd.Deleted, Keys: rd.Keys}
		if rd.Body != "" {
			r.Body = []byte(rd.Body)
		}
		p.Resources[i] = r
	}
	for _, t := range d.Txns {
		p.Txns = append(p.Txns, records.Txn{Key: t.Key, At: t.At.UTC(), Response: t.Response})
	}
	return p, nil
}

// Person returns the record of person id; ErrNotFound if there is none.
func (s *Store) Person(ctx context.Context, cc records.Country, id string) (_ *records.Person, err error) {
	defer s.observe("person", time.Now(), &err)
	var d personDoc
	if err := s.coll(cc, personsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, fmt.Errorf("read person %s: %w", id, mapErr(err))
	}
	p, err := fromDoc(cc, &d)
	if err != nil {
		return nil, fmt.Errorf("read person %s: %w", id, err)
	}
	return p, nil
}

// Insert stores a new record; ErrConflict if the id exists.
func (s *Store) Insert(ctx context.Context, cc records.Country, p *records.Person) (err error) {
	defer s.observe("insert", time.Now(), &err)
	d, err := toDoc(p)
	if err != nil {
		return fmt.Errorf("insert person %s: %w", p.ID, err)
	}
	defer s.lock(cc, "person\x00"+p.ID)()
	if err := s.markPending(ctx, cc, p); err != nil {
		return fmt.Errorf("insert person %s: %w", p.ID, err)
	}
	if _, err := s.coll(cc, personsColl).InsertOne(ctx, d); err != nil {
		return fmt.Errorf("insert person %s: %w", p.ID, mapErr(err))
	}
	s.project(ctx, cc, p)
	return nil
}

// InsertMany stores new records in one unordered batch, for imports and
// benchmark seeding; ErrConflict if some id exists (the others are stored).
func (s *Store) InsertMany(ctx context.Context, cc records.Country, ps []*records.Person) (err error) {
	defer s.observe("insert_many", time.Now(), &err)
	docs := make([]personDoc, len(ps))
	for i, p := range ps {
		if docs[i], err = toDoc(p); err != nil {
			return fmt.Errorf("insert person %s: %w", p.ID, err)
		}
	}
	defer s.lockAll()()
	if err := s.markPendingMany(ctx, cc, ps); err != nil {
		return fmt.Errorf("insert %d persons: %w", len(ps), err)
	}
	if _, err := s.coll(cc, personsColl).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil {
		for _, p := range ps {
			if projected(p) {
				s.markDirty(cc, p.ID) // repaired (or dropped, if not stored) before the next read
			}
		}
		return fmt.Errorf("insert %d persons: %w", len(ps), mapErr(err))
	}
	s.projectMany(ctx, cc, ps)
	return nil
}

// Replace stores p if the stored record's version is prev, atomically;
// ErrVersionMismatch otherwise, ErrNotFound if there is no record.
//
// On MongoDB the filter {_id, version: prev} makes the replacement a
// compare-and-swap. FerretDB evaluates any filter but {_id: value} in Go over
// the whole collection (hundreds of milliseconds at 100,000 persons), so on
// the embedded engine the version check and the {_id}-only replacement run
// under an in-process lock per person instead: the embedded engine belongs to
// this process, so no other writer can interleave.
func (s *Store) Replace(ctx context.Context, cc records.Country, p *records.Person, prev int64) (err error) {
	defer s.observe("replace", time.Now(), &err)
	c := s.coll(cc, personsColl)
	d, err := toDoc(p)
	if err != nil {
		return fmt.Errorf("replace person %s: %w", p.ID, err)
	}
	// On the embedded engine the lock also orders the projection writes.
	defer s.lock(cc, "person\x00"+p.ID)()
	if err := s.markPending(ctx, cc, p); err != nil {
		return fmt.Errorf("replace person %s: %w", p.ID, err)
	}
	if err := s.replace(ctx, c, &d, p.ID, prev); err != nil {
		return err
	}
	s.project(ctx, cc, p)
	return nil
}

// replace is the version-checked replacement of Replace.
func (s *Store) replace(ctx context.Context, c *mongo.Collection, d *personDoc, id string, prev int64) error {
	if s.ferret {
		var cur struct {
			Version int64 `bson:"version"`
		}
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&cur); err != nil {
			return fmt.Errorf("replace person %s: %w", id, mapErr(err))
		}
		if cur.Version != prev {
			return fmt.Errorf("replace person %s: stored version %d, want %d: %w", id, cur.Version, prev, records.ErrVersionMismatch)
		}
		if _, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, d); err != nil {
			return fmt.Errorf("replace person %s: %w", id, mapErr(err))
		}
		return nil
	}
	res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: prev}}, d)
	if err != nil {
		return fmt.Errorf("replace person %s: %w", id, mapErr(err))
	}
	if res.MatchedCount == 1 {
		return nil
	}
	err = c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("replace person %s: %w", id, records.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("replace person %s: %w", id, mapErr(err))
	}
	return fmt.Errorf("replace person %s: version is not %d: %w", id, prev, records.ErrVersionMismatch)
}
