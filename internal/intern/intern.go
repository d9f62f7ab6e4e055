// Package intern keeps one shared copy of the short strings that recur
// across many decoded documents: resource types, search key names, and the
// areas, sexes, age bands, programmes and kinds of the indicator digests.
// A node holds them for every person of its country, so 100,000 persons'
// copies of a few hundred distinct values would otherwise be millions of
// small allocations.
//
// The standard library's unique.Make(s).Value() is not enough: its table
// holds an entry only while a unique.Handle to it is reachable, and Value()
// returns a string that does not keep the handle alive, so after the next
// garbage collection the same value is copied again.
package intern

import (
	"strings"
	"sync"
)

// limit is the number of distinct strings the package keeps. The values it
// is used for are a country's vocabulary (a few hundred); limit only stops
// a data set of unusual values from growing the table without end. Past it,
// String returns a private copy.
const limit = 1 << 16

var std = newTable(limit)

// String returns the shared copy of s, or, once limit distinct strings are
// kept, a private copy. The result never shares memory with s, so s may be
// a view of a larger buffer (a decoder's copy of a whole document) that the
// caller wants collected.
func String(s string) string { return std.String(s) }

// table keeps the shared copies of up to a fixed number of distinct
// strings. It is safe for concurrent use.
type table struct {
	mu    sync.RWMutex
	limit int
	m     map[string]string
}

// newTable returns an empty table that keeps at most limit strings.
func newTable(limit int) *table {
	return &table{limit: limit, m: make(map[string]string)}
}

// String returns the table's copy of s, adding one if s is new and the
// table has room; otherwise a private copy of s.
func (t *table) String(s string) string {
	t.mu.RLock()
	c, ok := t.m[s]
	t.mu.RUnlock()
	if ok {
		return c
	}
	c = strings.Clone(s)
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.m[c]; ok {
		return prev
	}
	if len(t.m) < t.limit {
		t.m[c] = c
	}
	return c
}

// size returns the number of strings the table keeps.
func (t *table) size() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
