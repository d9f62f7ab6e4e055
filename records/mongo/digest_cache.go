package mongo

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unique"

	"contigo/records"
	"contigo/records/nutrition"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// digestCache keeps the indicator facts of every person in memory, keyed
// by the record version digested, so that /indicators counts facts in
// memory (about 50 ms for 100,000 persons) instead of reading and decoding
// one digest document per person at every request (FerretDB decodes each
// document in Go: 974 ms at 10,000 persons on PostgreSQL).
//
// It is a cache, never a source of truth. When this process holds the data
// directory (exclusive), every digest write of the process updates it, so
// it is loaded once. Otherwise (replicas on one server) every use first
// lists the (_id, version) of every stored digest, a small read, and
// fetches the digests whose version differs or that it lacks, dropping
// those no longer stored: the facts counted are the stored digests as of
// that listing, as a full read would give, whatever other replicas wrote.
type digestCache struct {
	mu  sync.Mutex
	ccs map[records.Country]*digestSet
}

// digestSet is the cached digests of one country.
type digestSet struct {
	refresh sync.Mutex // one load or refresh at a time

	mu      sync.Mutex // guards the fields below
	loaded  bool
	version map[string]int64 // person -> version digested (kept after a delete: a tombstone)
	facts   map[string]nutrition.Facts
	// tickets count uses: a use takes the next ticket on arrival, and a
	// refresh that started after a use's ticket was taken serves that use
	// as well as its own (its listing began after the use arrived).
	tickets   uint64
	refreshed uint64 // ticket count at the start of the last completed refresh
	read      int    // digests read from the database (for tests)
}

func (c *digestCache) country(cc records.Country) *digestSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ccs == nil {
		c.ccs = map[records.Country]*digestSet{}
	}
	d := c.ccs[cc]
	if d == nil {
		d = &digestSet{version: map[string]int64{}, facts: map[string]nutrition.Facts{}}
		c.ccs[cc] = d
	}
	return d
}

// reset forgets the digests of cc (loaded again at the next use).
func (c *digestCache) reset(cc records.Country) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ccs, cc)
}

// put records the digest d (nutrition.Digest JSON; "" for a state that is
// not one) of version v of person id, unless a newer version is recorded;
// present false records that the person has no digest at version v.
func (d *digestSet) put(id string, v int64, digest string, present bool) {
	var f nutrition.Facts
	if present && digest != "" {
		var err error
		if f, err = nutrition.ParseDigest([]byte(digest)); err != nil {
			f = nutrition.Facts{} // as digestOf stores a broken state: counted as nothing
		}
		internFacts(&f)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if have, ok := d.version[id]; ok && have > v {
		return
	}
	d.version[id] = v
	if present {
		d.facts[id] = f
	} else {
		delete(d.facts, id)
	}
}

// snapshot returns the cached facts.
func (d *digestSet) snapshot() []nutrition.Facts {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]nutrition.Facts, 0, len(d.facts))
	for _, f := range d.facts {
		out = append(out, f)
	}
	return out
}

// internFacts makes the repeated strings of f (areas, groups, programmes,
// kinds) share one copy each: 100,000 persons' facts hold a few hundred
// distinct strings.
func internFacts(f *nutrition.Facts) {
	in := func(s *string) { *s = unique.Make(*s).Value() }
	in(&f.Sex)
	in(&f.AgeBand)
	in(&f.Pop)
	for i := range f.Screens {
		a := &f.Screens[i]
		in(&a.Area)
		in(&a.Sex)
		in(&a.AgeBand)
		in(&a.Pop)
	}
	for i := range f.Eps {
		e := &f.Eps[i]
		in(&e.Area)
		in(&e.Sex)
		in(&e.AgeBand)
		in(&e.Pop)
		in(&e.Programme)
		in(&e.AdmissionType)
		in(&e.Outcome)
	}
	for i := range f.Ivs {
		in(&f.Ivs[i].Area)
		in(&f.Ivs[i].Kind)
	}
}

// cacheDigest records a digest this process wrote (exclusive store only:
// otherwise every use lists the stored versions).
func (s *Store) cacheDigest(cc records.Country, id string, v int64, digest string, present bool) {
	if !s.exclusive() {
		return
	}
	s.digests.country(cc).put(id, v, digest, present)
}

// IndicatorFacts returns the indicator facts (nutrition.Facts of the
// stored digests) of every person of cc with a nutrition state, for
// /indicators.
func (s *Store) IndicatorFacts(ctx context.Context, cc records.Country) (_ []nutrition.Facts, err error) {
	defer s.observe("indicator_facts", time.Now(), &err)
	d := s.digests.country(cc)
	d.mu.Lock()
	d.tickets++
	ticket := d.tickets
	d.mu.Unlock()

	d.refresh.Lock()
	defer d.refresh.Unlock()
	d.mu.Lock()
	fresh := d.loaded && (s.exclusive() || d.refreshed >= ticket)
	started := d.tickets
	d.mu.Unlock()
	if !fresh {
		if err := s.refreshDigests(ctx, cc, d); err != nil {
			return nil, fmt.Errorf("indicator facts: %w", err)
		}
		d.mu.Lock()
		d.loaded, d.refreshed = true, started
		d.mu.Unlock()
	}
	return d.snapshot(), nil
}

// refreshDigests brings d up to the stored digests of cc: the first time
// by reading them all; after that (not exclusive) by listing their versions
// and reading those that changed.
func (s *Store) refreshDigests(ctx context.Context, cc records.Country, d *digestSet) error {
	d.mu.Lock()
	loaded := d.loaded
	d.mu.Unlock()
	if !loaded {
		return s.loadDigests(ctx, cc, d)
	}
	stored, err := s.storedDigestVersions(ctx, cc)
	if err != nil {
		return err
	}
	var changed []string
	d.mu.Lock()
	for id, v := range stored {
		if _, have := d.facts[id]; !have || d.version[id] != v {
			changed = append(changed, id)
		}
	}
	for id := range d.facts {
		if _, ok := stored[id]; !ok {
			delete(d.facts, id) // deleted (a newer version that has none)
			delete(d.version, id)
		}
	}
	d.mu.Unlock()
	switch {
	case len(changed) == 0:
		return nil // (readDigests reads every digest for nil ids)
	case len(changed) > len(stored)/4:
		return s.loadDigests(ctx, cc, d)
	}
	return s.readDigests(ctx, cc, changed, d.replace)
}

// replace records the stored digest of person id as read (a refresh: what
// is stored wins, whatever version was cached).
func (d *digestSet) replace(id string, v int64, digest string) {
	d.mu.Lock()
	d.read++
	delete(d.version, id)
	d.mu.Unlock()
	d.put(id, v, digest, true)
}

// loadDigests reads every stored digest of cc into d. Not exclusive, what
// is stored replaces what d held; exclusive, writes of this process during
// the load are recorded by version and the newer of each wins.
func (s *Store) loadDigests(ctx context.Context, cc records.Country, d *digestSet) error {
	if s.exclusive() {
		return s.readDigests(ctx, cc, nil, func(id string, v int64, digest string) {
			d.put(id, v, digest, true)
		})
	}
	d.mu.Lock()
	clear(d.facts)
	clear(d.version)
	d.mu.Unlock()
	return s.readDigests(ctx, cc, nil, d.replace)
}

// storedDigestVersions returns the version of every stored digest of cc.
func (s *Store) storedDigestVersions(ctx context.Context, cc records.Country) (map[string]int64, error) {
	if s.pg != nil && s.pg.digests[cc] != "" {
		return s.pg.digestVersions(ctx, cc)
	}
	return s.digestVersions(ctx, cc)
}

// readDigests calls fn with the id, version and digest of the stored
// digests of cc with the given ids, or of all of them if ids is nil.
func (s *Store) readDigests(ctx context.Context, cc records.Country, ids []string, fn func(id string, v int64, digest string)) error {
	if ids != nil && len(ids) == 0 {
		return nil
	}
	if s.pg != nil && s.pg.digests[cc] != "" {
		return s.pg.readDigests(ctx, cc, ids, fn)
	}
	const batch = 500
	for lo := 0; lo == 0 || lo < len(ids); lo += batch {
		filter := bson.D{}
		if ids != nil {
			filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids[lo:min(lo+batch, len(ids))]}}}}
		}
		cur, err := s.coll(cc, digestColl).Find(ctx, filter)
		if err != nil {
			return fmt.Errorf("indicator digests: %w", mapErr(err))
		}
		for cur.Next(ctx) {
			var doc digestDoc
			if err := cur.Decode(&doc); err != nil {
				cur.Close(context.WithoutCancel(ctx))
				return fmt.Errorf("indicator digests: decode: %w", err)
			}
			fn(doc.ID, doc.Version, doc.Digest)
		}
		err = cur.Err()
		cur.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("indicator digests: %w", mapErr(err))
		}
		if ids == nil {
			break
		}
	}
	return nil
}
