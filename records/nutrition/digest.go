package nutrition

import (
	"encoding/json"
	"fmt"
	"time"
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

// ParseDigest returns the Facts of a Digest.
func ParseDigest(b []byte) (Facts, error) {
	var f Facts
	if err := json.Unmarshal(b, &f); err != nil {
		return Facts{}, fmt.Errorf("indicator digest: %w", err)
	}
	return f, nil
}
