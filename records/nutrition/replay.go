package nutrition

import (
	"slices"
	"sort"
	"time"
)

// Reassess rebuilds a person's derived state from their complete list of
// measurements after a correction or deletion (§8: "a correction or
// deletion of a measurement re-assesses"). Measurements are taken in (date,
// id) order; an unchanged measurement keeps its stored assessment (and the
// rule set that produced it), a new or corrected one is assessed with rs.
// Then the history is replayed: episode admissions and closures made by
// people are kept, visits, misses, automatic closures and alerts are
// derived again, and checked for missed visits as of now. Alerts keep their
// ids, creation times and human status history; an alert whose condition is
// gone is resolved, with the change recorded. The result depends only on
// the inputs.
func Reassess(measurements []Measurement, prev State, rs *RuleSet, now time.Time, actor string) (State, []Event) {
	ms := slices.Clone(measurements)
	sort.SliceStable(ms, func(i, j int) bool {
		if !dateOnly(ms[i].Date).Equal(dateOnly(ms[j].Date)) {
			return ms[i].Date.Before(ms[j].Date)
		}
		return ms[i].ID < ms[j].ID
	})
	old := map[string]*Assessment{}
	oldPrev := map[string]string{} // measurement id -> id of the assessment before it
	for i := range prev.Assessments {
		a := &prev.Assessments[i]
		old[a.MeasurementID] = a
		if p := previous(&prev, a); p != nil {
			oldPrev[a.MeasurementID] = p.MeasurementID + "/" + p.InputHash
		}
	}
	partial := State{PersonRef: prev.PersonRef, Country: prev.Country}
	for _, m := range ms {
		h := inputHash(&m)
		probe := Assessment{MeasurementID: m.ID, Date: dateOnly(m.Date), Subject: m.Subject}
		if probe.Subject == "" {
			probe.Subject = SubjectChild
		}
		newPrev := ""
		if p := previous(&partial, &probe); p != nil {
			newPrev = p.MeasurementID + "/" + p.InputHash
		}
		o, ok := old[m.ID]
		if ok && o.InputHash == h && oldPrev[m.ID] == newPrev {
			partial.Assessments = append(partial.Assessments, *o)
			continue
		}
		a := Assess(m, &partial, rs)
		a.RecordedAt = now
		if ok {
			a.RecordedAt = o.RecordedAt // a correction keeps its place in the day
		}
		partial.Assessments = append(partial.Assessments, a)
	}
	return rebuild(prev, partial.Assessments, rs, now, actor)
}

// item is one step of a replay.
type item struct {
	date    time.Time // calendar date
	at      time.Time // when it was recorded (for ordering on the same date)
	order   int       // tie-break: assessments, then people's actions in recorded order
	a       *Assessment
	admit   *Episode // an admission to replay
	closure *Episode // a closure by a person to replay
	change  *Change  // an alert status change by a person to replay
	alertID string   // the alert of change
}

// rebuild replays assessments as (sorted by date, id) together with the
// admissions and human closures of old, then merges the derived alerts with
// old's and returns the events that changed old into the result.
func rebuild(old State, as []Assessment, rs *RuleSet, now time.Time, actor string) (State, []Event) {
	var items []item
	for i := range as {
		items = append(items, item{date: as[i].Date, at: as[i].RecordedAt, order: i, a: &as[i]})
	}
	for i := range old.Episodes {
		ep := &old.Episodes[i]
		items = append(items, item{date: ep.AdmissionDate, at: ep.AdmittedAt, order: len(as) + 2*i, admit: ep})
		if !ep.Open() && ep.ClosedBy != ActorSystem {
			items = append(items, item{date: dateOnly(ep.ClosedAt), at: ep.ClosedAt, order: len(as) + 2*i + 1, closure: ep})
		}
	}
	for i := range old.Alerts {
		al := &old.Alerts[i]
		for k := range al.History {
			if c := &al.History[k]; c.Actor != ActorSystem {
				items = append(items, item{date: dateOnly(c.At), at: c.At, order: len(as) + 2*len(old.Episodes) + i, change: c, alertID: al.ID})
			}
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		x, y := &items[i], &items[j]
		if !x.date.Equal(y.date) {
			return x.date.Before(y.date)
		}
		if !x.at.Equal(y.at) {
			return x.at.Before(y.at) // as recorded that day
		}
		if (x.a == nil) != (y.a == nil) {
			return x.a != nil // assessments first
		}
		return x.order < y.order
	})

	s := State{PersonRef: old.PersonRef, Country: old.Country, Interventions: slices.Clone(old.Interventions)}
	e := engine{s: &s, rs: rs, actor: actor}
	for _, it := range items {
		e.now = it.date
		if !it.at.IsZero() {
			e.now = it.at
		}
		e.followUp(it.date)
		switch {
		case it.a != nil:
			e.assess(*it.a)
			e.followUp(e.now)
		case it.admit != nil:
			ep := it.admit
			adm := Admission{Programme: ep.Programme, Criteria: ep.AdmissionCriteria, Date: ep.AdmissionDate,
				Site: ep.Site, AdminArea: ep.AdminArea, id: ep.ID}
			if ep.TreatmentCourseID != ep.ID {
				adm.TreatmentCourseID, adm.PreviousEpisodeID = ep.TreatmentCourseID, ep.PreviousEpisodeID
			}
			e.actor = ep.AdmittedBy
			_ = e.admit(adm) // a conflict means a later correction changed history; skip it
			e.actor = actor
		case it.change != nil:
			e.replayChange(it.alertID, it.change)
		case it.closure != nil:
			if cur := s.episode(it.closure.ID); cur != nil && cur.Open() {
				c := it.closure
				e.close(cur, c.Outcome, c.OutcomeDate, c.OutcomeReason, c.ClosedBy)
				cur.ClosedAt = c.ClosedAt
			}
		}
	}
	e.now = now
	e.followUp(now)
	s.Alerts = mergeAlerts(old.Alerts, s.Alerts, now)
	// A closure derived again keeps when it was first recorded.
	for i := range s.Episodes {
		ep := &s.Episodes[i]
		if o := old.episode(ep.ID); o != nil && !ep.Open() && o.Outcome == ep.Outcome && o.OutcomeDate.Equal(ep.OutcomeDate) && o.ClosedBy == ep.ClosedBy {
			ep.ClosedAt, ep.OutcomeReason = o.ClosedAt, o.OutcomeReason
		}
	}
	e.finish()
	return s, diff(&old, &s, now)
}

// mergeAlerts keeps the identity and human history of old alerts in the
// rebuilt set.
func mergeAlerts(old, rebuilt []Alert, now time.Time) []Alert {
	used := make([]bool, len(rebuilt))
	match := func(o *Alert) int {
		for j := range rebuilt {
			if !used[j] && rebuilt[j].ID == o.ID {
				return j
			}
		}
		for j := range rebuilt {
			n := &rebuilt[j]
			if used[j] || n.Kind != o.Kind || n.EpisodeID() != o.EpisodeID() {
				continue
			}
			if slices.ContainsFunc(n.Trigger.MeasurementIDs, func(id string) bool { return slices.Contains(o.Trigger.MeasurementIDs, id) }) ||
				n.Kind == KindMissedFollowUp && n.Trigger.Date.Equal(o.Trigger.Date) {
				return j
			}
		}
		return -1
	}
	out := make([]Alert, 0, len(rebuilt)+len(old))
	for i := range old {
		o := old[i]
		o.History = slices.Clip(o.History)
		j := match(&o)
		if j < 0 {
			if o.Active() {
				o.History = append(o.History, Change{At: now, Actor: ActorSystem, From: o.Status, To: StatusResolved,
					Reason: "condition no longer present after a correction"})
				o.Status, o.UpdatedAt = StatusResolved, now
			}
			out = append(out, o)
			continue
		}
		used[j] = true
		n := rebuilt[j]
		if o.Status == StatusClosed && n.Active() {
			out = append(out, o) // a person's closure stands
			continue
		}
		// The replay carries people's changes already: take its status and
		// payload, keep the recorded history and add how the status changed.
		m := n
		m.ID, m.CreatedAt, m.History = o.ID, o.CreatedAt, o.History
		if o.Referral != nil {
			m.Referral = o.Referral
		}
		if n.Status != o.Status {
			reason := "after a correction"
			switch last := n.History[len(n.History)-1]; {
			case !o.Active() && n.Active():
				reason = "condition holds again after a correction"
			case last.Actor == ActorSystem:
				reason = last.Reason + " (after a correction)"
			}
			m.History = append(m.History, Change{At: now, Actor: ActorSystem, From: o.Status, To: n.Status, Reason: reason})
		}
		m.UpdatedAt = o.UpdatedAt
		if !sameAlert(&o, &m) {
			m.UpdatedAt = now
		}
		out = append(out, m)
	}
	for j := range rebuilt {
		if used[j] {
			continue
		}
		n := rebuilt[j]
		n.CreatedAt, n.UpdatedAt = now, now
		n.History = slices.Clone(n.History)
		for k := range n.History {
			n.History[k].At = now
		}
		out = append(out, n)
	}
	return out
}

// replayChange applies a person's recorded status change to the rebuilt
// alert id, when it still applies: not to a resolved alert, and a reopening
// that would make two alerts of one kind and episode active resolves the
// reopened one instead.
func (e *engine) replayChange(id string, c *Change) {
	al := e.s.Alert(id)
	if al == nil || al.Status == StatusResolved || al.Status == c.To {
		return
	}
	if al.Status == StatusClosed && c.To != StatusClosed {
		for i := range e.s.Alerts {
			if o := &e.s.Alerts[i]; o.Active() && o.ID != id && o.Kind == al.Kind && o.EpisodeID() == al.EpisodeID() {
				e.setStatus(al, StatusResolved, "alert "+o.ID+" of this kind is active after a correction", ActorSystem)
				return
			}
		}
	}
	if c.To == StatusReferred {
		al.Referral = &Referral{Status: "requested"}
	}
	e.setStatus(al, c.To, c.Reason, c.Actor)
}

// sameAlert reports whether two versions of an alert say the same thing.
func sameAlert(a, b *Alert) bool {
	return a.Status == b.Status && a.Severity == b.Severity && len(a.History) == len(b.History) &&
		a.Trigger.Date.Equal(b.Trigger.Date) && slices.Equal(a.Trigger.MeasurementIDs, b.Trigger.MeasurementIDs) &&
		a.Trigger.Classification == b.Trigger.Classification && slices.Equal(a.Trigger.Reasons, b.Trigger.Reasons)
}

// diff returns the events that turn old into s.
func diff(old, s *State, now time.Time) []Event {
	var ev []Event
	oldA := map[string]string{}
	for _, a := range old.Assessments {
		oldA[a.MeasurementID] = a.InputHash
	}
	for _, a := range s.Assessments {
		if h, ok := oldA[a.MeasurementID]; !ok || h != a.InputHash {
			ev = append(ev, Event{Type: EventAssessed, At: now, MeasurementID: a.MeasurementID, Detail: a.Classification})
		}
	}
	for i := range s.Episodes {
		ep := &s.Episodes[i]
		o := old.episode(ep.ID)
		switch {
		case o == nil:
			ev = append(ev, Event{Type: EventEpisodeOpened, At: now, EpisodeID: ep.ID, Detail: ep.Programme + "/" + ep.AdmissionType})
		case !ep.Open() && (o.Open() || o.Outcome != ep.Outcome):
			ev = append(ev, Event{Type: EventEpisodeClosed, At: now, EpisodeID: ep.ID, Detail: ep.Outcome})
		}
	}
	for i := range s.Alerts {
		al := &s.Alerts[i]
		o := old.Alert(al.ID)
		typ := ""
		switch {
		case o == nil:
			typ = EventAlertOpened
		case o.Status != al.Status && al.Status == StatusResolved:
			typ = EventAlertResolved
		case o.Status != al.Status:
			typ = EventAlertStatus
		case !sameAlert(o, al):
			typ = EventAlertUpdated
		default:
			continue
		}
		ev = append(ev, Event{Type: typ, At: now, AlertID: al.ID, AlertKind: al.Kind, Severity: al.Severity, EpisodeID: al.EpisodeID(), Detail: al.Status})
	}
	return ev
}
