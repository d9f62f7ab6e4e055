package nutrition

import (
	"slices"
	"testing"
	"time"
)

// day parses a calendar date.
func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// story drives one person's state through dated events, as the records
// write path and the scheduler would.
type story struct {
	t      *testing.T
	rs     *RuleSet
	s      State
	ms     []Measurement
	events []Event // of the last step
}

func newStory(t *testing.T, rs *RuleSet, person string) *story {
	t.Helper()
	return &story{t: t, rs: rs, s: State{PersonRef: person, Country: "CO"}}
}

// at returns the moment events of date d are recorded: 10:00 UTC.
func at(d time.Time) time.Time { return d.Add(10 * time.Hour) }

// measure validates, assesses and applies m at 10:00 on its date.
func (st *story) measure(m Measurement) *Assessment {
	st.t.Helper()
	if err := Validate(m, st.rs, at(m.Date)); err != nil {
		st.t.Fatalf("Validate(%s): %v", m.ID, err)
	}
	a := Assess(m, &st.s, st.rs)
	st.ms = append(st.ms, m)
	st.s, st.events = Apply(st.s, a, st.rs, at(m.Date), "hw-1")
	for i := range st.s.Assessments {
		if st.s.Assessments[i].MeasurementID == m.ID {
			return &st.s.Assessments[i]
		}
	}
	st.t.Fatalf("assessment of %s not stored", m.ID)
	return nil
}

func (st *story) admit(programme string, d time.Time) *Episode {
	st.t.Helper()
	s, ev, err := Admit(st.s, st.rs, Admission{Programme: programme, Date: d}, at(d), "nurse-1")
	if err != nil {
		st.t.Fatalf("Admit(%s): %v", programme, err)
	}
	st.s, st.events = s, ev
	return &st.s.Episodes[len(st.s.Episodes)-1]
}

func (st *story) check(d time.Time) {
	st.t.Helper()
	st.s, st.events = CheckFollowUp(st.s, st.rs, at(d))
}

// active returns the active alerts of kind.
func (st *story) active(kind string) []*Alert {
	var out []*Alert
	for i := range st.s.Alerts {
		if a := &st.s.Alerts[i]; a.Kind == kind && a.Active() {
			out = append(out, a)
		}
	}
	return out
}

// activeKinds returns the kinds of all active alerts, sorted.
func (st *story) activeKinds() []string {
	var out []string
	for _, a := range st.s.Alerts {
		if a.Active() {
			out = append(out, a.Kind)
		}
	}
	slices.Sort(out)
	return out
}

func (st *story) wantActive(kinds ...string) {
	st.t.Helper()
	slices.Sort(kinds)
	if got := st.activeKinds(); !slices.Equal(got, kinds) {
		st.t.Errorf("active alerts = %v, want %v", got, kinds)
	}
}

// hasEvent reports whether the last step emitted an event of type typ (and
// alert kind, when given).
func (st *story) hasEvent(typ, kind string) bool {
	for _, e := range st.events {
		if e.Type == typ && (kind == "" || e.AlertKind == kind) {
			return true
		}
	}
	return false
}

// boy returns a measurement of a boy born 2024-01-10 with a healthy weight
// for 76 cm (WHZ -0.92 at 14 months), oedema absent, and the given MUAC.
func boy(id, date string, muac int) Measurement {
	return Measurement{ID: id, Date: day(date), Sex: SexMale, BirthDate: day("2024-01-10"),
		WeightKg: F(9.0), LengthCm: F(76), Position: PositionLying, MUACmm: MM(muac), Oedema: OedemaAbsent,
		Site: "mu-7", AdminArea: "CO-NSA", PopulationGroup: "in_transit"}
}
