package nutrition

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"contigo/records"
)

// An Admission asks Admit to open an episode of care.
type Admission struct {
	Programme string    // ProgrammeOTP, ProgrammeInpatient, ProgrammeTSFP, ProgrammeMAMI or ProgrammeFollowUp
	Criteria  []string  // what admitted the person (e.g. "muac_mm"); nil: the newest assessment's criteria
	Date      time.Time // admission date; zero: now
	Site      string
	AdminArea string
	// TreatmentCourseID links a transfer to the episode it continues; ""
	// starts a new course (the episode's own id).
	TreatmentCourseID string
	PreviousEpisodeID string // set by Transfer

	id string // set by a replay: keep the episode's identity
}

// Admit opens an episode of care (§7) at adm.Date and schedules its first
// visit after the programme's interval. The admission type is
// return_after_default when the person's newest closed treatment episode was
// defaulted, and relapse is set when it was cured less than
// rs.RelapseMonths before; both link the old episode. Active alerts that the
// programme answers (new_severe_wasting, nutritional_oedema,
// new_moderate_wasting, infant_at_risk, plw_acute_malnutrition) get status
// admitted and the episode. Admit returns a *records.FieldError
// (records.ErrInvalid) for an unknown programme, and one with Kind
// records.ErrConflict if a treatment episode is already open (an open
// follow-up episode is closed as transferred_internal instead).
func Admit(state State, rs *RuleSet, adm Admission, now time.Time, actor string) (State, []Event, error) {
	if !slices.Contains(anyProgs, adm.Programme) {
		return state, nil, &records.FieldError{Field: "programme", Reason: fmt.Sprintf("must be one of %q", anyProgs)}
	}
	s := state.clone()
	e := engine{s: &s, rs: rs, now: now, actor: actor}
	if err := e.admit(adm); err != nil {
		return state, nil, err
	}
	e.finish()
	return s, e.events, nil
}

func (e *engine) admit(adm Admission) error {
	s := e.s
	date := adm.Date
	if date.IsZero() {
		date = e.now
	}
	date = dateOnly(date)
	if open := s.openEpisode(ProgrammeOTP, ProgrammeInpatient, ProgrammeTSFP, ProgrammeMAMI); open != nil && adm.Programme != ProgrammeFollowUp {
		return &records.FieldError{Field: "programme", Reason: "episode " + open.ID + " (" + open.Programme + ") is still open; close or transfer it first", Kind: records.ErrConflict}
	}
	if fu := s.openEpisode(ProgrammeFollowUp); fu != nil {
		if adm.Programme == ProgrammeFollowUp {
			return &records.FieldError{Field: "programme", Reason: "a follow-up episode is already open", Kind: records.ErrConflict}
		}
		e.close(fu, OutcomeTransferredInternal, date, "admitted to "+adm.Programme, ActorSystem)
	}
	id := adm.id
	if id == "" {
		id = s.PersonRef + ".ep" + strconv.Itoa(len(s.Episodes)+1)
	}
	ep := Episode{
		ID:                id,
		Programme:         adm.Programme,
		Status:            EpisodeActive,
		AdmissionDate:     date,
		AdmissionCriteria: adm.Criteria,
		AdmissionType:     AdmissionNew,
		TreatmentCourseID: adm.TreatmentCourseID,
		PreviousEpisodeID: adm.PreviousEpisodeID,
		AdmittedBy:        e.actorOrSystem(),
		AdmittedAt:        e.now,
		Site:              adm.Site,
		AdminArea:         adm.AdminArea,
	}
	if la := s.latestOnOrBefore(date); la != nil {
		ep.AdmissionClass, ep.AgeBand, ep.Sex, ep.PopulationGroup = la.Classification, la.AgeBand, la.Sex, la.PopulationGroup
		if ep.AdmissionCriteria == nil {
			ep.AdmissionCriteria = slices.Clone(la.Criteria)
		}
		if ep.Site == "" {
			ep.Site, ep.AdminArea = la.Site, la.AdminArea
		}
	}
	if ep.TreatmentCourseID != "" {
		ep.AdmissionType = AdmissionTransferIn
	} else {
		ep.TreatmentCourseID = ep.ID
		if last := s.lastClosedTreatment(); last != nil {
			switch {
			case last.Outcome == OutcomeDefaulted:
				ep.AdmissionType, ep.PreviousEpisodeID = AdmissionReturnAfterDefault, last.ID
			case last.Outcome == OutcomeCured && date.Before(last.OutcomeDate.AddDate(0, e.rs.RelapseMonths, 0)):
				ep.Relapse, ep.PreviousEpisodeID = true, last.ID
			}
		}
	}
	if d := e.interval(&ep, s.latestOnOrBefore(date)); d > 0 {
		// The first outpatient control after a hospital stay may come sooner.
		if prev := s.episode(ep.PreviousEpisodeID); prev != nil && prev.Programme == ProgrammeInpatient {
			if first := e.rs.FollowUpDays["inpatient_post_discharge_first"]; first > 0 {
				d = first
			}
		}
		due := date.AddDate(0, 0, d)
		ep.NextDueDate = &due
	}
	s.Episodes = append(s.Episodes, ep)
	e.emit(Event{Type: EventEpisodeOpened, EpisodeID: ep.ID, Detail: ep.Programme + "/" + ep.AdmissionType})
	for i := range s.Alerts {
		al := &s.Alerts[i]
		if al.Active() && al.Episode == nil && answers(ep.Programme, al.Kind) {
			al.Episode = &EpisodeRef{ID: ep.ID}
			e.setStatus(al, StatusAdmitted, "admitted to "+ep.Programme+" episode "+ep.ID, ActorSystem)
		}
	}
	return nil
}

func (e *engine) actorOrSystem() string {
	if e.actor == "" {
		return ActorSystem
	}
	return e.actor
}

// answers reports whether an admission to programme answers an alert kind.
func answers(programme, kind string) bool {
	switch programme {
	case ProgrammeOTP, ProgrammeInpatient:
		return kind == KindNewSevereWasting || kind == KindNutritionalOedema || kind == KindNewModerateWasting || kind == KindInfantAtRisk
	case ProgrammeTSFP:
		return kind == KindNewModerateWasting || kind == KindPLWMalnutrition
	case ProgrammeMAMI:
		return kind == KindInfantAtRisk
	}
	return false
}

// latestOnOrBefore returns the newest assessment dated on or before d.
func (s *State) latestOnOrBefore(d time.Time) *Assessment {
	for i := len(s.Assessments) - 1; i >= 0; i-- {
		if !s.Assessments[i].Date.After(d) {
			return &s.Assessments[i]
		}
	}
	return nil
}

// lastClosedTreatment returns the most recently closed treatment episode
// (not follow-up), or nil.
func (s *State) lastClosedTreatment() *Episode {
	var last *Episode
	for i := range s.Episodes {
		ep := &s.Episodes[i]
		if ep.Open() || ep.Programme == ProgrammeFollowUp {
			continue
		}
		if last == nil || !ep.OutcomeDate.Before(last.OutcomeDate) {
			last = ep
		}
	}
	return last
}

var outcomes = []string{OutcomeCured, OutcomeDied, OutcomeDefaulted, OutcomeNonResponse,
	OutcomeTransferredInternal, OutcomeTransferredExternal, OutcomeMovedUnknown}

// Close closes episode episodeID with outcome (one of the Outcome
// constants) as recorded by actor at now; the outcome date is now's date,
// except for defaulted, whose date is the last attended visit (§7). Active
// alerts of the episode are resolved, except a missed_follow_up alert of a
// defaulted episode, which stays for the sector lead. It returns a
// *records.FieldError: records.ErrInvalid for an unknown outcome or a
// missing reason, records.ErrNotFound for an unknown episode, and Kind
// records.ErrConflict for an episode already closed.
func Close(state State, episodeID, outcome, reason, actor string, now time.Time) (State, []Event, error) {
	if !slices.Contains(outcomes, outcome) {
		return state, nil, &records.FieldError{Field: "outcome", Reason: fmt.Sprintf("must be one of %q", outcomes)}
	}
	if reason == "" {
		return state, nil, &records.FieldError{Field: "reason", Reason: "missing"}
	}
	s := state.clone()
	ep := s.episode(episodeID)
	if ep == nil {
		return state, nil, &records.FieldError{Field: "episode", Reason: "no episode " + episodeID, Kind: records.ErrNotFound}
	}
	if !ep.Open() {
		return state, nil, &records.FieldError{Field: "episode", Reason: "episode " + episodeID + " is already closed (" + ep.Outcome + ")", Kind: records.ErrConflict}
	}
	e := engine{s: &s, rs: nil, now: now, actor: actor}
	date := dateOnly(now)
	if outcome == OutcomeDefaulted {
		date = ep.lastAttended()
	}
	e.close(ep, outcome, date, reason, actor)
	e.finish()
	return s, e.events, nil
}

// Transfer closes episode episodeID as transferred_internal and admits the
// person to programme toProgramme in the same treatment course (§7). Errors
// are those of Close and Admit.
func Transfer(state State, rs *RuleSet, episodeID, toProgramme, reason, actor string, now time.Time) (State, []Event, error) {
	if !slices.Contains(anyProgs, toProgramme) {
		return state, nil, &records.FieldError{Field: "programme", Reason: fmt.Sprintf("must be one of %q", anyProgs)}
	}
	old := state.episode(episodeID)
	if old == nil {
		return state, nil, &records.FieldError{Field: "episode", Reason: "no episode " + episodeID, Kind: records.ErrNotFound}
	}
	course, crit := old.TreatmentCourseID, old.AdmissionCriteria
	s, ev1, err := Close(state, episodeID, OutcomeTransferredInternal, reason, actor, now)
	if err != nil {
		return state, nil, err
	}
	s, ev2, err := Admit(s, rs, Admission{Programme: toProgramme, Criteria: crit, TreatmentCourseID: course, PreviousEpisodeID: episodeID}, now, actor)
	if err != nil {
		return state, nil, err
	}
	return s, append(ev1, ev2...), nil
}

// ReasonFollowUpCompleted starts the outcome reason of a followup episode
// closed after its configured number of visits (§7 "30 days × 3"). Its
// outcome is cured: post-exit monitoring met its only exit criterion.
// Indicators count no followup exits in the programme rates.
const ReasonFollowUpCompleted = "follow-up completed"

// visitDaysAfterAdmission counts the distinct calendar days after the
// admission day with an attended visit.
func (ep *Episode) visitDaysAfterAdmission() int {
	n := 0
	for i, v := range ep.Visits {
		if v.After(ep.AdmissionDate) && (i == 0 || !v.Equal(ep.Visits[i-1])) {
			n++
		}
	}
	return n
}

// lastAttended returns the date of the last attended visit, or the
// admission date if none.
func (ep *Episode) lastAttended() time.Time {
	if n := len(ep.Visits); n > 0 {
		return ep.Visits[n-1]
	}
	return ep.AdmissionDate
}

// close records the outcome of ep and resolves its alerts.
func (e *engine) close(ep *Episode, outcome string, date time.Time, reason, actor string) {
	ep.Status, ep.Outcome, ep.OutcomeDate = EpisodeFinished, outcome, date
	ep.ClosedAt, ep.ClosedBy, ep.OutcomeReason = e.now, actor, reason
	ep.NextDueDate = nil
	e.emit(Event{Type: EventEpisodeClosed, EpisodeID: ep.ID, Detail: outcome})
	for i := range e.s.Alerts {
		al := &e.s.Alerts[i]
		if !al.Active() || al.EpisodeID() != ep.ID || outcome == OutcomeDefaulted && al.Kind == KindMissedFollowUp {
			continue
		}
		e.resolve(al, "episode closed: "+outcome)
	}
}

// evaluateExits applies the exit criteria of §7 to every open episode after
// assessment cur: cured after the configured consecutive visits meeting the
// targets; at the maximum stay, non_response, or an exit_decision_needed
// event when one of WHZ/MUAC meets its target (a clinician may exit cured).
func (e *engine) evaluateExits(cur *Assessment) {
	s := e.s
	for i := range s.Episodes {
		ep := &s.Episodes[i]
		if !ep.Open() || cur.Date.Before(ep.AdmissionDate) {
			continue
		}
		if end, ok := e.lactationEnd(ep); ok && civil(cur.Date) >= civil(end) {
			e.lactationExit(ep, end)
			continue
		}
		if ep.Programme == ProgrammeFollowUp {
			if n := ep.visitDaysAfterAdmission(); n >= e.rs.FollowUpVisits {
				e.close(ep, OutcomeCured, cur.Date, fmt.Sprintf("%s: %d visits", ReasonFollowUpCompleted, n), ActorSystem)
			}
			continue
		}
		crit, maxWeeks, ok := e.exitRules(ep, cur)
		if !ok {
			continue
		}
		// Visits after the admission day, newest last.
		var visits []*Assessment
		for j := range s.Assessments {
			if a := &s.Assessments[j]; a.Date.After(ep.AdmissionDate) && a.Subject == cur.Subject {
				visits = append(visits, a)
			}
		}
		who2013 := e.rs.Exit.RuleSet == ExitWHO2013 && cur.Subject != SubjectPLW && cur.AgeBand == AgeBandChild &&
			slices.Contains(wastingProgs, ep.Programme)
		if who2013 {
			crit = admittingCriteria(crit, ep.AdmissionCriteria)
		}
		k := crit.ConsecutiveVisits
		if len(visits) >= k {
			met := true
			for _, a := range visits[len(visits)-k:] {
				if m, _ := meets(a, crit); !m {
					met = false
					break
				}
			}
			if met && who2013 && crit.OedemaAbsent && !e.oedemaFreeFor(cur, OedemaFreeDays2013) {
				met = false
			}
			if met {
				reason := fmt.Sprintf("exit criteria met on %d consecutive visits", k)
				if who2013 {
					reason += " (who-2013: admitting indicator " + thresholds(crit) + ")"
				}
				e.close(ep, OutcomeCured, cur.Date, reason, ActorSystem)
				continue
			}
		}
		if !cur.Date.Before(ep.AdmissionDate.AddDate(0, 0, 7*maxWeeks)) {
			if _, partial := meets(cur, crit); partial {
				e.emit(Event{Type: EventExitDecisionNeeded, EpisodeID: ep.ID, MeasurementID: cur.MeasurementID,
					Detail: "maximum stay reached with one target met"})
				continue
			}
			e.close(ep, OutcomeNonResponse, cur.Date, fmt.Sprintf("exit criteria not met after %d weeks", maxWeeks), ActorSystem)
		}
	}
}

// exitRules returns the exit criteria and maximum stay for ep; ok is false
// for episodes without automatic exit (follow-up).
func (e *engine) exitRules(ep *Episode, cur *Assessment) (ExitCriteria, int, bool) {
	x := &e.rs.Exit
	switch ep.Programme {
	case ProgrammeOTP, ProgrammeInpatient:
		return x.Severe, x.MaxWeeksSevere, true
	case ProgrammeTSFP:
		if cur.Subject == SubjectPLW {
			return x.PLW, x.MaxWeeksModerate, true
		}
		return x.Moderate, x.MaxWeeksModerate, true
	case ProgrammeMAMI:
		return x.Infant, x.MaxWeeksModerate, true
	}
	return ExitCriteria{}, 0, false
}

// admittingCriteria returns c restricted to the indicators that admitted
// the episode (ExitWHO2013: "recovery judged on the admission indicator").
// An episode admitted on oedema alone, or with no recorded criterion, keeps
// every target of c (WHO-2013: such children are discharged on the
// anthropometric indicator the programme uses).
func admittingCriteria(c ExitCriteria, admitted []string) ExitCriteria {
	var keep []Threshold
	for _, t := range c.AllOf {
		if slices.Contains(admitted, t.Indicator) {
			keep = append(keep, t)
		}
	}
	if len(keep) > 0 {
		c.AllOf = keep
	}
	return c
}

// thresholds joins the targets of c, e.g. "muac_mm >= 125".
func thresholds(c ExitCriteria) string {
	out := ""
	for i, t := range c.AllOf {
		if i > 0 {
			out += ", "
		}
		out += t.String()
	}
	return out
}

// oedemaFreeFor reports whether oedema has been recorded absent on every
// assessment of cur's subject over at least the last days days: the
// trailing run of absent findings (not_assessed breaks it) began at least
// days before cur.
func (e *engine) oedemaFreeFor(cur *Assessment, days int) bool {
	start := int64(-1)
	for i := len(e.s.Assessments) - 1; i >= 0; i-- {
		a := &e.s.Assessments[i]
		if a.Subject != cur.Subject || a.Date.After(cur.Date) {
			continue
		}
		if a.Oedema != OedemaAbsent {
			break
		}
		start = civil(a.Date)
	}
	return start >= 0 && civil(cur.Date)-start >= int64(days)
}

// meets reports whether a meets the exit targets c (each target where
// measured, at least one measured; oedema recorded absent when required),
// and whether it meets at least one measured anthropometric target.
func meets(a *Assessment, c ExitCriteria) (all, some bool) {
	switch {
	case a.Subject == SubjectPLW:
		ok := a.PLW == ClassPLWNotMalnourished
		return ok, ok
	case a.AgeBand == AgeBandInfant && len(c.AllOf) == 0:
		ok := a.Infant == ClassInfantNotAtRisk
		return ok, ok
	}
	measured, passed := 0, 0
	for _, t := range c.AllOf {
		var v *float64
		switch t.Indicator {
		case "whz":
			v = a.Z.WHZ
		case "waz":
			v = a.Z.WAZ
		case "muac_mm":
			if a.MUACmm != nil {
				f := float64(*a.MUACmm)
				v = &f
			}
		}
		if v == nil {
			continue
		}
		measured++
		if t.test(*v) {
			passed++
		}
	}
	if a.NutritionalOedema {
		return false, false
	}
	some = passed > 0
	all = measured > 0 && passed == measured && (!c.OedemaAbsent || a.Oedema == OedemaAbsent)
	if len(c.AllOf) == 0 {
		all = !c.OedemaAbsent || a.Oedema == OedemaAbsent
	}
	return all, some
}
