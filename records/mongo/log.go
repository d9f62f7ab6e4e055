package mongo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// commitsColl holds every record as an append-only log: one document per
// commit ("c:<person>:<version>") and segments ("s:<person>:<first>") that
// copy runs of consecutive commits so that a record reads in few lookups.
// Both kinds are inserted once and never changed.
//
// Why it is correct on every engine: the only guarantee the write path
// relies on is that an insert of a document whose _id exists fails with a
// duplicate key error, atomically, so that of two writers of version N of a
// record exactly one succeeds. MongoDB guarantees it through the unique _id
// index (https://www.mongodb.com/docs/manual/core/document/#the-_id-field and
// https://www.mongodb.com/docs/manual/core/index-unique/); FerretDB keeps _id
// unique with a unique index in PostgreSQL and a primary key in SQLite. Reads
// use only {_id: value} lookups, which every engine serves from an index.
const commitsColl = "commits"

// Segment limits: a segment copies at most segCommits commits and closes
// once it holds segBytes, far below MongoDB's 16 MB document limit even
// with one more maximal commit.
const (
	segCommits = 32
	segBytes   = 2 << 20
)

// commitDoc is one commit or one segment (persistence contract: never
// rename a bson tag).
type commitDoc struct {
	ID     string    `bson:"_id"`
	Person string    `bson:"p"`
	First  int64     `bson:"f"` // first version covered
	Last   int64     `bson:"l"` // last version covered (== First for a commit)
	At     time.Time `bson:"at"`
	// Created is set on the document that covers version 1.
	Created time.Time `bson:"c,omitempty"`
	// Resources are resourceDoc JSON strings, in the order they apply.
	Resources []string `bson:"r"`
	Txns      []txnDoc `bson:"x,omitempty"`
	// Nutrition is the state after Last when some covered commit set it.
	// In a commit with NutDelta (format 3) it holds only the changed middle:
	// the state is the previous one's first NutPrefix bytes, Nutrition, and
	// the previous one's last NutSuffix bytes (nutritionDelta).
	Nutrition    string `bson:"n,omitempty"`
	HasNutrition bool   `bson:"hn,omitempty"`
	NutDelta     bool   `bson:"nd,omitempty"`
	NutPrefix    int64  `bson:"np,omitempty"`
	NutSuffix    int64  `bson:"ns,omitempty"`
	// Nonce identifies the writer of a commit, so that a retried insert
	// whose first try did commit is recognised as its own.
	Nonce string `bson:"nonce,omitempty"`
	Bytes int64  `bson:"b"`
}

type txnDoc struct {
	Key      string    `bson:"key"`
	At       time.Time `bson:"at"`
	Response []byte    `bson:"resp,omitempty"`
}

func commitID(person string, v int64) string  { return fmt.Sprintf("c:%s:%012d", person, v) }
func segmentID(person string, v int64) string { return fmt.Sprintf("s:%s:%012d", person, v) }

// resourceDoc is one version of one resource, stored as one JSON string. A
// string rather than a sub-document because the embedded engine stores
// every sub-document with its own type schema and decodes value by value.
// Nothing queries inside resources.
type resourceDoc struct {
	Type    string       `json:"t"`
	ID      string       `json:"i"`
	Version int64        `json:"v"`
	Updated time.Time    `json:"u"`
	Deleted bool         `json:"d,omitempty"`
	Body    string       `json:"b,omitempty"` // FHIR JSON, byte for byte
	Keys    records.Keys `json:"k,omitempty"`
}

func encodeResource(r records.Resource) (string, error) {
	b, err := json.Marshal(resourceDoc{Type: r.Type, ID: r.ID, Version: r.Version, Updated: r.Updated.UTC(),
		Deleted: r.Deleted, Body: string(r.Body), Keys: r.Keys})
	if err != nil {
		return "", fmt.Errorf("encode %s/%s: %w", r.Type, r.ID, err)
	}
	return string(b), nil
}

func decodeResource(raw string) (records.Resource, error) {
	rd, err := decodeResourceDoc(raw)
	if err != nil {
		return records.Resource{}, fmt.Errorf("decode resource: %w", err)
	}
	r := records.Resource{Type: rd.Type, ID: rd.ID, Version: rd.Version, Updated: rd.Updated.UTC(), Deleted: rd.Deleted, Keys: rd.Keys}
	if rd.Body != "" {
		r.Body = []byte(rd.Body)
	}
	return r, nil
}

// toCommitDoc encodes c.
func toCommitDoc(c *records.Commit) (commitDoc, error) {
	d := commitDoc{ID: commitID(c.PersonID, c.Version), Person: c.PersonID, First: c.Version, Last: c.Version,
		At: c.At.UTC(), Resources: make([]string, len(c.Resources)), Nonce: rand.Text()}
	if c.Version == 1 {
		d.Created = d.At
	}
	for i, r := range c.Resources {
		raw, err := encodeResource(r)
		if err != nil {
			return commitDoc{}, err
		}
		d.Resources[i] = raw
		d.Bytes += int64(len(raw))
	}
	if c.Txn != nil {
		d.Txns = []txnDoc{{Key: c.Txn.Key, At: c.Txn.At.UTC(), Response: c.Txn.Response}}
		d.Bytes += int64(len(c.Txn.Response))
	}
	if c.Nutrition != nil {
		d.HasNutrition = true
		if pre, suf, ok := nutritionDelta(c.PrevNutrition, c.Nutrition); ok {
			d.Nutrition, d.NutDelta, d.NutPrefix, d.NutSuffix = string(c.Nutrition[pre:len(c.Nutrition)-suf]), true, int64(pre), int64(suf)
		} else {
			d.Nutrition = string(c.Nutrition)
		}
		d.Bytes += int64(len(d.Nutrition))
	}
	return d, nil
}

// nutritionDelta returns how many leading and trailing bytes next shares
// with prev; ok is false when storing next whole is as small. A nutrition
// state holds every assessment of the person, and a visit appends one (and
// changes alerts, episodes and the status after them): stored as a delta,
// a commit costs what the visit changed, not the length of the history.
func nutritionDelta(prev, next []byte) (pre, suf int, ok bool) {
	if len(prev) == 0 {
		return 0, 0, false
	}
	n := min(len(prev), len(next))
	for pre < n && prev[pre] == next[pre] {
		pre++
	}
	for suf < n-pre && prev[len(prev)-1-suf] == next[len(next)-1-suf] {
		suf++
	}
	return pre, suf, pre+suf > 64
}

// patchNutrition rebuilds the state a delta commit d made from prev.
func patchNutrition(prev []byte, d *commitDoc) ([]byte, error) {
	pre, suf := d.NutPrefix, d.NutSuffix
	if pre < 0 || suf < 0 || pre+suf > int64(len(prev)) {
		return nil, fmt.Errorf("%s: nutrition delta %d+%d bytes of a %d-byte state", d.ID, pre, suf, len(prev))
	}
	out := make([]byte, 0, pre+int64(len(d.Nutrition))+suf)
	out = append(out, prev[:pre]...)
	out = append(out, d.Nutrition...)
	return append(out, prev[int64(len(prev))-suf:]...), nil
}

// commitOf decodes d (a commit or a segment) as one commit.
func commitOf(d *commitDoc) (*records.Commit, error) {
	c := &records.Commit{PersonID: d.Person, Version: d.Last, At: d.At.UTC(), Resources: make([]records.Resource, len(d.Resources))}
	for i, raw := range d.Resources {
		r, err := decodeResource(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %d: %w", d.ID, i, err)
		}
		c.Resources[i] = r
	}
	if d.HasNutrition {
		c.Nutrition = []byte(d.Nutrition)
	}
	return c, nil
}

// apply folds d into p.
func apply(p *records.Person, d *commitDoc) error {
	if d.First != p.Version+1 {
		return fmt.Errorf("%s: covers versions %d-%d after version %d", d.ID, d.First, d.Last, p.Version)
	}
	c, err := commitOf(d)
	if err != nil {
		return err
	}
	if d.NutDelta {
		if c.Nutrition, err = patchNutrition(p.Nutrition, d); err != nil {
			return err
		}
	}
	created := p.Created
	p.Apply(c)
	if d.First > 1 {
		p.Created = created
	} else if !d.Created.IsZero() {
		p.Created = d.Created.UTC()
	}
	for _, t := range d.Txns {
		p.Txns = append(p.Txns, records.Txn{Key: t.Key, At: t.At.UTC(), Response: t.Response})
	}
	if n := len(p.Txns); n > maxTxns {
		p.Txns = append([]records.Txn(nil), p.Txns[n-maxTxns:]...)
	}
	return nil
}

// maxTxns is how many transactions a record remembers (records.Person.Txns).
const maxTxns = 50

// getCommit reads document id of the log; found is false if there is none.
func (s *Store) getCommit(ctx context.Context, cc records.Country, id string) (d commitDoc, found bool, err error) {
	err = s.coll(cc, commitsColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return commitDoc{}, false, nil
	}
	if err != nil {
		return commitDoc{}, false, mapErr(err)
	}
	return d, true, nil
}

// Person returns the record of person id as of its latest commit;
// ErrNotFound if there is none. A cached record is brought up to date with
// one lookup of the commit after it; an uncached one follows the segment
// chain, then the commits after the last segment.
func (s *Store) Person(ctx context.Context, cc records.Country, id string) (_ *records.Person, err error) {
	defer s.observe("person", time.Now(), &err)
	return s.person(ctx, cc, id, true)
}

// person returns the record of person id as Person does; with keep false a
// record that is not in the cache is read without being added to it (a
// cached one is still brought up to date there), so that a pass over every
// record (EachPerson) does not fill the cache with the whole country.
func (s *Store) person(ctx context.Context, cc records.Country, id string, keep bool) (*records.Person, error) {
	e, err := s.loadKeep(ctx, cc, id, keep)
	if err != nil {
		return nil, fmt.Errorf("read person %s: %w", id, err)
	}
	if e.p.Version == 0 {
		return nil, fmt.Errorf("read person %s: %w", id, records.ErrNotFound)
	}
	return e.person(), nil
}

// load returns the cache entry of id brought up to the latest commit (a
// zero Version if the record does not exist). The entry is private to the
// caller.
func (s *Store) load(ctx context.Context, cc records.Country, id string) (*entry, error) {
	return s.loadKeep(ctx, cc, id, true)
}

// loadKeep is load; with keep false an entry that was not cached is not
// cached either.
func (s *Store) loadKeep(ctx context.Context, cc records.Country, id string, keep bool) (*entry, error) {
	e := s.cache.get(cc, id)
	cached := e != nil
	if e == nil {
		e = &entry{p: &records.Person{ID: id, Country: cc}, tail: 1}
		// Follow the segments from version 1.
		if _, err := s.follow(ctx, cc, e, segmentID, func(*commitDoc) { e.tail = e.p.Version + 1 }); err != nil {
			return nil, err
		}
	}
	grew, err := s.follow(ctx, cc, e, commitID, func(d *commitDoc) { e.open = append(e.open, *d) })
	if err != nil {
		return nil, err
	}
	if (grew || e.p.Version > 0) && (keep || cached) {
		s.cache.put(cc, e)
	}
	return e, nil
}

// follow applies to e the log documents idOf names for the versions after
// e's, until one is missing, calling then after each; grew reports whether
// it applied any.
func (s *Store) follow(ctx context.Context, cc records.Country, e *entry, idOf func(string, int64) string, then func(*commitDoc)) (grew bool, err error) {
	for {
		d, ok, err := s.getCommit(ctx, cc, idOf(e.p.ID, e.p.Version+1))
		if err != nil || !ok {
			return grew, err
		}
		n := len(e.p.Resources)
		if err := apply(e.p, &d); err != nil {
			return grew, err
		}
		e.resources += resourcesSize(e.p.Resources[n:])
		then(&d)
		grew = true
	}
}

// Append stores c as version c.Version of its record (see records.Store).
// The insert is retried on network errors: its nonce tells a first try that
// did commit from another writer's commit.
func (s *Store) Append(ctx context.Context, cc records.Country, c *records.Commit) (err error) {
	defer s.observe("append", time.Now(), &err)
	d, err := toCommitDoc(c)
	if err != nil {
		return fmt.Errorf("append to %s: %w", c.PersonID, err)
	}
	if err := s.intend(ctx, cc, c.PersonID, c.Version); err != nil {
		return fmt.Errorf("append to %s: %w", c.PersonID, err)
	}
	switch ok, err := s.follows(ctx, cc, c.PersonID, c.Version); {
	case err != nil:
		s.done(ctx, cc, c.PersonID, c.Version)
		return fmt.Errorf("append to %s: %w", c.PersonID, err)
	case !ok:
		s.done(ctx, cc, c.PersonID, c.Version)
		return fmt.Errorf("append to %s: version %d is not the next one: %w", c.PersonID, c.Version, records.ErrVersionMismatch)
	}
	col := s.coll(cc, commitsColl)
	for try := 0; ; try++ {
		_, err = col.InsertOne(ctx, d)
		if err == nil {
			break
		}
		if mongo.IsDuplicateKeyError(err) {
			got, found, gerr := s.getCommit(ctx, cc, d.ID)
			if gerr == nil && found && got.Nonce == d.Nonce {
				break // an earlier try of this very insert committed
			}
			s.done(ctx, cc, c.PersonID, c.Version)
			if c.Version == 1 {
				return fmt.Errorf("append to %s: the record exists: %w", c.PersonID, records.ErrConflict)
			}
			return fmt.Errorf("append to %s: version %d exists: %w", c.PersonID, c.Version, records.ErrVersionMismatch)
		}
		if err = mapErr(err); !errors.Is(err, records.ErrUnavailable) || try == 4 || ctx.Err() != nil {
			return fmt.Errorf("append to %s: %w", c.PersonID, err)
		}
		time.Sleep(time.Duration(100*(try+1)) * time.Millisecond)
	}
	s.afterCommit(ctx, cc, c.PersonID, c, &d)
	return nil
}

// follows reports whether a commit of version v of person id would be
// read: version v-1 ends a log document (a record is read by following
// c:<id>:<last+1> from version 1). A seed (seedDoc: c:<id>:1 covering
// versions 1 to its Last, from Insert or a format-1 migration) leaves the
// ids of the versions inside it free, and a commit inserted there would
// be acknowledged and never read. Log documents are immutable and inserted
// once, so the answer cannot change. The record cache usually answers:
// the Service appends the version after the one it just read.
func (s *Store) follows(ctx context.Context, cc records.Country, id string, v int64) (bool, error) {
	if v <= 1 || s.cache.version(cc, id) == v-1 {
		return v >= 1, nil
	}
	d, ok, err := s.getCommit(ctx, cc, commitID(id, v-1))
	if err != nil {
		return false, err
	}
	if ok || v-1 == 1 {
		return ok && d.Last == v-1, nil
	}
	d, ok, err = s.getCommit(ctx, cc, commitID(id, 1))
	if err != nil {
		return false, err
	}
	return ok && d.Last == v-1, nil
}

// afterCommit brings the derived documents of person id up to its latest
// commit: the segment, the head (search) and the nutrition projection. A
// failure leaves the intent in place for Reconcile. c, if not nil, is the
// commit this process just stored as d.
func (s *Store) afterCommit(ctx context.Context, cc records.Country, id string, c *records.Commit, d *commitDoc) {
	var e *entry
	if c != nil {
		e = s.extendCached(cc, c, d)
	}
	if e == nil {
		var err error
		if e, err = s.load(ctx, cc, id); err != nil {
			return
		}
	}
	s.segment(ctx, cc, e)
	if err := s.project(ctx, cc, e); err != nil {
		return
	}
}

// extendCached returns the cached record of c's person with c applied, when
// the cache holds the version c follows; nil otherwise. c is in the log as d
// (this process inserted it), so this is what reading d would give, without
// the read, and without patching the whole nutrition state: c holds it.
// Newer commits are looked for by project, as after any load.
func (s *Store) extendCached(cc records.Country, c *records.Commit, d *commitDoc) *entry {
	e := s.cache.get(cc, c.PersonID)
	if e == nil || e.p.Version != c.Version-1 {
		return nil
	}
	own := *d
	if own.NutDelta && !bytes.Equal(e.p.Nutrition, c.PrevNutrition) {
		return nil // the delta was taken from another state: read the log
	}
	// The state is c's, not patched or copied from d.
	own.Nutrition, own.NutDelta, own.NutPrefix, own.NutSuffix = "", false, 0, 0
	n := len(e.p.Resources)
	if err := apply(e.p, &own); err != nil {
		return nil
	}
	if d.HasNutrition {
		e.p.Nutrition, e.p.NutritionDigest = c.Nutrition, c.NutritionDigest
	}
	e.resources += resourcesSize(e.p.Resources[n:])
	e.open = append(e.open, *d)
	s.cache.put(cc, e)
	return e
}

// segment copies the commits after the last segment into a new segment
// once there are enough of them. Losing the insert race to another writer
// of the same segment is fine: both copy the same commits.
func (s *Store) segment(ctx context.Context, cc records.Country, e *entry) {
	var size int64
	for _, d := range e.open {
		size += d.Bytes
	}
	if len(e.open) < segCommits && (size < segBytes || len(e.open) < 2) {
		return
	}
	if len(e.open) == 0 || e.open[0].First != e.tail {
		return // loaded from the middle: the next writer segments
	}
	seg := commitDoc{ID: segmentID(e.p.ID, e.tail), Person: e.p.ID, First: e.tail, Last: e.open[len(e.open)-1].Last,
		At: e.open[len(e.open)-1].At, Created: e.open[0].Created}
	var nut *commitDoc
	for i := range e.open {
		d := &e.open[i]
		seg.Resources = append(seg.Resources, d.Resources...)
		seg.Txns = append(seg.Txns, d.Txns...)
		seg.Bytes += d.Bytes
		if d.HasNutrition {
			nut = d
		}
	}
	if nut != nil {
		if e.p.Version != seg.Last {
			return
		}
		seg.Nutrition, seg.HasNutrition = string(e.p.Nutrition), true // whole: a segment starts no delta chain
	}
	if n := len(seg.Txns); n > maxTxns {
		seg.Txns = seg.Txns[n-maxTxns:]
	}
	_, err := s.coll(cc, commitsColl).InsertOne(ctx, seg)
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return
	}
	e.tail, e.open = seg.Last+1, nil
	s.cache.put(cc, e)
}
