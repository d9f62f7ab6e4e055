package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"contigo/fhir"
	"contigo/records"
)

// flagCache is, on the embedded engine only, an in-process index of the
// Flags in the nutrition projection of one country: per person, the
// projected version and its Flags (ids, versions, search keys and bodies,
// under a kilobyte each). FerretDB decodes every document of a filtered
// scan in Go, so the alert list matches, sorts and pages here without
// reading the database. The embedded engine belongs to this process
// (see Store.locks), so every projection write passes through
// writeProjection, which updates the cache after the database; it is
// loaded by one scan of the projection at the first alert search.
//
// alerts holds the alert Flags among them (isAlert) in the order of the
// alert list (fhir.KeyAlertCreated, then id) with a posting list per
// search key value (records.OrderedIndex): a page of /alerts reads its
// page from the shortest list of its conditions instead of matching and
// ordering every Flag, and as every Flag it holds is an alert, a list of
// one area is exact (its length is the total, no Flag is matched). It is
// built from persons at the first such search after the load and kept by
// cacheFlags.
type flagCache struct {
	loaded  bool
	persons map[string]cachedFlags
	alerts  *records.OrderedIndex // nil until built
}

// alertIndex returns c.alerts, building it if need be. The caller holds
// the cache's lock.
func (c *flagCache) alertIndex() *records.OrderedIndex {
	if c.alerts == nil {
		var all []records.Resource
		for _, p := range c.persons {
			for _, r := range p.flags {
				if isAlert(r) {
					all = append(all, r)
				}
			}
		}
		c.alerts = records.OrderedIndexOf(alertSort, all)
	}
	return c.alerts
}

// setPerson records the Flags of version v of person id, in persons and
// in the alert index if it is built.
func (c *flagCache) setPerson(id string, v int64, flags []records.Resource) {
	if c.alerts != nil {
		// A Flag version never changes: only new versions are put, and
		// only Flags the person no longer has are removed (a visit keeps
		// the earlier Flags, which would each move a posting list's tail).
		old := map[string]int64{}
		for _, r := range c.persons[id].flags {
			old[r.ID] = r.Version
		}
		for _, r := range flags {
			if !isAlert(r) {
				continue // removed below if it was one
			}
			if v, ok := old[r.ID]; !ok || v != r.Version {
				c.alerts.Put(r)
			}
			delete(old, r.ID)
		}
		for fid := range old {
			c.alerts.Remove(fid)
		}
	}
	c.persons[id] = cachedFlags{version: v, flags: flags}
}

type cachedFlags struct {
	version int64
	flags   []records.Resource // whole: a Flag's body is a few hundred bytes
}

// flagsOf returns the Flag resources of latest (a record's current
// resources).
func flagsOf(latest []records.Resource) []records.Resource {
	var out []records.Resource
	for _, r := range latest {
		if r.Type == "Flag" {
			out = append(out, r)
		}
	}
	return out
}

// cacheFlags records the Flags of version v of person id's projection
// (none when the projection was removed), keeping the newest version.
func (s *Store) cacheFlags(cc records.Country, id string, v int64, flags []records.Resource) {
	if !s.exclusive() {
		return
	}
	s.proj.mu.Lock()
	defer s.proj.mu.Unlock()
	c := s.proj.cache[cc]
	if c == nil {
		return // not loaded yet: the load reads the database
	}
	c.keepNewest(id, v, flags)
}

// keepNewest records flags as those of version v of person id unless a
// newer version is recorded. A removed projection stays recorded, by its
// version and without Flags, so that a load that read it before its
// removal does not bring it back. The caller holds the cache's lock.
func (c *flagCache) keepNewest(id string, v int64, flags []records.Resource) {
	if have, ok := c.persons[id]; ok && have.version >= v {
		return
	}
	c.setPerson(id, v, flags)
}

// dropFlagCache forgets the cache of cc (reloaded by the next search).
func (s *Store) dropFlagCache(cc records.Country) {
	s.proj.mu.Lock()
	defer s.proj.mu.Unlock()
	delete(s.proj.cache, cc)
}

// loadFlagCache loads the cache of cc if it is not loaded. Writes during
// the load update the partial map; each person keeps its newest version.
func (s *Store) loadFlagCache(ctx context.Context, cc records.Country) error {
	// One load at a time: a search during the warm-up at Open waits for it.
	s.proj.loading.Lock()
	defer s.proj.loading.Unlock()
	s.proj.mu.Lock()
	if c := s.proj.cache[cc]; c != nil && c.loaded {
		s.proj.mu.Unlock()
		return nil
	}
	if s.proj.cache == nil {
		s.proj.cache = map[records.Country]*flagCache{}
	}
	if s.proj.cache[cc] == nil {
		s.proj.cache[cc] = &flagCache{persons: map[string]cachedFlags{}}
	}
	s.proj.mu.Unlock()
	err := s.eachProjectionFlags(ctx, cc, func(d *projDoc) error {
		flags, err := decodeFlags(d)
		if err != nil {
			return err
		}
		s.proj.mu.Lock()
		defer s.proj.mu.Unlock()
		c := s.proj.cache[cc]
		if c == nil {
			return errors.New("flag cache dropped while loading")
		}
		c.keepNewest(d.ID, d.Version, flags)
		return nil
	})
	if err != nil {
		s.dropFlagCache(cc)
		return fmt.Errorf("load flag cache: %w", err)
	}
	s.proj.mu.Lock()
	if c := s.proj.cache[cc]; c != nil {
		c.loaded = true
	}
	s.proj.mu.Unlock()
	return nil
}

// decodeFlags decodes the Flags of projection d.
func decodeFlags(d *projDoc) ([]records.Resource, error) {
	out := make([]records.Resource, 0, len(d.Flags))
	for i, raw := range d.Flags {
		r, err := decodeResource(raw)
		if err != nil {
			return nil, fmt.Errorf("flag %d of %s: %w", i, d.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// asksAlerts reports whether q selects nutrition alerts only, as the
// alert list does (fhir.KeyAlert = "1"): the flag cache's alert index
// holds nothing else.
func asksAlerts(q records.Query) bool {
	return slices.ContainsFunc(q.Conds, func(c records.Cond) bool {
		return c.Key == fhir.KeyAlert && c.Op == records.OpEq && slices.Equal(c.Values, []string{"1"})
	})
}

// searchFlagCache is SearchFlags on the embedded engine: match and page
// over the cache, which holds the Flags whole (no read of the database:
// FerretDB-SQLite decodes a person's whole projection to give its Flags).
func (s *Store) searchFlagCache(ctx context.Context, cc records.Country, q records.Query) (records.Page, error) {
	if err := s.loadFlagCache(ctx, cc); err != nil {
		return records.Page{}, err
	}
	var matches []records.Resource
	s.proj.mu.Lock()
	c := s.proj.cache[cc]
	if c == nil {
		s.proj.mu.Unlock()
		return records.Page{}, errors.New("flag cache dropped while searching")
	}
	if slices.Equal(q.Sort, alertSort) && asksAlerts(q) {
		page, err := c.alertIndex().Page(q)
		s.proj.mu.Unlock()
		return page, err
	}
	for _, p := range c.persons {
		for _, r := range p.flags {
			if records.Match(r, q.Conds) {
				matches = append(matches, r)
			}
		}
	}
	s.proj.mu.Unlock()
	page, err := records.Paginate(matches, q)
	if err != nil {
		return records.Page{}, err
	}
	return page, nil
}

// Warmed returns a channel closed once the in-memory indexes of the store
// (exclusive: flags, patients, audit, indicator facts; a replica: the
// indicator facts) are loaded, by the warm-up that Open starts, or Close
// stopped it. Requests are served before (a search waits for the load it
// needs); a benchmark waits, to measure the steady state. A store without
// countries returns a closed channel.
func (s *Store) Warmed() <-chan struct{} {
	if s.proj.warmed == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.proj.warmed
}

// warm loads the in-memory indexes of countries in the background (the
// first request that needs one would otherwise pay for the scan): on an
// exclusive store the flag caches, patients, audit index and indicator
// facts; on a replica the indicator facts, which it then keeps by reading
// what changed. Two scans run at a time (each is mostly decoding, one
// processor's work): the flags and the facts beside the Patients and the
// audit. Close stops it.
func (s *Store) warm(countries []records.Country) {
	if len(countries) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.proj.stopWarm = func() { cancel(); <-done }
	s.proj.warmed = done
	exclusive := s.exclusive()
	flags := make(chan struct{})
	go func() {
		defer close(flags)
		for _, cc := range countries {
			if exclusive && s.loadFlagCache(ctx, cc) == nil { // on failure the next search loads it
				s.proj.mu.Lock()
				if c := s.proj.cache[cc]; c != nil {
					c.alertIndex()
				}
				s.proj.mu.Unlock()
			}
			_, _ = s.freshDigests(ctx, cc)
		}
	}()
	go func() {
		defer close(done)
		defer func() { <-flags }()
		if !exclusive {
			return
		}
		for _, cc := range countries {
			_ = s.loadPatients(ctx, cc)
			_ = s.loadAuditIndex(ctx, cc)
		}
	}()
}
