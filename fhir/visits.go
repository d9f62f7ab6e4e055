package fhir

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"contigo/records"
	"contigo/records/nutrition"
)

// ReadVisitsOf is ReadVisits for a caller that has p.Latest() already.
//
// A write reads the visits of the record it changes, and a child's record
// holds every earlier visit: so what it found in a record is remembered
// (visitMemo), and the next read of that record compares its resources
// with the remembered ones, in order, and rebuilds only the visits whose
// Observations or Encounter changed. Any other difference (the Patient
// changed, a resource is gone, one came back where it was first created)
// reads every visit again. Only a speed-up: the answer is the same
// (TestVisitMemoEqualsFullRead).
func ReadVisitsOf(p *records.Person, latest []records.Resource) (Visits, error) {
	k := string(p.Country) + "/" + p.ID
	if m := memos.get(k); m != nil {
		if next, ok := m.update(latest); ok {
			memos.put(k, next)
			memoUpdates.Add(1)
			return next.visits(), nil
		}
	}
	m, err := readAllVisits(p, latest)
	if err != nil {
		return Visits{}, err
	}
	memos.put(k, m)
	return m.visits(), nil
}

// memoUpdates counts the reads answered by updating a memo (tests).
var memoUpdates atomic.Int64

// visitInput is one measurement Observation as a visit reads it.
type visitInput struct {
	pos       int // in latest
	o         *obsIn
	date, key string // the Observation's date; its visit: "e<encounter id>" or "d<date>"
	enc       string // the Encounter's id, if any
}

// inputOf returns the visit input of latest[pos], ok false if the engine
// does not read it.
func inputOf(latest []records.Resource, pos int) (in visitInput, ok bool, err error) {
	r := latest[pos]
	if !IsNutritionInput(r) {
		return in, false, nil
	}
	o, err := decoded.observation(r)
	if err != nil {
		return in, false, fmt.Errorf("nutrition: read Observation/%s: %w", r.ID, err)
	}
	if o.Status == "entered-in-error" || o.Status == "cancelled" {
		return in, false, nil
	}
	d := o.date()
	if d == "" {
		d = r.Updated.UTC().Format(time.DateOnly)
	}
	in = visitInput{pos: pos, o: o, date: d, key: "d" + d}
	if o.Encounter != nil {
		if id, ok := strings.CutPrefix(o.Encounter.Reference, "Encounter/"); ok && id != "" {
			in.key, in.enc = "e"+id, id
		}
	}
	return in, true, nil
}

// baseOf returns the measurement fields p's Patient gives every visit.
func baseOf(p *records.Person) (nutrition.Measurement, error) {
	var pt patientIn
	if r, ok := p.Patient(); ok && !r.Deleted {
		if err := json.Unmarshal(r.Body, &pt); err != nil {
			return nutrition.Measurement{}, fmt.Errorf("nutrition: read Patient: %w", err)
		}
	}
	base := nutrition.Measurement{Sex: sexOf(pt.Gender), PopulationGroup: extValue(pt.Extension, ExtPopulationGroup)}
	base.BirthDate, base.BirthPrecision = birthOf(pt.BirthDate, extValue(pt.Extension, ExtBirthPrecision))
	if len(pt.Address) > 0 {
		base.AdminArea = cmpOrStr(pt.Address[0].District, pt.Address[0].State)
	}
	return base, nil
}

// buildVisit reads the inputs of one visit (in latest's order) into its
// measurement; measured is false if none holds a measurement. ids are the
// inputs' Observation ids, sorted.
func buildVisit(base nutrition.Measurement, key string, ins []visitInput, latest []records.Resource, encs map[string]int) (m nutrition.Measurement, ids []string, measured bool) {
	m = base
	m.ID = measurementID(key)
	date := ins[0].date
	ids = make([]string, 0, len(ins))
	for _, in := range ins {
		date = min(date, in.date)
		ids = append(ids, latest[in.pos].ID)
		if read(&m, in.o) {
			measured = true
			if m.Measurer == "" {
				m.Measurer = in.o.measurer()
			}
		}
	}
	if !measured {
		return m, nil, false
	}
	m.Date, _ = time.Parse(time.DateOnly, date)
	if m.PLWStatus != "" {
		m.Subject = nutrition.SubjectPLW
	}
	if enc := ins[0].enc; enc != "" {
		if at, ok := encs[enc]; ok && !latest[at].Deleted {
			m.Site = decoded.site(latest[at])
		}
	}
	slices.Sort(ids)
	return m, ids, true
}

// sortMeasurements orders ms by date, then id.
func sortMeasurements(ms []nutrition.Measurement) {
	slices.SortFunc(ms, func(a, b nutrition.Measurement) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
