package mongo

import (
	"slices"
	"sync"

	"contigo/records"
)

// entry is a record as read from the log, with what segment() needs: the
// first version not in a segment and the commits since.
type entry struct {
	p    *records.Person
	tail int64
	open []commitDoc
	size int64
	// resources is the heap estimate of p.Resources (resourcesSize),
	// kept up to date as commits are applied (follow), so that caching a
	// record does not walk its history.
	resources int64
}

// person returns p for a caller that must not modify it: appending to its
// slices copies them.
func (e *entry) person() *records.Person {
	p := *e.p
	p.Resources = slices.Clip(p.Resources)
	p.Txns = slices.Clip(p.Txns)
	return &p
}

// clone returns a copy of e that the caller may extend.
func (e *entry) clone() *entry {
	c := *e
	c.p = e.person()
	c.open = slices.Clip(e.open)
	return &c
}

// heapSize estimates the bytes of heap e holds: the bodies and also the
// search keys (a map per resource), the transactions, the nutrition state
// and the commits since the last segment, with rough per-object overheads,
// so that the cache's limit bounds the heap it takes, not only the FHIR
// JSON in it.
func (e *entry) heapSize() int64 {
	size := int64(256+len(e.p.Nutrition)) + e.resources
	for _, t := range e.p.Txns {
		size += 64 + int64(len(t.Key)+len(t.Response))
	}
	for _, d := range e.open {
		size += 256 + int64(len(d.Nutrition))
		for _, r := range d.Resources {
			size += 16 + int64(len(r))
		}
	}
	return size
}

// resourcesSize estimates the heap rs holds: the bodies, and the search
// keys (a map per resource), with rough per-object overheads.
func resourcesSize(rs []records.Resource) int64 {
	var size int64
	for _, r := range rs {
		size += 160 + int64(len(r.Type)+len(r.ID)+len(r.Body))
		for k, vs := range r.Keys {
			size += 64 + int64(len(k))
			for _, v := range vs {
				size += 16 + int64(len(v))
			}
		}
	}
	return size
}

// recordCache keeps recently used records so that reading one costs a
// single lookup of the commit after the cached version. It only makes reads
// faster: every use checks the log for newer commits first, so an entry
// that another process made stale is brought up to date, never believed.
type recordCache struct {
	mu    sync.Mutex
	m     map[string]*entry
	size  int64
	limit int64
}

func newRecordCache(limit int64) *recordCache {
	return &recordCache{m: map[string]*entry{}, limit: limit}
}

func cacheKey(cc records.Country, id string) string { return string(cc) + "/" + id }

// get returns a private copy of the cached entry of id, nil if none.
func (c *recordCache) get(cc records.Country, id string) *entry {
	if c == nil || c.limit <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[cacheKey(cc, id)]
	if e == nil {
		return nil
	}
	return e.clone()
}

// version returns the version of the cached record id, 0 if none.
func (c *recordCache) version(cc records.Country, id string) int64 {
	if c == nil || c.limit <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[cacheKey(cc, id)]; e != nil {
		return e.p.Version
	}
	return 0
}

// has reports whether the record id is cached.
func (c *recordCache) has(cc records.Country, id string) bool {
	if c == nil || c.limit <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[cacheKey(cc, id)] != nil
}

// put caches e unless a newer version of the record is cached already,
// evicting other entries beyond the size limit.
func (c *recordCache) put(cc records.Country, e *entry) {
	if c == nil || c.limit <= 0 {
		return
	}
	size := e.heapSize()
	e = e.clone()
	e.size = size
	k := cacheKey(cc, e.p.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[k]; old != nil {
		if old.p.Version > e.p.Version || (old.p.Version == e.p.Version && old.tail >= e.tail) {
			return
		}
		c.size -= old.size
	}
	c.m[k] = e
	c.size += size
	for k2, o := range c.m {
		if c.size <= c.limit {
			break
		}
		if k2 != k {
			c.size -= o.size
			delete(c.m, k2)
		}
	}
}

// drop forgets every cached record.
func (c *recordCache) drop() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m, c.size = map[string]*entry{}, 0
}
