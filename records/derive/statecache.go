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
	m  map[string]*stateEntry
}

type stateEntry struct {
	enc encodedState // enc.raw is the state's JSON
	st  nutrition.State
}

// stateCacheSize bounds the persons the cache remembers.
const stateCacheSize = 512

// get returns the state of p, from the cache when it holds p's bytes, else
// decoded by decode; prev is the cache entry used (nil if none), whose
// encoding the next encodeState may reuse. Neither prev nor the state may
// be modified in place: a state from the cache shares its memory with the
// entry (and with concurrent writes of the same person), and is only
// passed to the nutrition engine's functions, which copy what they change
// (State.clone) and return a new state. Not copying it here saves a copy
// of every earlier assessment per visit.
func (c *stateCache) get(p *records.Person, decode func(*records.Person) (nutrition.State, error)) (_ nutrition.State, prev *stateEntry, _ error) {
	k := string(p.Country) + "/" + p.ID
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && len(p.Nutrition) > 0 && bytes.Equal(e.enc.raw, p.Nutrition) {
		return e.st, e, nil
	}
	st, err := decode(p)
	return st, nil, err
}

// put remembers st as the state whose encoding is enc. st must not be
// modified in place afterwards (see get).
func (c *stateCache) put(cc records.Country, id string, enc encodedState, st nutrition.State) {
	k := string(cc) + "/" + id
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*stateEntry{}
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= stateCacheSize {
		for old := range c.m { // evict one at random
			delete(c.m, old)
			break
		}
	}
	c.m[k] = &stateEntry{enc: enc, st: st}
}
