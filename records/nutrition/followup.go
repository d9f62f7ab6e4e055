package nutrition

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"contigo/growth"
	"contigo/records"
)

// CheckFollowUp applies the missed-visit rule of §7 as of now: a scheduled
// visit is missed when its due date plus rs.MissedVisitGraceDays has passed
// (now's calendar date is later) with no visit in the episode. Each miss
// raises or updates the episode's missed_follow_up alert (medium) and
// schedules the next visit one interval later; the
// rs.DefaultAfterMissedVisits-th consecutive miss closes the episode as
// defaulted, dated at the last attended visit, and raises the alert to
// high. Running it again with the same now changes nothing, so replicas may
// run it concurrently under the record's optimistic lock.
func CheckFollowUp(state State, rs *RuleSet, now time.Time) (State, []Event) {
	s := state.clone()
	e := engine{s: &s, rs: rs, now: now, actor: ActorSystem}
	e.followUp(now)
	if len(e.events) == 0 {
		return state, nil
	}
	e.finish()
	return s, e.events
}

// followUp counts the visits missed before at.
func (e *engine) followUp(at time.Time) {
	today := civil(at)
	for i := range e.s.Episodes {
		ep := &e.s.Episodes[i]
		interval := e.rs.FollowUpDays[ep.Programme]
		end, hasEnd := e.lactationEnd(ep)
		for ep.Open() && ep.NextDueDate != nil && interval > 0 &&
			today > civil(*ep.NextDueDate)+int64(e.rs.MissedVisitGraceDays) {
			due := *ep.NextDueDate
			if hasEnd && civil(end) <= civil(due)+int64(e.rs.MissedVisitGraceDays)+1 {
				break // the lactation window closes before this visit counts as missed
			}
			ep.MissedCount++
			e.emit(Event{Type: EventVisitMissed, EpisodeID: ep.ID, Detail: due.Format(time.DateOnly)})
			next := due.AddDate(0, 0, interval)
			if d := e.interval(ep, e.s.latestOnOrBefore(due)); d > 0 {
				next = due.AddDate(0, 0, d)
			}
			ep.NextDueDate = &next
			defaulted := ep.MissedCount >= e.rs.DefaultAfterMissedVisits
			if defaulted {
				e.close(ep, OutcomeDefaulted, ep.lastAttended(),
					strconv.Itoa(ep.MissedCount)+" consecutive scheduled visits missed", ActorSystem)
			}
			e.missedAlert(ep, due, defaulted)
		}
		if ep.Open() && hasEnd && today >= civil(end) {
			e.lactationExit(ep, end)
		}
	}
}

// lactationEnd returns the end of the lactation window of a woman's open
// episode: the newest delivery date recorded with a lactating status (on an
// assessment applied so far) plus rs.LactationMonths. ok is false for a
// child's episode or when no delivery date is known.
func (e *engine) lactationEnd(ep *Episode) (end time.Time, ok bool) {
	if !ep.Open() || ep.AgeBand != AgeBandPLW {
		return time.Time{}, false
	}
	for i := len(e.s.Assessments) - 1; i >= 0; i-- {
		a := &e.s.Assessments[i]
		if a.Subject == SubjectPLW && a.PLWStatus == StatusLactating && !a.DeliveryDate.IsZero() {
			return a.DeliveryDate.AddDate(0, e.rs.LactationMonths, 0), true
		}
	}
	return time.Time{}, false
}

// ReasonLactationEnd starts the outcome reason of a PLW episode closed at
// the end of the lactation window (§7).
const ReasonLactationEnd = "end of lactation window"

// lactationExit closes a woman's episode as cured at the end of her
// lactation window (§7 "PLW: exit ... or at end of the lactation window"):
// the window is an exit criterion, and outcome cured means "met exit
// criteria". The outcome date is the window's end (not before admission).
func (e *engine) lactationExit(ep *Episode, end time.Time) {
	date := dateOnly(end)
	if date.Before(ep.AdmissionDate) {
		date = ep.AdmissionDate
	}
	e.close(ep, OutcomeCured, date, fmt.Sprintf("%s (%d months after delivery, on %s)",
		ReasonLactationEnd, e.rs.LactationMonths, dateOnly(end).Format(time.DateOnly)), ActorSystem)
}

// missedAlert raises or updates the missed_follow_up alert of ep.
func (e *engine) missedAlert(ep *Episode, due time.Time, defaulted bool) {
	s := e.s
	var al *Alert
	for i := range s.Alerts {
		if a := &s.Alerts[i]; a.Active() && a.Kind == KindMissedFollowUp && a.EpisodeID() == ep.ID {
			al = a
		}
	}
	opened := al == nil
	if opened {
		s.Alerts = append(s.Alerts, Alert{
			ID:        s.newAlertID(KindMissedFollowUp, ep.ID, due.Format(time.DateOnly)),
			Kind:      KindMissedFollowUp,
			Status:    StatusOpen,
			CreatedAt: e.now,
			PersonRef: s.PersonRef,
			Country:   s.Country,
			History:   []Change{{At: e.now, Actor: ActorSystem, To: StatusOpen, Reason: "visit due " + due.Format(time.DateOnly) + " missed"}},
		})
		al = &s.Alerts[len(s.Alerts)-1]
	}
	al.Severity = SeverityMedium
	reason := fmt.Sprintf("%d consecutive visits missed, last due %s", ep.MissedCount, due.Format(time.DateOnly))
	if defaulted {
		al.Severity = SeverityHigh
		reason += "; episode closed as defaulted"
	}
	al.UpdatedAt = e.now
	al.SiteID, al.AdminArea = ep.Site, ep.AdminArea
	al.Trigger = Trigger{Date: due, Reasons: []string{reason}}
	al.Rule = e.rs.Ref("followup.missed_visit")
	if la := s.latestOnOrBefore(due); la != nil {
		al.Trigger.Classification = la.Classification
		al.Trigger.MeasurementIDs = []string{la.MeasurementID}
		al.Sex, al.AgeBand, al.PopulationGroup = la.Sex, la.AgeBand, la.PopulationGroup
		if la.HasAge {
			al.AgeMonths = round1(la.AgeMonths + float64(civil(due)-civil(la.Date))/growth.DaysPerMonth)
		}
	}
	al.Episode = &EpisodeRef{ID: ep.ID}
	typ := EventAlertUpdated
	if opened {
		typ = EventAlertOpened
	}
	e.emit(Event{Type: typ, AlertID: al.ID, AlertKind: al.Kind, Severity: al.Severity, EpisodeID: ep.ID})
}

// Statuses people may set with SetAlertStatus.
var humanStatuses = []string{StatusOpen, StatusAcknowledged, StatusReferred, StatusAdmitted, StatusClosed}

// SetAlertStatus records a status change of alert alertID by actor at now,
// with reason, in the alert's history. People may set open, acknowledged,
// referred (the referral becomes "requested"), admitted or closed; closed
// needs a reason; a closed alert may be reopened (any other status) unless
// another active alert of its kind and episode exists. It returns a *records.FieldError:
// records.ErrInvalid for another status or a missing reason,
// records.ErrNotFound for an unknown alert, and Kind records.ErrConflict to
// change a resolved alert or to reopen one whose condition is gone.
func SetAlertStatus(state State, alertID, status, reason, actor string, now time.Time) (State, []Event, error) {
	if !slices.Contains(humanStatuses, status) {
		return state, nil, &records.FieldError{Field: "status", Reason: fmt.Sprintf("must be one of %q", humanStatuses)}
	}
	if status == StatusClosed && reason == "" {
		return state, nil, &records.FieldError{Field: "reason", Reason: "missing: closing an alert needs a reason"}
	}
	if actor == "" || actor == ActorSystem {
		return state, nil, &records.FieldError{Field: "actor", Reason: "missing: a person must be named"}
	}
	s := state.clone()
	al := s.Alert(alertID)
	switch {
	case al == nil:
		return state, nil, &records.FieldError{Field: "alert", Reason: "no alert " + alertID, Kind: records.ErrNotFound}
	case al.Status == StatusResolved:
		return state, nil, &records.FieldError{Field: "status", Reason: "the alert was resolved: its condition cleared", Kind: records.ErrConflict}
	case al.Status == status:
		return state, nil, nil
	}
	if status != StatusClosed && al.Status == StatusClosed { // reopening
		for i := range s.Alerts {
			if o := &s.Alerts[i]; o.Active() && o.Kind == al.Kind && o.EpisodeID() == al.EpisodeID() {
				return state, nil, &records.FieldError{Field: "status", Reason: "another alert of this kind is open: " + o.ID, Kind: records.ErrConflict}
			}
		}
	}
	e := engine{s: &s, now: now, actor: actor}
	if status == StatusReferred {
		al.Referral = &Referral{Status: "requested"}
	}
	e.setStatus(al, status, reason, actor)
	e.finish()
	return s, e.events, nil
}

// AddIntervention records a supplementation, counselling or referral event
// (counted by Indicators); an intervention with the same id is replaced.
// It returns a *records.FieldError for a missing id or date or an unknown
// kind.
func AddIntervention(state State, iv Intervention) (State, error) {
	switch {
	case iv.ID == "":
		return state, &records.FieldError{Field: "id", Reason: "missing"}
	case iv.Date.IsZero():
		return state, &records.FieldError{Field: "date", Reason: "missing"}
	case !slices.Contains(interventionKinds, iv.Kind):
		return state, &records.FieldError{Field: "kind", Reason: fmt.Sprintf("must be one of %q", interventionKinds)}
	}
	s := state
	s.Interventions = slices.DeleteFunc(slices.Clone(state.Interventions), func(x Intervention) bool { return x.ID == iv.ID })
	iv.Date = dateOnly(iv.Date)
	s.Interventions = append(s.Interventions, iv)
	return s, nil
}

var interventionKinds = []string{InterventionRUTF, InterventionRUSF, InterventionSFF, InterventionAmoxicillin,
	InterventionVitaminA, InterventionDeworming, InterventionMNP, InterventionIFA, InterventionIYCFCounselling,
	InterventionPLWCounselling, InterventionReferral}
