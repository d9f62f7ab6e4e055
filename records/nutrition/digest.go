package nutrition

import (
	"encoding/json"
	"fmt"
	"time"

	gojson "github.com/goccy/go-json"

	"contigo/internal/intern"
)

// Facts is what Indicators reads of one person's State: the screening bits
// of each assessment that sets any, the episodes' admissions and exits and
// the interventions, with the groups they fall in. A Digest of it is
// stored beside each nutrition projection, so that /indicators reads a few
// hundred bytes per person instead of the whole state.
type Facts struct {
	// Sex, AgeBand and PopulationGroup of the latest assessment (the
	// groups of the person's interventions).
	Sex     string             `json:"s,omitempty"`
	AgeBand string             `json:"b,omitempty"`
	Pop     string             `json:"p,omitempty"`
	Screens []ScreenFact       `json:"a,omitempty"`
	Eps     []EpisodeFact      `json:"e,omitempty"`
	Ivs     []InterventionFact `json:"i,omitempty"`
}

// ScreenFact is one assessment that sets screening bits.
type ScreenFact struct {
	Date    time.Time `json:"d"`
	Area    string    `json:"r,omitempty"`
	Sex     string    `json:"s,omitempty"`
	AgeBand string    `json:"b,omitempty"`
	Pop     string    `json:"p,omitempty"`
	Bits    int       `json:"x"`
}

// EpisodeFact is one episode's admission and exit.
type EpisodeFact struct {
	Admission     time.Time `json:"d"`
	Area          string    `json:"r,omitempty"`
	Sex           string    `json:"s,omitempty"`
	AgeBand       string    `json:"b,omitempty"`
	Pop           string    `json:"p,omitempty"`
	Programme     string    `json:"g"`
	AdmissionType string    `json:"t,omitempty"`
	Relapse       bool      `json:"l,omitempty"`
	Open          bool      `json:"o,omitempty"`
	Outcome       string    `json:"x,omitempty"`
	OutcomeDate   time.Time `json:"xd,omitzero"`
}

// InterventionFact is one intervention.
type InterventionFact struct {
	Date      time.Time `json:"d"`
	Area      string    `json:"r,omitempty"`
	Kind      string    `json:"k"`
	Completed bool      `json:"c,omitempty"`
}

// FactsOf returns the facts of st that Indicators counts.
func FactsOf(st *State) Facts {
	var f Facts
	if n := len(st.Assessments); n > 0 {
		a := &st.Assessments[n-1]
		f.Sex, f.AgeBand, f.Pop = a.Sex, a.AgeBand, a.PopulationGroup
	}
	for i := range st.Assessments {
		a := &st.Assessments[i]
		if b := screenBits(a); b != 0 {
			f.Screens = append(f.Screens, ScreenFact{Date: a.Date, Area: a.AdminArea, Sex: a.Sex, AgeBand: a.AgeBand, Pop: a.PopulationGroup, Bits: b})
		}
	}
	for i := range st.Episodes {
		ep := &st.Episodes[i]
		f.Eps = append(f.Eps, EpisodeFact{Admission: ep.AdmissionDate, Area: ep.AdminArea, Sex: ep.Sex, AgeBand: ep.AgeBand, Pop: ep.PopulationGroup,
			Programme: ep.Programme, AdmissionType: ep.AdmissionType, Relapse: ep.Relapse, Open: ep.Open(), Outcome: ep.Outcome, OutcomeDate: ep.OutcomeDate})
	}
	for i := range st.Interventions {
		iv := &st.Interventions[i]
		f.Ivs = append(f.Ivs, InterventionFact{Date: iv.Date, Area: iv.AdminArea, Kind: iv.Kind, Completed: iv.Completed})
	}
	return f
}

// Digest returns the stored form of the Facts of a State given as JSON
// (records.Person.Nutrition).
func Digest(state []byte) ([]byte, error) {
	var st State
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, fmt.Errorf("indicator digest: %w", err)
	}
	return DigestOf(&st)
}

// DigestOf returns the stored form of the Facts of st: what Digest returns
// for st as JSON, without parsing it.
func DigestOf(st *State) ([]byte, error) {
	b, err := json.Marshal(FactsOf(st))
	if err != nil {
		return nil, fmt.Errorf("indicator digest: %w", err)
	}
	return b, nil
}

// ParseDigest returns the Facts of a Digest. A node parses every person's
// digest at each start and keeps the Facts, so it reads them with
// github.com/goccy/go-json, about three times faster than encoding/json,
// which wrote them (DigestOf; TestParseDigestEqualsEncodingJSON checks
// both read the same Facts), and interns their strings (internal/intern):
// 100,000 persons' facts hold a few hundred distinct areas, groups,
// programmes and kinds, and go-json's strings are views of its copy of the
// whole digest (TestParseDigestInternsEveryString).
func ParseDigest(b []byte) (Facts, error) {
	var f Facts
	if err := gojson.Unmarshal(b, &f); err != nil {
		return Facts{}, fmt.Errorf("indicator digest: %w", err)
	}
	f.intern()
	return f, nil
}

// intern replaces every string of f with its canonical copy.
func (f *Facts) intern() {
	in := func(s *string) { *s = intern.String(*s) }
	in(&f.Sex)
	in(&f.AgeBand)
	in(&f.Pop)
	for i := range f.Screens {
		a := &f.Screens[i]
		in(&a.Area)
		in(&a.Sex)
		in(&a.AgeBand)
		in(&a.Pop)
	}
	for i := range f.Eps {
		e := &f.Eps[i]
		in(&e.Area)
		in(&e.Sex)
		in(&e.AgeBand)
		in(&e.Pop)
		in(&e.Programme)
		in(&e.AdmissionType)
		in(&e.Outcome)
	}
	for i := range f.Ivs {
		in(&f.Ivs[i].Area)
		in(&f.Ivs[i].Kind)
	}
}
