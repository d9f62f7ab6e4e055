package derive

import (
	"bytes"
	"sync"

	"contigo/records"
	"contigo/records/nutrition"
)

// stateCache keeps the decoded nutrition state of the persons written
// lately, so that a visit does not decode a state that holds every earlier
// assessment of the person. Only a speed-up: an entry is used only when its
// bytes equal the record's state, byte for byte.
type stateCache struct {
	mu sync.Mutex
	m  map[string]stateEntry
}

type stateEntry struct {
	raw []byte
	st  nutrition.State
}

// stateCacheSize bounds the persons the cache remembers.
const stateCacheSize = 512

// get returns the state of p, from the cache when it holds p's bytes, else
// decoded by decode.
func (c *stateCache) get(p *records.Person, decode func(*records.Person) (nutrition.State, error)) (nutrition.State, error) {
	k := string(p.Country) + "/" + p.ID
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && len(p.Nutrition) > 0 && bytes.Equal(e.raw, p.Nutrition) {
		return e.st.Clone(), nil
	}
	return decode(p)
}

// put remembers st as the state whose encoding is raw.
func (c *stateCache) put(cc records.Country, id string, raw []byte, st nutrition.State) {
	k := string(cc) + "/" + id
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]stateEntry{}
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= stateCacheSize {
		for old := range c.m { // evict one at random
			delete(c.m, old)
			break
		}
	}
	c.m[k] = stateEntry{raw: raw, st: st.Clone()}
}
