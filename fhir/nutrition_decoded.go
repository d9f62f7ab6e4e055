package fhir

import (
	"encoding/json"
	"hash/maphash"
	"sync"

	"contigo/records"
)

// decoded remembers the Observations and Encounter sites ReadVisits decoded,
// by resource version and body, so that reading a record's visits for a
// write decodes only the resources the write added: a visit's cost does not
// grow with the number of earlier visits. Only a speed-up: an entry is
// found only for the very same bytes, and is never changed.
var decoded = &decodeCache{obs: map[decodeID]*obsIn{}, sites: map[decodeID]string{}, seed: maphash.MakeSeed()}

// decodeCacheSize bounds the entries kept; past it the cache starts over.
const decodeCacheSize = 200_000

type decodeCache struct {
	mu    sync.Mutex
	obs   map[decodeID]*obsIn
	sites map[decodeID]string
	seed  maphash.Seed
}

// decodeID names one version of one resource with its body: the body's
// length and a 64-bit hash of it (maphash: fast, and seeded per process).
type decodeID struct {
	typ, id string
	version int64
	size    int
	hash    uint64
}

func (c *decodeCache) key(r records.Resource) decodeID {
	return decodeID{typ: r.Type, id: r.ID, version: r.Version, size: len(r.Body), hash: maphash.Bytes(c.seed, r.Body)}
}

// observation returns r decoded; the result is shared and must not be
// changed.
func (c *decodeCache) observation(r records.Resource) (*obsIn, error) {
	k := c.key(r)
	c.mu.Lock()
	o, ok := c.obs[k]
	c.mu.Unlock()
	if ok {
		return o, nil
	}
	o = &obsIn{}
	if err := json.Unmarshal(r.Body, o); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.obs) >= decodeCacheSize {
		c.obs = map[decodeID]*obsIn{}
	}
	c.obs[k] = o
	c.mu.Unlock()
	return o, nil
}

// site returns the site of Encounter r ("" if its body does not decode).
func (c *decodeCache) site(r records.Resource) string {
	k := c.key(r)
	c.mu.Lock()
	s, ok := c.sites[k]
	c.mu.Unlock()
	if ok {
		return s
	}
	var e encounterIn
	if json.Unmarshal(r.Body, &e) == nil {
		s = siteOf(&e)
	}
	c.mu.Lock()
	if len(c.sites) >= decodeCacheSize {
		c.sites = map[decodeID]string{}
	}
	c.sites[k] = s
	c.mu.Unlock()
	return s
}
