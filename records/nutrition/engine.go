package nutrition

import (
	"encoding/base32"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Apply adds assessment a to a person's state and applies the rules of
// nutrition-rules §7 and §8 as of now: it records a visit in every open
// episode, evaluates the exit criteria, and raises, updates or resolves
// alerts (one active alert per kind and episode; a newer measurement updates
// it; it resolves when its condition clears, keeping its history). actor is
// the user whose write caused the change; it is recorded as Via on the
// changes the engine makes. Apply does not modify state: it returns the new
// State and the Events describing what changed.
//
// An assessment dated before the newest one already in state (an offline
// upload), or one replacing an assessment of the same measurement, makes
// Apply replay the whole history as Reassess does.
func Apply(state State, a Assessment, rs *RuleSet, now time.Time, actor string) (State, []Event) {
	if a.RecordedAt.IsZero() {
		a.RecordedAt = now
	}
	replaces := false
	for _, x := range state.Assessments {
		if x.MeasurementID == a.MeasurementID {
			replaces, a.RecordedAt = true, x.RecordedAt // a correction keeps its place in the day
		}
	}
	if n := len(state.Assessments); replaces || n > 0 && before(&a, &state.Assessments[n-1]) {
		as := make([]Assessment, 0, len(state.Assessments)+1)
		for _, x := range state.Assessments {
			if x.MeasurementID != a.MeasurementID {
				as = append(as, x)
			}
		}
		as = insertSorted(as, a)
		return rebuild(state, as, rs, now, actor)
	}
	s := state.clone()
	e := engine{s: &s, rs: rs, now: now, actor: actor}
	e.followUp(a.Date) // visits missed before this one
	e.assess(a)
	e.followUp(now) // and since, for a late upload
	e.finish()
	return s, e.events
}

// engine applies rules to one State, collecting events.
type engine struct {
	s      *State
	rs     *RuleSet
	now    time.Time
	actor  string
	events []Event
}

func (e *engine) emit(ev Event) {
	ev.At = e.now
	e.events = append(e.events, ev)
}

// assess appends a (the newest assessment) and applies every rule to it.
func (e *engine) assess(a Assessment) {
	s := e.s
	s.Assessments = append(s.Assessments, a)
	cur := &s.Assessments[len(s.Assessments)-1]
	prev := previous(s, cur)
	e.emit(Event{Type: EventAssessed, MeasurementID: a.MeasurementID, Detail: a.Classification})
	e.recordVisit(cur)
	e.evaluateExits(cur)
	e.alerts(cur, prev)
}

// recordVisit counts cur as an attended visit of every open episode it falls
// in and resolves missed-visit alerts: of those episodes, and of a defaulted
// episode when the person comes back.
func (e *engine) recordVisit(cur *Assessment) {
	s := e.s
	for i := range s.Episodes {
		ep := &s.Episodes[i]
		if !ep.Open() || cur.Date.Before(ep.AdmissionDate) {
			continue
		}
		ep.Visits = append(ep.Visits, cur.Date)
		ep.MissedCount = 0
		ep.NextDueDate = nil
		if d := e.interval(ep, cur); d > 0 {
			due := cur.Date.AddDate(0, 0, d)
			ep.NextDueDate = &due
		}
		e.emit(Event{Type: EventVisitRecorded, EpisodeID: ep.ID, MeasurementID: cur.MeasurementID})
	}
	for i := range s.Alerts {
		al := &s.Alerts[i]
		if al.Kind != KindMissedFollowUp || !al.Active() {
			continue
		}
		ep := s.episode(al.EpisodeID())
		if ep != nil && (ep.Open() || ep.Outcome == OutcomeDefaulted) && !cur.Date.Before(ep.AdmissionDate) {
			reason := "visit attended on " + cur.Date.Format(time.DateOnly)
			if !ep.Open() {
				reason = "person came back on " + cur.Date.Format(time.DateOnly) + " after default"
			}
			e.resolve(al, reason)
		}
	}
}

// interval returns the visit interval of ep after assessment a (nil: none):
// the programme's, or followup_days.risk for a child in a followup episode
// whose assessment falls in one of rs.FollowUpRiskBands.
func (e *engine) interval(ep *Episode, a *Assessment) int {
	d := e.rs.FollowUpDays[ep.Programme]
	if ep.Programme == ProgrammeFollowUp && a != nil && a.ExtraBand != "" && slices.Contains(e.rs.FollowUpRiskBands, a.ExtraBand) {
		if r := e.rs.FollowUpDays["risk"]; r > 0 {
			d = r
		}
	}
	return d
}

// finish refreshes the episode part of every alert and the current status.
func (e *engine) finish() {
	s := e.s
	for i := range s.Alerts {
		al := &s.Alerts[i]
		if al.Episode == nil {
			continue
		}
		if ep := s.episode(al.Episode.ID); ep != nil {
			ref := EpisodeRef{ID: ep.ID, Type: ep.Programme, Status: ep.Status, MissedCount: ep.MissedCount}
			if ep.NextDueDate != nil {
				d := *ep.NextDueDate
				ref.NextDueDate = &d
			}
			if *al.Episode != ref {
				al.Episode = &ref
			}
		}
	}
	var st Status // no assessment: no classification
	if n := len(s.Assessments); n > 0 {
		a := &s.Assessments[n-1]
		st.MeasurementID, st.Date, st.Classification, st.AgeBand = a.MeasurementID, a.Date, a.Classification, a.AgeBand
	}
	if ep := s.openEpisode(anyProgs...); ep != nil {
		st.OpenEpisodeID, st.Programme = ep.ID, ep.Programme
	}
	for i := range s.Alerts {
		if al := &s.Alerts[i]; al.Active() {
			st.OpenAlerts++
			if severityRank(al.Severity) > severityRank(st.HighestOpen) {
				st.HighestOpen = al.Severity
			}
		}
	}
	s.Status = st
}

// episode returns the episode with id, or nil.
func (s *State) episode(id string) *Episode {
	if id == "" {
		return nil
	}
	for i := range s.Episodes {
		if s.Episodes[i].ID == id {
			return &s.Episodes[i]
		}
	}
	return nil
}

// openEpisode returns the first open episode in one of programmes, or nil.
func (s *State) openEpisode(programmes ...string) *Episode {
	for i := range s.Episodes {
		if ep := &s.Episodes[i]; ep.Open() && slices.Contains(programmes, ep.Programme) {
			return ep
		}
	}
	return nil
}

// Alert returns the alert with id, or nil.
func (s *State) Alert(id string) *Alert {
	for i := range s.Alerts {
		if s.Alerts[i].ID == id {
			return &s.Alerts[i]
		}
	}
	return nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newAlertID derives an alert id from what raised it, so that a replay
// gives the same id: "<personRef>.f<13 base32 chars>", a valid FHIR id.
func (s *State) newAlertID(kind, episodeID, measurementID string) string {
	h := fnv.New64a()
	h.Write([]byte(kind + "|" + episodeID + "|" + measurementID))
	var sum [8]byte
	v := h.Sum64()
	for i := range sum {
		sum[i] = byte(v >> (8 * i))
	}
	id := s.PersonRef + ".f" + strings.ToLower(idEncoding.EncodeToString(sum[:]))
	base := id
	for n := 2; s.Alert(id) != nil; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	return id
}

// Clone returns a copy of s whose slices the engine's functions may change
// without changing s.
func (s State) Clone() State { return s.clone() }

// clone returns a copy of s that shares no mutable memory with it.
func (s State) clone() State {
	out := s
	// Room for the assessment Apply appends, so that it does not copy twice.
	out.Assessments = append(make([]Assessment, 0, len(s.Assessments)+1), s.Assessments...)
	out.Alerts = slices.Clone(s.Alerts)
	for i := range out.Alerts {
		out.Alerts[i].History = slices.Clip(out.Alerts[i].History)
		out.Alerts[i].Trigger.MeasurementIDs = slices.Clip(out.Alerts[i].Trigger.MeasurementIDs)
		if r := out.Alerts[i].Episode; r != nil {
			c := *r
			out.Alerts[i].Episode = &c
		}
	}
	out.Episodes = slices.Clone(s.Episodes)
	for i := range out.Episodes {
		out.Episodes[i].Visits = slices.Clip(out.Episodes[i].Visits)
		if d := out.Episodes[i].NextDueDate; d != nil {
			c := *d
			out.Episodes[i].NextDueDate = &c
		}
	}
	out.Interventions = slices.Clone(s.Interventions)
	return out
}

// insertSorted inserts a into as, kept in (date, measurement id) order.
func insertSorted(as []Assessment, a Assessment) []Assessment {
	i := len(as)
	for i > 0 && before(&a, &as[i-1]) {
		i--
	}
	return slices.Insert(as, i, a)
}

func without(list []string, drop string) []string {
	var out []string
	for _, x := range list {
		if x != drop {
			out = append(out, x)
		}
	}
	return out
}

// round1 rounds to 1 decimal, for age_months in alert payloads.
func round1(x float64) float64 { return math.Round(x*10) / 10 }
