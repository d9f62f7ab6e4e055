package mongo

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"contigo/records"
)

// patientIndex is the embedded engine's equivalent of MongoDB's idx index:
// every current Patient of a country in memory, with posting lists for the
// equality keys. FerretDB on SQLite evaluates every filter but {_id} by
// decoding every document, so without it a name search reads all heads.
// It is used only when this process holds the data directory (exclusive),
// loaded from the heads at the first search and kept by project(); it is a
// cache of stored heads, never a source of truth.
type patientIndex struct {
	mu      sync.Mutex
	loading sync.Mutex // one load at a time: a search during the warm-up waits for it
	ccs     map[records.Country]*patients
}

type patients struct {
	loaded  bool
	version map[string]int64            // person id -> head version seen
	current map[string]records.Resource // person id -> current Patient (not deleted)
	// posting maps a search term (terms.go) to the numbers of the persons
	// whose Patient has it, each once, in increasing order: intersected by
	// merging, a quarter of the memory of id strings.
	posting map[string][]uint32
	num     map[string]uint32 // person id -> its number, given the first time it is posted
	ids     []string          // number -> person id
	// types holds the head's types of every person whose record holds
	// more than a Patient (MayHold); a person absent here holds at most
	// a Patient.
	types map[string][]string
}

func (ix *patientIndex) country(cc records.Country) *patients {
	if ix.ccs == nil {
		ix.ccs = map[records.Country]*patients{}
	}
	p := ix.ccs[cc]
	if p == nil {
		p = &patients{version: map[string]int64{}, current: map[string]records.Resource{}, posting: map[string][]uint32{}, num: map[string]uint32{}, types: map[string][]string{}}
		ix.ccs[cc] = p
	}
	return p
}

// put records version v of person id's Patient (ok false: none or
// deleted) and the head's types, unless a newer version is recorded.
func (ix *patientIndex) put(cc records.Country, id string, v int64, r records.Resource, ok bool, types []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ps := ix.country(cc)
	if ps.version[id] > v {
		return
	}
	ps.version[id] = v
	if len(types) > 1 || (len(types) == 1 && types[0] != r.Type) {
		ps.types[id] = types
	} else {
		delete(ps.types, id)
	}
	old, indexed := ps.current[id]
	if indexed && ok && !r.Deleted && old.ID == r.ID && old.Version == r.Version {
		return // the same Patient version: the same terms
	}
	if ok && !r.Deleted {
		ps.current[id] = r
	} else {
		delete(ps.current, id)
		r = records.Resource{} // no terms
	}
	if !indexed { // no Patient of the person indexed (as at a load): every term
		eachTerm(r.Keys, func(term string) { ps.post(term, id) })
		return
	}
	// An update moves only the terms it changes: removing an id scans its
	// posting list, and some terms (a sex, a birth year) list half the
	// persons.
	had, has := termSet(old.Keys), termSet(r.Keys)
	for term := range has {
		if !had[term] {
			ps.post(term, id)
		}
	}
	for term := range had {
		if !has[term] {
			ps.unpost(term, id)
		}
	}
}

// currentOf returns the current Patient of person id and the version of
// the head it was read from, when the index of cc is loaded and holds one
// (not deleted); a cache of stored heads, as the rest of the index.
func (ix *patientIndex) currentOf(cc records.Country, id string) (records.Resource, int64, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ps := ix.ccs[cc]
	if ps == nil || !ps.loaded {
		return records.Resource{}, 0, false
	}
	r, ok := ps.current[id]
	return r, ps.version[id], ok
}

// termSet returns the search terms of keys.
func termSet(keys records.Keys) map[string]bool {
	set := map[string]bool{}
	eachTerm(keys, func(term string) { set[term] = true })
	return set
}

// number returns the number of person id, giving it the next one the
// first time: persons loaded in turn are appended to the posting lists.
func (ps *patients) number(id string) uint32 {
	n, ok := ps.num[id]
	if !ok {
		n = uint32(len(ps.ids))
		ps.num[id] = n
		ps.ids = append(ps.ids, id)
	}
	return n
}

// post adds id to the posting list of term, in order, unless it is there.
func (ps *patients) post(term, id string) {
	n := ps.number(id)
	l := ps.posting[term]
	if k := len(l); k == 0 || l[k-1] < n {
		ps.posting[term] = append(l, n) // a new person, or the load
		return
	}
	if i, found := slices.BinarySearch(l, n); !found {
		ps.posting[term] = slices.Insert(l, i, n)
	}
}

// unpost removes id from the posting list of term.
func (ps *patients) unpost(term, id string) {
	n, ok := ps.num[id]
	if !ok {
		return
	}
	l := ps.posting[term]
	i, found := slices.BinarySearch(l, n)
	if !found {
		return
	}
	if l = slices.Delete(l, i, i+1); len(l) == 0 {
		delete(ps.posting, term)
	} else {
		ps.posting[term] = l
	}
}

// personIDs returns the person ids of numbers ns.
func (ps *patients) personIDs(ns []uint32) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = ps.ids[n]
	}
	return out
}

// union returns the numbers in any of the posting lists of terms, in
// order, each once; the list itself (not to be changed) for one term.
func (ps *patients) union(terms []string) []uint32 {
	if len(terms) == 1 {
		return ps.posting[terms[0]]
	}
	var out []uint32
	for _, t := range terms {
		out = append(out, ps.posting[t]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// intersect returns the numbers of a that are also in b, both in
// increasing order, in a new list (a and b may be posting lists).
func intersect(a, b []uint32) []uint32 {
	out, j := make([]uint32, 0, min(len(a), len(b))), 0
	for _, n := range a {
		for j < len(b) && b[j] < n {
			j++
		}
		if j == len(b) {
			break
		}
		if b[j] == n {
			out = append(out, n)
		}
	}
	return out
}

// eachTerm calls fn with every search term (terms.go) of keys.
func eachTerm(keys records.Keys, fn func(string)) {
	for k, vals := range keys {
		for _, v := range vals {
			keyTerms(k, v, fn)
		}
	}
}

// indexHead records head h in the patient index when the store is
// exclusive.
func (s *Store) indexHead(cc records.Country, h *headDoc) {
	if !s.exclusive() {
		return
	}
	if h.Patient == "" {
		s.pindex.put(cc, h.ID, h.Version, records.Resource{}, false, h.Types)
		return
	}
	r, err := decodeResource(h.Patient)
	s.pindex.put(cc, h.ID, h.Version, r, err == nil, h.Types)
}

// loadPatients reads every head of cc into the index once.
func (s *Store) loadPatients(ctx context.Context, cc records.Country) error {
	isLoaded := func() bool {
		s.pindex.mu.Lock()
		defer s.pindex.mu.Unlock()
		return s.pindex.country(cc).loaded
	}
	if isLoaded() {
		return nil
	}
	s.pindex.loading.Lock()
	defer s.pindex.loading.Unlock()
	if isLoaded() {
		return nil
	}
	err := s.eachHeadToIndex(ctx, cc, func(h *headDoc) error {
		s.indexHead(cc, h)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load patient index: %w", err)
	}
	s.pindex.mu.Lock()
	s.pindex.country(cc).loaded = true
	s.pindex.mu.Unlock()
	return nil
}

// indexedPatients returns every current Patient of cc that matches q,
// from the index: the persons in the smallest union of posting lists of
// one of q's term groups (terms.go), kept only if they are also in the
// other groups' unions that are not much longer (narrow), or every Patient
// when q has no group. Each is then checked on the Patient itself, unless
// every group was intersected and the terms say exactly what q asks
// (exactTerms: equalities, and prefixes as long as a kept term).
func (s *Store) indexedPatients(ctx context.Context, cc records.Country, q records.Query) ([]records.Resource, error) {
	if err := s.loadPatients(ctx, cc); err != nil {
		return nil, fmt.Errorf("search Patient: %w", err)
	}
	s.pindex.mu.Lock()
	ps := s.pindex.country(cc)
	var rs []records.Resource
	ids, narrowed, all := ps.narrow(queryTerms(q))
	if narrowed {
		rs = make([]records.Resource, 0, len(ids))
		for _, id := range ids {
			rs = append(rs, ps.current[id])
		}
	} else {
		rs = make([]records.Resource, 0, len(ps.current))
		for _, r := range ps.current {
			rs = append(rs, r)
		}
	}
	s.pindex.mu.Unlock()
	if narrowed && all && exactTerms(q) {
		return rs, nil
	}
	return slices.DeleteFunc(rs, func(r records.Resource) bool { return !records.Match(r, q.Conds) }), nil
}

// indexedPage answers Search from the index for a query in id order (no
// _sort) whose terms are exact (exactTerms) once narrow has intersected
// every group: the intersected ids are the matches, the page is chosen
// among them (records.PageIDs) and only its Patients are read, instead of
// every match being copied and paginated (the 8,300 Patients of
// `family=g` at 100,000 persons). ok is false for other queries.
func (s *Store) indexedPage(ctx context.Context, cc records.Country, q records.Query) (page records.Page, ok bool, err error) {
	if len(q.Sort) > 0 || !exactTerms(q) {
		return records.Page{}, false, nil
	}
	if err := s.loadPatients(ctx, cc); err != nil {
		return records.Page{}, false, fmt.Errorf("search Patient: %w", err)
	}
	s.pindex.mu.Lock()
	defer s.pindex.mu.Unlock()
	ps := s.pindex.country(cc)
	ids, narrowed, all := ps.narrow(queryTerms(q))
	if !narrowed || !all {
		return records.Page{}, false, nil
	}
	pageIDs, next, err := records.PageIDs(ids, q)
	if err != nil {
		return records.Page{}, false, fmt.Errorf("search Patient: %w", err)
	}
	page = records.Page{Total: int64(len(ids)), Next: next, Resources: make([]records.Resource, 0, len(pageIDs))}
	for _, id := range pageIDs {
		page.Resources = append(page.Resources, ps.current[id])
	}
	return page, true, nil
}

// intersectRatio bounds the posting lists narrow walks to intersect: a
// group's union is read only while it is at most this many times longer
// than the candidates left, as reading one posting costs a small fraction
// of checking a candidate's conditions (records.Match).
const intersectRatio = 16

// narrow returns the persons that hold a term of every group in groups,
// or of enough of them (see intersectRatio) that checking each is cheap,
// each once; all reports that every group was intersected, narrowed is
// false if no group applies (every Patient is a candidate). The
// candidates start as the union of the group with the fewest postings.
func (ps *patients) narrow(groups []termGroup) (ids []string, narrowed, all bool) {
	type sized struct {
		terms []string
		n     int
	}
	var gs []sized
	for _, g := range groups {
		if hasUnderscore(g.Key) {
			continue // _id and _lastUpdated are not in Keys: Match checks them
		}
		n := 0
		for _, t := range g.Terms {
			n += len(ps.posting[t])
		}
		gs = append(gs, sized{g.Terms, n})
	}
	if len(gs) == 0 {
		return nil, false, false
	}
	slices.SortStableFunc(gs, func(a, b sized) int { return a.n - b.n })
	ns := ps.union(gs[0].terms) // each person once, in order; read only
	for _, g := range gs[1:] {
		if len(ns) == 0 {
			return []string{}, true, true // nothing left: every group holds it
		}
		if g.n > intersectRatio*len(ns) {
			return ps.personIDs(ns), true, false // the rest are longer still
		}
		ns = intersect(ns, ps.union(g.terms))
	}
	return ps.personIDs(ns), true, true
}

// mayHold answers MayHold for a person other than a Patient type from the
// loaded index; known is false when the index cannot tell (not loaded,
// person not seen, or typ is Patient).
func (ix *patientIndex) mayHold(cc records.Country, id, typ string) (may, known bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ps := ix.country(cc)
	if _, seen := ps.version[id]; !ps.loaded || !seen || typ == "Patient" {
		return false, false
	}
	return slices.Contains(ps.types[id], typ), true
}
