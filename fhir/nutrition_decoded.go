package fhir

import (
	"encoding/json"
	"hash/fnv"
	"strconv"
	"sync"

	"contigo/records"
)

// decoded remembers the Observations and Encounter sites ReadVisits decoded,
// by resource version and body, so that reading a record's visits for a
// write decodes only the resources the write added: a visit's cost does not
// grow with the number of earlier visits. Only a speed-up: an entry is
// found only for the very same bytes, and is never changed.
var decoded = &decodeCache{obs: map[string]*obsIn{}, sites: map[string]string{}}

// decodeCacheSize bounds the entries kept; past it the cache starts over.
const decodeCacheSize = 200_000

type decodeCache struct {
	mu    sync.Mutex
	obs   map[string]*obsIn
	sites map[string]string
}

func decodeKey(r records.Resource) string {
	h := fnv.New64a()
	h.Write(r.Body)
	return r.Type + "/" + r.ID + "/" + strconv.FormatInt(r.Version, 10) + "/" + strconv.FormatUint(h.Sum64(), 36)
}

// observation returns r decoded; the result is shared and must not be
// changed.
func (c *decodeCache) observation(r records.Resource) (*obsIn, error) {
	k := decodeKey(r)
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
		c.obs = map[string]*obsIn{}
	}
	c.obs[k] = o
	c.mu.Unlock()
	return o, nil
}

// site returns the site of Encounter r ("" if its body does not decode).
func (c *decodeCache) site(r records.Resource) string {
	k := decodeKey(r)
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
		c.sites = map[string]string{}
	}
	c.sites[k] = s
	c.mu.Unlock()
	return s
}
