package nutrition

import (
	"slices"
	"strconv"
	"time"
)

// cond is one alert condition that holds for the newest assessment.
type cond struct {
	kind, severity string
	ep             *Episode
	reasons        []string
}

// alerts raises, updates and resolves alerts for the newest assessment cur.
func (e *engine) alerts(cur, prev *Assessment) {
	conds := e.conditions(cur, prev)
	for _, c := range conds {
		e.upsert(c, cur, prev)
	}
	for i := range e.s.Alerts {
		al := &e.s.Alerts[i]
		if !al.Active() || al.Kind == KindMissedFollowUp || e.holds(al, cur, prev, conds) {
			continue
		}
		e.resolve(al, "condition cleared: "+cur.Classification+" on "+cur.Date.Format(time.DateOnly))
	}
}

// Programme groups.
var (
	severeProgs  = []string{ProgrammeOTP, ProgrammeInpatient}
	wastingProgs = []string{ProgrammeOTP, ProgrammeInpatient, ProgrammeTSFP}
	infantProgs  = []string{ProgrammeMAMI, ProgrammeInpatient}
	anyProgs     = []string{ProgrammeOTP, ProgrammeInpatient, ProgrammeTSFP, ProgrammeMAMI, ProgrammeFollowUp}
)

// conditions returns the alert conditions of §8 that hold for cur.
func (e *engine) conditions(cur, prev *Assessment) []cond {
	s := e.s
	var out []cond
	under5 := cur.AgeBand == AgeBandChild || cur.AgeBand == AgeBandInfant
	switch {
	case cur.AgeBand == AgeBandChild && cur.AnthroWasting == ClassSevereWasting:
		if s.openEpisode(severeProgs...) == nil {
			out = append(out, cond{kind: KindNewSevereWasting, severity: SeverityHigh, reasons: without(cur.Criteria, "oedema")})
		}
	case cur.AgeBand == AgeBandChild && cur.AnthroWasting == ClassModerateWasting && !cur.NutritionalOedema:
		if s.openEpisode(wastingProgs...) == nil {
			out = append(out, cond{kind: KindNewModerateWasting, severity: SeverityMedium, reasons: without(cur.Criteria, "oedema")})
		}
	}
	if under5 && cur.NutritionalOedema {
		sev := SeverityHigh
		if cur.Oedema == OedemaPlusPlusPlus {
			sev = SeverityCritical // grade +++: inpatient referral (WHO-2013)
		}
		otp := s.openEpisode(ProgrammeOTP)
		if s.openEpisode(ProgrammeInpatient) == nil && (otp == nil || sev == SeverityCritical) {
			out = append(out, cond{kind: KindNutritionalOedema, severity: sev, ep: otp, reasons: []string{"oedema " + cur.Oedema}})
		}
	}
	if cur.AgeBand == AgeBandInfant && cur.Classification == ClassInfantAtRisk {
		// Oedema alone is the nutritional_oedema alert for infants (§8).
		if r := without(cur.Criteria, "oedema"); len(r) > 0 && s.openEpisode(infantProgs...) == nil {
			sev := SeverityMedium
			if cur.Infant == ClassInfantHighRisk {
				sev = SeverityHigh
			}
			out = append(out, cond{kind: KindInfantAtRisk, severity: sev, reasons: r})
		}
	}
	if cur.Subject == SubjectPLW && cur.PLW == ClassPLWMalnourished && s.openEpisode(anyProgs...) == nil {
		out = append(out, cond{kind: KindPLWMalnutrition, severity: SeverityMedium, reasons: []string{"muac_mm"}})
	}
	if ep := s.openEpisode(anyProgs...); ep != nil && prev != nil {
		if r := e.deterioration(cur, prev); len(r) > 0 {
			out = append(out, cond{kind: KindDeterioration, severity: SeverityHigh, ep: ep, reasons: r})
		}
	}
	if cur.ExtraBand != "" && s.openEpisode(wastingProgs...) == nil {
		if sev, ok := e.rs.Alerts.ExtraBandAlerts[cur.ExtraBand]; ok {
			out = append(out, cond{kind: cur.ExtraBand, severity: sev, reasons: []string{cur.ExtraBand}})
		}
	}
	if cur.Implausible {
		var r []string
		for _, f := range cur.Flags {
			if Implausible(f) {
				r = append(r, f)
			}
		}
		out = append(out, cond{kind: KindImplausible, severity: SeverityLow, reasons: r})
	}
	return out
}

// deterioration returns why cur is worse than prev (§8), or nil: the class
// worsened, MUAC fell by the configured amount, or weight fell on two
// consecutive visits.
func (e *engine) deterioration(cur, prev *Assessment) []string {
	var r []string
	if classRank(cur) > classRank(prev) && classRank(prev) > 0 {
		r = append(r, "class "+prev.Classification+" -> "+cur.Classification)
	}
	if cur.MUACmm != nil && prev.MUACmm != nil && *prev.MUACmm-*cur.MUACmm >= e.rs.Alerts.DeteriorationMUACDropMM {
		r = append(r, "muac_mm fell by "+strconv.Itoa(*prev.MUACmm-*cur.MUACmm))
	}
	if pp := previous(e.s, prev); pp != nil && cur.WeightKg != nil && prev.WeightKg != nil && pp.WeightKg != nil &&
		*cur.WeightKg < *prev.WeightKg && *prev.WeightKg < *pp.WeightKg {
		r = append(r, "weight loss on 2 consecutive visits")
	}
	return r
}

// classRank orders classes by severity; 0 means unknown or not applicable.
func classRank(a *Assessment) int {
	switch a.Classification {
	case ClassNotWasted, ClassInfantNotAtRisk, ClassPLWNotMalnourished:
		return 1
	case ClassModerateWasting, ClassPLWMalnourished:
		return 2
	case ClassInfantAtRisk:
		if a.Infant == ClassInfantHighRisk {
			return 3
		}
		return 2
	case ClassSevereWasting:
		return 3
	case ClassNutritionalOedema:
		return 4
	}
	return 0
}

// holds reports whether the condition of active alert al still holds for
// the newest assessment cur (auto-resolution, §8).
func (e *engine) holds(al *Alert, cur, prev *Assessment, conds []cond) bool {
	for _, c := range conds {
		if c.kind == al.Kind && c.epID() == al.EpisodeID() {
			return true
		}
	}
	switch al.Kind {
	case KindNewSevereWasting:
		return cur.AnthroWasting == ClassSevereWasting
	case KindNewModerateWasting:
		return cur.AnthroWasting == ClassModerateWasting
	case KindNutritionalOedema:
		return cur.NutritionalOedema
	case KindInfantAtRisk:
		return cur.AgeBand == AgeBandInfant && cur.Classification == ClassInfantAtRisk
	case KindPLWMalnutrition:
		return cur.PLW == ClassPLWMalnourished
	case KindDeterioration:
		// Holds until the class is back to where it was before.
		base := Assessment{Classification: al.Trigger.PreviousClassification}
		return classRank(cur) > classRank(&base)
	case KindImplausible:
		return cur.Implausible
	}
	return cur.ExtraBand == al.Kind // national extra band
}

func (c *cond) epID() string {
	if c.ep == nil {
		return ""
	}
	return c.ep.ID
}

// upsert raises the alert of c or updates the active one.
func (e *engine) upsert(c cond, cur, prev *Assessment) {
	s := e.s
	for i := range s.Alerts {
		al := &s.Alerts[i]
		if al.Active() && al.Kind == c.kind && al.EpisodeID() == c.epID() {
			e.fill(al, c, cur, prev)
			e.emit(Event{Type: EventAlertUpdated, AlertID: al.ID, AlertKind: al.Kind, Severity: al.Severity, EpisodeID: c.epID(), MeasurementID: cur.MeasurementID})
			return
		}
	}
	al := Alert{
		ID:        s.newAlertID(c.kind, c.epID(), cur.MeasurementID),
		Kind:      c.kind,
		Status:    StatusOpen,
		CreatedAt: e.now,
		PersonRef: s.PersonRef,
		Country:   s.Country,
		History:   []Change{{At: e.now, Actor: ActorSystem, To: StatusOpen, Reason: "raised by measurement " + cur.MeasurementID, Via: e.actor}},
	}
	e.fill(&al, c, cur, prev)
	s.Alerts = append(s.Alerts, al)
	e.emit(Event{Type: EventAlertOpened, AlertID: al.ID, AlertKind: al.Kind, Severity: al.Severity, EpisodeID: c.epID(), MeasurementID: cur.MeasurementID})
}

// fill sets the alert payload from the newest assessment.
func (e *engine) fill(al *Alert, c cond, cur, prev *Assessment) {
	al.Severity = c.severity
	al.UpdatedAt = e.now
	al.AdminArea, al.SiteID, al.PopulationGroup = cur.AdminArea, cur.Site, cur.PopulationGroup
	al.Sex, al.AgeBand = cur.Sex, cur.AgeBand
	al.AgeMonths = round1(cur.AgeMonths)
	ids := al.Trigger.MeasurementIDs
	if !slices.Contains(ids, cur.MeasurementID) {
		ids = append(slices.Clip(ids), cur.MeasurementID)
	}
	t := Trigger{
		MeasurementIDs: ids,
		Date:           cur.Date,
		MUACmm:         cur.MUACmm,
		WHZ:            cur.Z.WHZ,
		WAZ:            cur.Z.WAZ,
		Classification: cur.Classification,
		Reasons:        c.reasons,
	}
	if cur.Oedema != "" {
		t.OedemaGrade = cur.Oedema
	}
	if prev != nil {
		t.PreviousClassification = prev.Classification
	}
	if c.kind == KindDeterioration && al.Trigger.PreviousClassification != "" && al.Active() && len(al.History) > 0 {
		// keep the baseline the deterioration is measured from
		if classRank(&Assessment{Classification: al.Trigger.PreviousClassification}) < classRank(&Assessment{Classification: t.PreviousClassification}) {
			t.PreviousClassification = al.Trigger.PreviousClassification
		}
	}
	al.Trigger = t
	al.Rule = cur.Rule
	switch {
	case c.kind == cur.ExtraBand:
		al.Rule.RuleID = "child.extra_bands"
	case al.Rule.RuleID == "" || c.kind == KindDeterioration || c.kind == KindImplausible:
		al.Rule.RuleID = "alerts." + c.kind
	}
	if c.ep != nil {
		al.Episode = &EpisodeRef{ID: c.ep.ID}
	}
}

// resolve marks al resolved by the engine.
func (e *engine) resolve(al *Alert, reason string) {
	e.setStatus(al, StatusResolved, reason, ActorSystem)
}

func (e *engine) setStatus(al *Alert, status, reason, actor string) {
	via := e.actor
	if actor != ActorSystem {
		via = ""
	}
	al.History = append(slices.Clip(al.History), Change{At: e.now, Actor: actor, From: al.Status, To: status, Reason: reason, Via: via})
	al.Status = status
	al.UpdatedAt = e.now
	typ := EventAlertStatus
	if status == StatusResolved {
		typ = EventAlertResolved
	}
	e.emit(Event{Type: typ, AlertID: al.ID, AlertKind: al.Kind, Severity: al.Severity, EpisodeID: al.EpisodeID(), Detail: status})
}
