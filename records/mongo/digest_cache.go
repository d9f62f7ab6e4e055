package mongo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"contigo/records"
	"contigo/records/nutrition"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
	// lag and relist replace digestLag and digestRelist when set (tests).
	lag, relist time.Duration
}

// times returns the lag and relist period of the refreshes.
func (c *digestCache) times() (lag, relist time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lag, relist = digestLag, digestRelist
	if c.lag != 0 {
		lag = c.lag
	}
	if c.relist != 0 {
		relist = c.relist
	}
	return lag, relist
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

	// tallies are the indicator queries asked lately, each kept equal to
	// nutrition.IndicatorsOf over facts: every change of facts removes the
	// old facts from each and adds the new, so a query asked again costs
	// the changes since, not a pass over every person.
	tallies map[tallyKey]*tallyEntry
	clock   uint64 // use count, for the least recently used tally
	listed  int    // full reads and listings (for tests)

	// Guarded by refresh (replicas only):
	since    int64     // the next refresh reads the digests written since (Unix ms)
	listedAt time.Time // the last full read or listing
}

// maxTallies bounds the indicator queries kept per country: each change of
// a person's facts updates every one of them.
const maxTallies = 32

// tallyKey names an indicator query: its period (calendar dates) and
// grouping.
type tallyKey struct{ from, to, by string }

// tallyEntry is a kept indicator query.
type tallyEntry struct {
	t    *nutrition.Tally
	used uint64 // clock at its last use
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
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if have, ok := d.version[id]; ok && have > v {
		return
	}
	d.version[id] = v
	d.drop(id)
	if present {
		d.facts[id] = f
		for _, e := range d.tallies {
			e.t.Add(&f)
		}
	}
}

// drop forgets the facts of person id, and takes them out of the tallies
// (d.mu held).
func (d *digestSet) drop(id string) {
	old, had := d.facts[id]
	if !had {
		return
	}
	delete(d.facts, id)
	for _, e := range d.tallies {
		e.t.Remove(&old)
	}
}

// forget empties d (d.mu held).
func (d *digestSet) forget() {
	clear(d.facts)
	clear(d.version)
	clear(d.tallies)
}

// rows returns the indicator rows of the cached facts for events in
// [from, to) grouped by by, with the rates of rs: from the query's tally,
// which is built by a pass over every person the first time the query is
// asked (and after it was evicted), and kept in step with the facts after.
func (d *digestSet) rows(rs *nutrition.RuleSet, from, to time.Time, by string) ([]nutrition.IndicatorRow, error) {
	k := tallyKey{from: from.Format(time.DateOnly), to: to.Format(time.DateOnly), by: by}
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.tallies[k]
	if e == nil {
		t, err := nutrition.NewTally(from, to, by)
		if err != nil {
			return nil, err
		}
		for _, f := range d.facts {
			t.Add(&f)
		}
		if d.tallies == nil {
			d.tallies = map[tallyKey]*tallyEntry{}
		}
		if len(d.tallies) >= maxTallies {
			var oldest tallyKey
			for key, e := range d.tallies {
				if o := d.tallies[oldest]; o == nil || e.used < o.used {
					oldest = key
				}
			}
			delete(d.tallies, oldest)
		}
		e = &tallyEntry{t: t}
		d.tallies[k] = e
	}
	d.clock++
	e.used = d.clock
	return e.t.Rows(rs), nil
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

// cacheDigest records a digest this process wrote (exclusive store only:
// otherwise every use lists the stored versions).
func (s *Store) cacheDigest(cc records.Country, id string, v int64, digest string, present bool) {
	if !s.exclusive() {
		return
	}
	s.digests.country(cc).put(id, v, digest, present)
}

// IndicatorFacts returns the indicator facts (nutrition.Facts of the
// stored digests) of every person of cc with a nutrition state.
func (s *Store) IndicatorFacts(ctx context.Context, cc records.Country) (_ []nutrition.Facts, err error) {
	defer s.observe("indicator_facts", time.Now(), &err)
	d, err := s.freshDigests(ctx, cc)
	if err != nil {
		return nil, err
	}
	return d.snapshot(), nil
}

// IndicatorRows returns the indicator rows of cc for events dated in
// [from, to) grouped by by, with the rates of rs: nutrition.IndicatorsOf
// over the facts IndicatorFacts returns, for /indicators. A query asked
// again costs the digests changed since it was last asked (see
// digestSet.tallies).
func (s *Store) IndicatorRows(ctx context.Context, cc records.Country, rs *nutrition.RuleSet, from, to time.Time, by string) (_ []nutrition.IndicatorRow, err error) {
	defer s.observe("indicator_rows", time.Now(), &err)
	d, err := s.freshDigests(ctx, cc)
	if err != nil {
		return nil, err
	}
	return d.rows(rs, from, to, by)
}

// freshDigests returns the cached digests of cc, brought up to the stored
// ones first unless this process holds the data directory.
func (s *Store) freshDigests(ctx context.Context, cc records.Country) (*digestSet, error) {
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
	return d, nil
}

// digestLag is how long a digest write may take, from its At (the
// writer's clock) to its commit, and still be seen at the next refresh of
// a replica, which reads the digests written since its previous refresh
// began, less digestLag (the clocks of replicas differ by less than that
// with NTP). digestRelist is how often a replica lists every stored
// digest's version anyway, which catches a slower write, and digests
// written before At existed.
const (
	digestLag    = 2 * time.Minute
	digestRelist = 5 * time.Minute
)

// refreshDigests brings d up to the stored digests of cc (d.refresh held):
// the first time by reading them all; after that (not exclusive) by
// reading those written since the previous refresh began (less
// digestLag), and every digestRelist by listing the version of every
// stored digest and reading those that changed.
func (s *Store) refreshDigests(ctx context.Context, cc records.Country, d *digestSet) error {
	start := time.Now()
	lag, relist := s.digests.times()
	d.mu.Lock()
	loaded := d.loaded
	d.mu.Unlock()
	var err error
	switch {
	case !loaded:
		err = s.loadDigests(ctx, cc, d)
	case start.Sub(d.listedAt) >= relist:
		err = s.relistDigests(ctx, cc, d)
	default:
		err = s.readSince(ctx, cc, d, d.since)
		if err == nil {
			d.since = start.Add(-lag).UnixMilli()
		}
		return err
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.listed++
	d.mu.Unlock()
	d.listedAt, d.since = start, start.Add(-lag).UnixMilli()
	return nil
}

// relistDigests lists the version of every stored digest of cc and reads
// those that d lacks or holds at another version, dropping those no longer
// stored.
func (s *Store) relistDigests(ctx context.Context, cc records.Country, d *digestSet) error {
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
			d.drop(id) // deleted (a newer version that has none)
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

// replace records the stored digest (or tombstone) of person id as read (a
// refresh: what is stored wins, whatever version was cached).
func (d *digestSet) replace(id string, v int64, digest string, gone bool) {
	d.mu.Lock()
	d.read++
	delete(d.version, id)
	d.mu.Unlock()
	d.put(id, v, digest, !gone)
}

// readSince lists the version of the digests of cc written since since
// (Unix ms) and reads those that d does not hold at that version.
func (s *Store) readSince(ctx context.Context, cc records.Country, d *digestSet, since int64) error {
	var changed []string
	err := s.digestVersionsSince(ctx, cc, since, func(id string, v int64, gone bool) {
		d.mu.Lock()
		defer d.mu.Unlock()
		have, ok := d.version[id]
		_, held := d.facts[id]
		if !ok || have != v || held == gone {
			changed = append(changed, id)
		}
	})
	if err != nil || len(changed) == 0 {
		return err // (readDigests reads every digest for nil ids)
	}
	return s.readDigests(ctx, cc, changed, d.replace)
}

// loadDigests reads every stored digest of cc into d. Not exclusive, what
// is stored replaces what d held; exclusive, writes of this process during
// the load are recorded by version and the newer of each wins.
func (s *Store) loadDigests(ctx context.Context, cc records.Country, d *digestSet) error {
	if s.exclusive() {
		return s.readDigests(ctx, cc, nil, func(id string, v int64, digest string, gone bool) {
			d.put(id, v, digest, !gone)
		})
	}
	d.mu.Lock()
	d.forget()
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

// readDigests calls fn with the id, version, digest and tombstone mark of
// the stored digests of cc with the given ids, or of all of them if ids is
// nil.
func (s *Store) readDigests(ctx context.Context, cc records.Country, ids []string, fn func(id string, v int64, digest string, gone bool)) error {
	if ids != nil && len(ids) == 0 {
		return nil
	}
	if s.pg != nil && s.pg.digests[cc] != "" {
		return s.pg.readDigests(ctx, cc, ids, fn)
	}
	if ids == nil {
		return s.eachDigest(ctx, cc, fn)
	}
	const batch = 500
	for lo := 0; lo < len(ids); lo += batch {
		filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids[lo:min(lo+batch, len(ids))]}}}}
		if err := s.findDigests(ctx, cc, filter, fn); err != nil {
			return err
		}
	}
	return nil
}

// digestVersionsSince calls fn with the id, version and tombstone mark of
// the digests of cc written at or after since (Unix milliseconds,
// digestDoc.At): a range of the index on t (MongoDB: "Indexes",
// https://www.mongodb.com/docs/manual/indexes/; FerretDB-PostgreSQL: the
// btree of pgindex.go).
func (s *Store) digestVersionsSince(ctx context.Context, cc records.Country, since int64, fn func(id string, v int64, gone bool)) error {
	if s.pg != nil && s.pg.digests[cc] != "" {
		return s.pg.digestVersionsSince(ctx, cc, since, fn)
	}
	filter := bson.D{{Key: "t", Value: bson.D{{Key: "$gte", Value: since}}}}
	proj := options.Find().SetProjection(bson.D{{Key: "version", Value: 1}, {Key: "g", Value: 1}})
	return s.findDigests(ctx, cc, filter, func(id string, v int64, _ string, gone bool) { fn(id, v, gone) }, proj)
}

// findDigests calls fn for each digest of cc that filter matches.
func (s *Store) findDigests(ctx context.Context, cc records.Country, filter bson.D, fn func(id string, v int64, digest string, gone bool), opts ...options.Lister[options.FindOptions]) error {
	cur, err := s.coll(cc, digestColl).Find(ctx, filter, opts...)
	if err != nil {
		return fmt.Errorf("indicator digests: %w", mapErr(err))
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var doc digestDoc
		if err := cur.Decode(&doc); err != nil {
			return fmt.Errorf("indicator digests: decode: %w", err)
		}
		fn(doc.ID, doc.Version, doc.Digest, doc.Gone)
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("indicator digests: %w", mapErr(err))
	}
	return nil
}
