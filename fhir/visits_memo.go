package fhir

import (
	"hash/maphash"
	"maps"
	"slices"
	"sync"

	"contigo/records"
	"contigo/records/nutrition"
)

// visitMemo is what ReadVisitsOf found in one version of a record. It is
// never changed once made: update makes a new one.
type visitMemo struct {
	refs   []resourceRef         // every resource of latest, in order
	alike  bool                  // two visits have one measurement id: never updated
	base   nutrition.Measurement // what the Patient gives every visit
	inputs map[string]visitRef   // input Observation id -> its visit and position
	groups map[string][]int      // visit key -> positions of its inputs, ascending
	encs   map[string]int        // Encounter id -> position
	keyOf  map[string]string     // measurement id -> visit key, every visit measured
	out    Visits
}

// resourceRef names one version of a resource, with the hash of its body
// if the visits read it (hashOf): two writers racing for one version of a
// record give their own bodies the same version, and the memo of the one
// that lost must not pass for the record that was stored.
type resourceRef struct {
	typ, id string
	version int64
	hash    uint64
}

// refOf returns the reference of r.
func refOf(r *records.Resource) resourceRef {
	return resourceRef{r.Type, r.ID, r.Version, hashOf(r)}
}

// hashOf returns the hash of r's body if the visits read r (a Patient, an
// Encounter, an Observation that is not derived), else 0.
func hashOf(r *records.Resource) uint64 {
	switch {
	case r.Type == "Patient" || r.Type == "Encounter" || (r.Type == "Observation" && !IsDerived(r.ID)):
		return maphash.Bytes(decoded.seed, r.Body)
	}
	return 0
}

type visitRef struct {
	key string
	pos int
}

// visits returns the memo's answer, as copies a caller may change.
func (m *visitMemo) visits() Visits {
	return Visits{Measurements: slices.Clone(m.out.Measurements), Sources: maps.Clone(m.out.Sources)}
}

// readAllVisits reads every visit of latest (p.Latest()).
func readAllVisits(p *records.Person, latest []records.Resource) (*visitMemo, error) {
	base, err := baseOf(p)
	if err != nil {
		return nil, err
	}
	m := &visitMemo{
		refs: make([]resourceRef, len(latest)), base: base,
		inputs: map[string]visitRef{}, groups: map[string][]int{}, encs: map[string]int{}, keyOf: map[string]string{},
	}
	var order []string // visit keys, first seen first
	byKey := map[string][]visitInput{}
	for i, r := range latest {
		m.refs[i] = refOf(&latest[i])
		if r.Type == "Encounter" {
			m.encs[r.ID] = i
		}
		in, ok, err := inputOf(latest, i)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if _, seen := byKey[in.key]; !seen {
			order = append(order, in.key)
		}
		byKey[in.key] = append(byKey[in.key], in)
		m.inputs[r.ID] = visitRef{in.key, i}
		m.groups[in.key] = append(m.groups[in.key], i)
	}
	m.out = Visits{Sources: make(map[string][]string, len(order))}
	for _, key := range order {
		v, ids, measured := buildVisit(base, key, byKey[key], latest, m.encs)
		if !measured {
			continue
		}
		if _, ok := m.keyOf[v.ID]; ok {
			m.alike = true
		}
		m.out.Measurements = append(m.out.Measurements, v)
		m.out.Sources[v.ID] = ids
		m.keyOf[v.ID] = key
	}
	sortMeasurements(m.out.Measurements)
	return m, nil
}

// update returns the memo of latest, a later version of m's record, ok
// false if it cannot be made from m (read every visit then): latest must
// hold m's resources at their positions, a resource changed or added
// after them, and the same Patient version.
func (m *visitMemo) update(latest []records.Resource) (_ *visitMemo, ok bool) {
	if len(latest) < len(m.refs) || m.alike {
		return nil, false
	}
	var changed []int
	for i, ref := range m.refs {
		r := &latest[i]
		if r.ID != ref.id || r.Type != ref.typ {
			return nil, false // a resource deleted, or back where it was first created
		}
		if r.Version != ref.version || hashOf(r) != ref.hash {
			if r.Type == "Patient" {
				return nil, false
			}
			changed = append(changed, i)
		}
	}
	for i := len(m.refs); i < len(latest); i++ {
		if latest[i].Type == "Patient" {
			return nil, false
		}
		changed = append(changed, i)
	}
	if len(changed) == 0 {
		return m, true // the very same resources
	}
	next := &visitMemo{
		refs: make([]resourceRef, len(latest)), base: m.base,
		// Copied: m is shared.
		inputs: maps.Clone(m.inputs), groups: maps.Clone(m.groups), encs: maps.Clone(m.encs),
	}
	copy(next.refs, m.refs)
	for _, i := range changed {
		next.refs[i] = refOf(&latest[i])
	}
	affected := map[string]bool{}
	for _, i := range changed {
		r := &latest[i]
		switch r.Type {
		case "Encounter":
			next.encs[r.ID] = i
			affected["e"+r.ID] = true
		case "Observation":
			if was, ok := next.inputs[r.ID]; ok {
				affected[was.key] = true
				next.groups[was.key] = slices.DeleteFunc(slices.Clone(next.groups[was.key]), func(p int) bool { return p == i })
				delete(next.inputs, r.ID)
			}
			in, ok, err := inputOf(latest, i)
			if err != nil {
				return nil, false // read every visit: the same error, in the same order
			}
			if ok {
				affected[in.key] = true
				g := slices.Clone(next.groups[in.key])
				at, _ := slices.BinarySearch(g, i)
				next.groups[in.key] = slices.Insert(g, at, i)
				next.inputs[r.ID] = visitRef{in.key, i}
			}
		}
	}
	next.keyOf = maps.Clone(m.keyOf)
	next.out = Visits{Measurements: slices.Clone(m.out.Measurements), Sources: maps.Clone(m.out.Sources)}
	for key := range affected {
		id := measurementID(key)
		if k, ok := next.keyOf[id]; ok && k != key {
			return nil, false // two visits named alike (read every visit, as before)
		}
		if _, ok := next.keyOf[id]; ok {
			delete(next.keyOf, id)
			delete(next.out.Sources, id)
			next.out.Measurements = slices.DeleteFunc(next.out.Measurements, func(v nutrition.Measurement) bool { return v.ID == id })
		}
		g := next.groups[key]
		if len(g) == 0 {
			delete(next.groups, key)
			continue
		}
		ins := make([]visitInput, 0, len(g))
		for _, p := range g {
			in, _, err := inputOf(latest, p)
			if err != nil {
				return nil, false
			}
			ins = append(ins, in)
		}
		v, ids, measured := buildVisit(m.base, key, ins, latest, next.encs)
		if !measured {
			continue
		}
		next.out.Measurements = append(next.out.Measurements, v)
		next.out.Sources[v.ID] = ids
		next.keyOf[v.ID] = key
	}
	sortMeasurements(next.out.Measurements)
	return next, true
}

// visitMemos remembers the visits of the records read lately.
type visitMemoCache struct {
	mu sync.Mutex
	m  map[string]*visitMemo
}

// visitMemoSize bounds the records remembered.
const visitMemoSize = 512

var memos = &visitMemoCache{m: map[string]*visitMemo{}}

func (c *visitMemoCache) get(k string) *visitMemo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *visitMemoCache) put(k string, m *visitMemo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= visitMemoSize {
		for old := range c.m { // evict one at random
			delete(c.m, old)
			break
		}
	}
	c.m[k] = m
}
