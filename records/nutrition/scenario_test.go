package nutrition

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// A boy is healthy, then moderately wasted, then severely wasted; he is
// admitted to OTP, recovers on two visits and is discharged cured.
func TestStoryChildRecoversInOTP(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p1")

	a := st.measure(boy("m1", "2025-01-10", 140))
	if a.Classification != ClassNotWasted || a.AgeBand != AgeBandChild {
		t.Fatalf("2025-01-10: %s/%s, want not_wasted child", a.Classification, a.AgeBand)
	}
	st.wantActive()

	a = st.measure(boy("m2", "2025-02-10", 120))
	if a.Classification != ClassModerateWasting || !slices.Equal(a.Criteria, []string{"muac_mm"}) {
		t.Fatalf("2025-02-10: %s by %v, want moderate_wasting by muac_mm", a.Classification, a.Criteria)
	}
	st.wantActive(KindNewModerateWasting)
	mod := st.active(KindNewModerateWasting)[0]
	if mod.Severity != SeverityMedium || mod.Trigger.PreviousClassification != ClassNotWasted || *mod.Trigger.MUACmm != 120 {
		t.Errorf("moderate alert = %+v", mod)
	}
	if mod.PersonRef != "p1" || mod.AgeBand != AgeBandChild || mod.AgeMonths != 13.0 || mod.Rule.RuleSet != "who-2023" || mod.Rule.RuleID != "child.wasting" {
		t.Errorf("moderate alert payload = %+v", mod)
	}

	a = st.measure(boy("m3", "2025-03-10", 112))
	if a.Classification != ClassSevereWasting {
		t.Fatalf("2025-03-10: %s, want severe_wasting", a.Classification)
	}
	st.wantActive(KindNewSevereWasting)
	sev := st.active(KindNewSevereWasting)[0]
	if sev.Severity != SeverityHigh || sev.Trigger.PreviousClassification != ClassModerateWasting {
		t.Errorf("severe alert = %+v", sev)
	}
	if !st.hasEvent(EventAlertResolved, KindNewModerateWasting) {
		t.Errorf("moderate alert not resolved: events %+v", st.events)
	}

	ep := st.admit(ProgrammeOTP, day("2025-03-10"))
	if ep.AdmissionType != AdmissionNew || !slices.Equal(ep.AdmissionCriteria, []string{"muac_mm"}) || ep.NextDueDate.Format("2006-01-02") != "2025-03-17" {
		t.Errorf("episode = %+v", ep)
	}
	sev = st.active(KindNewSevereWasting)[0]
	if sev.Status != StatusAdmitted || sev.EpisodeID() != ep.ID || sev.History[len(sev.History)-1].Via != "nurse-1" {
		t.Errorf("severe alert after admission = %+v", sev)
	}

	st.measure(boy("m4", "2025-03-17", 118)) // better, not yet recovered
	st.wantActive()                          // severe alert resolved: no longer severe; no new_moderate inside OTP
	st.measure(boy("m5", "2025-03-24", 126))
	if st.s.Episodes[0].Outcome != "" {
		t.Fatalf("cured after one visit: %+v", st.s.Episodes[0])
	}
	st.measure(boy("m6", "2025-03-31", 128))
	ep = &st.s.Episodes[0]
	if ep.Outcome != OutcomeCured || ep.OutcomeDate != day("2025-03-31") || ep.ClosedBy != ActorSystem || len(ep.Visits) != 3 {
		t.Errorf("episode at exit = %+v", ep)
	}
	if !st.hasEvent(EventEpisodeClosed, "") {
		t.Errorf("no episode_closed event: %+v", st.events)
	}
	if st.s.Status.Classification != ClassNotWasted || st.s.Status.OpenEpisodeID != "" || st.s.Status.OpenAlerts != 0 {
		t.Errorf("status = %+v", st.s.Status)
	}
	// The alert kept its whole history: open -> admitted -> resolved.
	var hist []string
	for _, c := range st.s.Alert(sev.ID).History {
		hist = append(hist, c.To)
	}
	if !slices.Equal(hist, []string{StatusOpen, StatusAdmitted, StatusResolved}) {
		t.Errorf("severe alert history = %v", hist)
	}
}

// Exit needs oedema recorded absent: not_assessed does not count.
func TestExitNeedsOedemaAbsent(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p1b")
	st.measure(boy("m1", "2025-03-10", 110))
	st.admit(ProgrammeOTP, day("2025-03-10"))
	m := boy("m2", "2025-03-17", 130)
	m.Oedema = OedemaNotAssessed
	st.measure(m)
	m = boy("m3", "2025-03-24", 131)
	m.Oedema = OedemaNotAssessed
	a := st.measure(m)
	if !slices.Contains(a.Flags, FlagOedemaNotAssess) || a.OedemaAssessed {
		t.Errorf("flags = %v, oedema assessed %v", a.Flags, a.OedemaAssessed)
	}
	if !st.s.Episodes[0].Open() {
		t.Fatalf("cured without an oedema-absent finding: %+v", st.s.Episodes[0])
	}
	st.measure(boy("m4", "2025-03-31", 131))
	if !st.s.Episodes[0].Open() {
		t.Fatalf("cured after one absent finding: %+v", st.s.Episodes[0])
	}
	st.measure(boy("m5", "2025-04-07", 131))
	if st.s.Episodes[0].Outcome != OutcomeCured {
		t.Fatalf("not cured after two absent findings: %+v", st.s.Episodes[0])
	}
}

func TestStoryInfantAtRisk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		weight   float64
		severity string
		infant   string
	}{
		{3.6, SeverityMedium, ClassInfantAtRisk}, // WAZ -2.59, WLZ < -2
		{3.2, SeverityHigh, ClassInfantHighRisk}, // WAZ -3.42
		{4.0, "", ClassInfantNotAtRisk},          // WAZ -1.81
	}
	for _, tt := range tests {
		st := newStory(t, DefaultRuleSet(), "p2")
		a := st.measure(Measurement{ID: "m1", Date: day("2025-03-01"), Sex: SexFemale, BirthDate: day("2025-01-01"),
			WeightKg: F(tt.weight), LengthCm: F(55), Position: PositionLying, Oedema: OedemaAbsent})
		if a.AgeBand != AgeBandInfant || a.Infant != tt.infant {
			t.Errorf("%v kg: %s/%s, want infant %s", tt.weight, a.AgeBand, a.Infant, tt.infant)
		}
		if tt.severity == "" {
			st.wantActive()
			continue
		}
		st.wantActive(KindInfantAtRisk)
		if al := st.active(KindInfantAtRisk)[0]; al.Severity != tt.severity || al.Rule.RuleID != "infant_u6m" {
			t.Errorf("%v kg: alert %+v, want severity %s", tt.weight, al, tt.severity)
		}
		// MAMI admission answers the alert; no new infant alert while enrolled.
		ep := st.admit(ProgrammeMAMI, day("2025-03-01"))
		if st.active(KindInfantAtRisk)[0].Status != StatusAdmitted || ep.NextDueDate.Format("2006-01-02") != "2025-03-15" {
			t.Errorf("after MAMI admission: %+v, %+v", st.active(KindInfantAtRisk)[0], ep)
		}
	}
}

// An infant with oedema only raises nutritional_oedema, not infant_at_risk.
func TestInfantOedemaOnly(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p2b")
	st.measure(Measurement{ID: "m1", Date: day("2025-03-01"), Sex: SexFemale, BirthDate: day("2025-01-01"),
		LengthCm: F(55), Oedema: OedemaPlus})
	st.wantActive(KindNutritionalOedema)
}

// A woman with MUAC 220 mm is malnourished by the default (< 230 mm) but not
// by a country rule of < 210 mm.
func TestStoryPLWThresholdByCountry(t *testing.T) {
	t.Parallel()
	plw := func(muac int) Measurement {
		return Measurement{ID: "m1", Date: day("2025-05-02"), Subject: SubjectPLW, Sex: SexFemale,
			BirthDate: day("1999-04-01"), MUACmm: MM(muac), PLWStatus: StatusLactating, DeliveryDate: day("2025-02-01")}
	}
	st := newStory(t, DefaultRuleSet(), "w1")
	a := st.measure(plw(220))
	if a.Classification != ClassPLWMalnourished || a.AgeBand != AgeBandPLW || a.Rule.RuleID != "plw.muac" {
		t.Errorf("default: %s (%+v)", a.Classification, a.Rule)
	}
	st.wantActive(KindPLWMalnutrition)
	ep := st.admit(ProgrammeTSFP, day("2025-05-02"))
	if ep.NextDueDate.Format("2006-01-02") != "2025-05-16" || st.active(KindPLWMalnutrition)[0].Status != StatusAdmitted {
		t.Errorf("TSFP admission: %+v", ep)
	}

	co := newStory(t, loadCO(t), "w2")
	a = co.measure(plw(220))
	if a.Classification != ClassPLWNotMalnourished || a.Rule.RuleSet != "who-2023-co" || a.Rule.Country != "CO" {
		t.Errorf("CO: %s (%+v)", a.Classification, a.Rule)
	}
	co.wantActive()
	m := plw(205)
	m.ID, m.Date = "m2", day("2025-05-20")
	if a = co.measure(m); a.Classification != ClassPLWMalnourished {
		t.Errorf("CO 205 mm: %s", a.Classification)
	}
	co.wantActive(KindPLWMalnutrition)
}

func TestStoryOedemaGrade3Critical(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p3")
	m := boy("m1", "2025-04-01", 130)
	m.Oedema = OedemaPlusPlusPlus
	a := st.measure(m)
	if a.Classification != ClassNutritionalOedema || !a.NutritionalOedema || a.Z.WHZ != nil || a.Z.WAZ != nil {
		t.Errorf("oedema +++: %s, whz %v, waz %v (no weight-based z with oedema)", a.Classification, a.Z.WHZ, a.Z.WAZ)
	}
	st.wantActive(KindNutritionalOedema)
	al := st.active(KindNutritionalOedema)[0]
	if al.Severity != SeverityCritical || al.Trigger.OedemaGrade != "+++" {
		t.Errorf("alert = %+v", al)
	}
	// A newer measurement updates the same alert; grade + is high.
	m = boy("m2", "2025-04-02", 130)
	m.Oedema = OedemaPlus
	st.measure(m)
	if got := st.active(KindNutritionalOedema); len(got) != 1 || got[0].ID != al.ID || got[0].Severity != SeverityHigh ||
		!slices.Equal(got[0].Trigger.MeasurementIDs, []string{"m1", "m2"}) {
		t.Errorf("after grade +: %+v", got)
	}
	if !st.hasEvent(EventAlertUpdated, KindNutritionalOedema) {
		t.Errorf("no update event: %+v", st.events)
	}
}

// A child misses a visit, then a second one: the episode closes as
// defaulted at the last attended visit. When she comes back the missed alert
// resolves and a new admission is return_after_default.
func TestStoryMissedVisitThenDefault(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p4")
	st.measure(boy("m1", "2025-03-10", 110))
	ep := st.admit(ProgrammeOTP, day("2025-03-10"))
	st.measure(boy("m2", "2025-03-17", 112)) // visit; next due 03-24

	st.check(day("2025-03-27")) // due 03-24 + 3 days grace: not yet
	if len(st.events) != 0 {
		t.Fatalf("missed too early: %+v", st.events)
	}
	st.check(day("2025-03-28"))
	if got := st.active(KindMissedFollowUp); len(got) != 1 || got[0].Severity != SeverityMedium || got[0].Episode.MissedCount != 1 {
		t.Fatalf("after first miss: %+v", got)
	}
	before := st.s
	st.check(day("2025-03-28")) // a second replica runs the same check
	if len(st.events) != 0 || len(st.s.Alerts) != len(before.Alerts) {
		t.Fatalf("check not idempotent: %+v", st.events)
	}
	st.check(day("2025-04-04")) // second due 03-31 + 3
	got := &st.s.Episodes[0]
	if got.Outcome != OutcomeDefaulted || got.OutcomeDate != day("2025-03-17") || got.MissedCount != 2 {
		t.Fatalf("after second miss: %+v", got)
	}
	missed := st.active(KindMissedFollowUp)
	if len(missed) != 1 || missed[0].Severity != SeverityHigh || missed[0].Episode.Status != EpisodeFinished {
		t.Fatalf("missed alert after default: %+v", missed)
	}

	st.measure(boy("m3", "2025-05-02", 111))
	if st.s.Alert(missed[0].ID).Status != StatusResolved {
		t.Errorf("missed alert not resolved on return: %+v", st.s.Alert(missed[0].ID))
	}
	st.wantActive(KindNewSevereWasting)
	again := st.admit(ProgrammeOTP, day("2025-05-02"))
	if again.AdmissionType != AdmissionReturnAfterDefault || again.PreviousEpisodeID != ep.ID || st.s.Episodes[0].Outcome != OutcomeDefaulted {
		t.Errorf("return: %+v", again)
	}
}

func TestStoryMissedVisitThenAttended(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p5")
	st.measure(boy("m1", "2025-03-10", 110))
	st.admit(ProgrammeOTP, day("2025-03-10"))
	st.check(day("2025-03-21")) // due 03-17 missed
	al := st.active(KindMissedFollowUp)
	if len(al) != 1 {
		t.Fatalf("no missed alert")
	}
	st.measure(boy("m2", "2025-03-22", 112))
	if got := st.s.Alert(al[0].ID); got.Status != StatusResolved || !strings.Contains(got.History[len(got.History)-1].Reason, "visit attended") {
		t.Errorf("missed alert = %+v", got)
	}
	if ep := st.s.Episodes[0]; ep.MissedCount != 0 || ep.NextDueDate.Format("2006-01-02") != "2025-03-29" || !ep.Open() {
		t.Errorf("episode = %+v", ep)
	}
}

func TestStoryImplausibleMUAC(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p6")
	st.measure(boy("m1", "2025-01-10", 140))
	a := st.measure(boy("m2", "2025-01-17", 100)) // 40 mm in 7 days
	if !a.Implausible || !slices.Contains(a.Flags, FlagMUACChange) {
		t.Fatalf("flags = %v", a.Flags)
	}
	st.wantActive(KindImplausible, KindNewSevereWasting)
	if al := st.active(KindImplausible)[0]; al.Severity != SeverityLow || !slices.Equal(al.Trigger.Reasons, []string{FlagMUACChange}) {
		t.Errorf("alert = %+v", al)
	}
	// The next plausible measurement clears it.
	st.measure(boy("m3", "2025-02-07", 139)) // 21 days later: beyond the 14-day window
	st.wantActive()
}

// A severe MUAC is corrected: re-assessment resolves the alert and keeps
// the person's acknowledgement in its history. Deleting the measurement
// does the same.
func TestStoryCorrectionClearsAlert(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	st := newStory(t, rs, "p7")
	st.measure(boy("m1", "2025-01-10", 140))
	st.measure(boy("m2", "2025-02-10", 110))
	al := st.active(KindNewSevereWasting)[0]
	s, _, err := SetAlertStatus(st.s, al.ID, StatusAcknowledged, "calling the family", "lead-1", at(day("2025-02-11")))
	if err != nil {
		t.Fatal(err)
	}
	saved := s

	corrected := slices.Clone(st.ms)
	corrected[1].MUACmm = MM(130) // typo: 110 for 130
	got, ev := Reassess(corrected, saved, rs, at(day("2025-02-12")), "hw-2")
	if a := got.Assessments[1]; a.Classification != ClassNotWasted || a.InputHash == saved.Assessments[1].InputHash {
		t.Errorf("corrected assessment = %+v", a)
	}
	if got.Assessments[0].InputHash != saved.Assessments[0].InputHash {
		t.Errorf("unchanged assessment rewritten")
	}
	res := got.Alert(al.ID)
	if res == nil || res.Status != StatusResolved {
		t.Fatalf("alert after correction = %+v", res)
	}
	var hist []string
	for _, c := range res.History {
		hist = append(hist, c.Actor+":"+c.To)
	}
	if !slices.Equal(hist, []string{"system:open", "lead-1:acknowledged", "system:resolved"}) {
		t.Errorf("history = %v", hist)
	}
	if !slices.ContainsFunc(ev, func(e Event) bool { return e.Type == EventAlertResolved && e.AlertID == al.ID }) {
		t.Errorf("events = %+v", ev)
	}

	deleted, _ := Reassess(st.ms[:1], saved, rs, at(day("2025-02-12")), "hw-2")
	if len(deleted.Assessments) != 1 || deleted.Alert(al.ID).Status != StatusResolved || deleted.Status.Classification != ClassNotWasted {
		t.Errorf("after deletion: %+v", deleted.Status)
	}
}

// Reassess of unchanged measurements changes nothing and is deterministic.
func TestReassessUnchanged(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	st := newStory(t, rs, "p8")
	st.measure(boy("m1", "2025-03-10", 110))
	st.admit(ProgrammeOTP, day("2025-03-10"))
	st.measure(boy("m2", "2025-03-17", 113))
	st.check(day("2025-03-28"))
	st.measure(boy("m3", "2025-04-02", 118))

	got, ev := Reassess(st.ms, st.s, rs, at(day("2025-04-02")), "hw-1")
	if len(ev) != 0 {
		t.Errorf("events = %+v", ev)
	}
	if diffState(t, st.s, got) {
		t.Error("Reassess changed an unchanged history")
	}
	// A new rule set does not rewrite stored assessments.
	co := loadCO(t)
	again, _ := Reassess(st.ms, st.s, co, at(day("2025-04-02")), "hw-1")
	for _, a := range again.Assessments {
		if a.Rule.RuleSet != "who-2023" {
			t.Errorf("assessment %s rewritten with %s", a.MeasurementID, a.Rule.RuleSet)
		}
	}
}

// A measurement uploaded late (dated before the newest) replays history.
func TestBackdatedMeasurement(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	st := newStory(t, rs, "p9")
	st.measure(boy("m1", "2025-01-10", 140))
	st.measure(boy("m3", "2025-03-10", 135))
	a := Assess(boy("m2", "2025-02-10", 110), &st.s, rs)
	s, _ := Apply(st.s, a, rs, at(day("2025-03-11")), "hw-1")
	if ids := []string{s.Assessments[0].MeasurementID, s.Assessments[1].MeasurementID, s.Assessments[2].MeasurementID}; !slices.Equal(ids, []string{"m1", "m2", "m3"}) {
		t.Errorf("order = %v", ids)
	}
	// The severe finding of February was cleared by March: raised and resolved.
	var kinds []string
	for _, al := range s.Alerts {
		kinds = append(kinds, al.Kind+":"+al.Status)
	}
	if !slices.Equal(kinds, []string{KindNewSevereWasting + ":" + StatusResolved}) {
		t.Errorf("alerts = %v", kinds)
	}
	if s.Status.MeasurementID != "m3" {
		t.Errorf("status = %+v", s.Status)
	}
}

func TestDeteriorationInEpisode(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p10")
	st.measure(boy("m1", "2025-03-10", 120))
	st.admit(ProgrammeTSFP, day("2025-03-10"))
	st.wantActive(KindNewModerateWasting) // status admitted, still moderate
	st.measure(boy("m2", "2025-03-24", 113))
	// Worse inside TSFP: deterioration, and new_severe_wasting because the
	// open episode is not a severe one; the moderate alert is superseded.
	st.wantActive(KindNewSevereWasting, KindDeterioration)
	al := st.active(KindDeterioration)[0]
	if al.Severity != SeverityHigh || al.EpisodeID() != st.s.Episodes[0].ID ||
		!slices.Equal(al.Trigger.Reasons, []string{"class moderate_wasting -> severe_wasting", "muac_mm fell by 7"}) {
		t.Errorf("deterioration = %+v", al)
	}
	st.measure(boy("m3", "2025-04-07", 121)) // back to moderate: the deterioration clears
	st.wantActive()
}

func TestRelapseAndNonResponse(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p11")
	st.measure(boy("m1", "2025-01-06", 110))
	st.admit(ProgrammeOTP, day("2025-01-06"))
	st.measure(boy("m2", "2025-01-13", 126))
	st.measure(boy("m3", "2025-01-20", 127))
	if st.s.Episodes[0].Outcome != OutcomeCured {
		t.Fatalf("not cured: %+v", st.s.Episodes[0])
	}
	st.measure(boy("m4", "2025-05-05", 112))
	ep := st.admit(ProgrammeOTP, day("2025-05-05"))
	if !ep.Relapse || ep.PreviousEpisodeID != st.s.Episodes[0].ID || ep.AdmissionType != AdmissionNew {
		t.Errorf("relapse episode = %+v", ep)
	}
	// Weekly visits for 16 weeks with WHZ fine but MUAC severe: a clinician
	// decides (only one target met).
	d := day("2025-05-05")
	for i := 1; i <= 16; i++ {
		d = d.AddDate(0, 0, 7)
		st.measure(boy(fmt.Sprintf("v%02d", i), d.Format(time.DateOnly), 113))
	}
	if !st.s.Episodes[1].Open() || !st.hasEvent(EventExitDecisionNeeded, "") {
		t.Errorf("after 16 weeks with WHZ met: %+v, events %+v", st.s.Episodes[1], st.events)
	}
	// Neither target met at the maximum stay: non_response.
	nr := newStory(t, DefaultRuleSet(), "p11b")
	thin := func(id string, d time.Time) Measurement {
		m := boy(id, d.Format(time.DateOnly), 113)
		m.WeightKg = F(8.0) // WHZ -2.4
		return m
	}
	d = day("2025-05-05")
	nr.measure(thin("w00", d))
	nr.admit(ProgrammeOTP, d)
	for i := 1; i <= 16; i++ {
		d = d.AddDate(0, 0, 7)
		nr.measure(thin(fmt.Sprintf("w%02d", i), d))
	}
	if got := nr.s.Episodes[0]; got.Outcome != OutcomeNonResponse || got.OutcomeDate != d {
		t.Errorf("after 16 weeks: %+v", got)
	}
}

func TestTransfer(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "p12")
	st.measure(boy("m1", "2025-03-10", 110))
	ep := st.admit(ProgrammeOTP, day("2025-03-10"))
	s, ev, err := Transfer(st.s, st.rs, ep.ID, ProgrammeInpatient, "complications", "nurse-1", at(day("2025-03-12")))
	if err != nil {
		t.Fatal(err)
	}
	old, nw := s.Episodes[0], s.Episodes[1]
	if old.Outcome != OutcomeTransferredInternal || nw.AdmissionType != AdmissionTransferIn ||
		nw.TreatmentCourseID != old.TreatmentCourseID || nw.PreviousEpisodeID != old.ID || nw.NextDueDate != nil {
		t.Errorf("transfer: %+v -> %+v", old, nw)
	}
	if len(ev) < 2 {
		t.Errorf("events = %+v", ev)
	}
	if _, _, err := Admit(s, st.rs, Admission{Programme: ProgrammeOTP}, at(day("2025-03-12")), "nurse-1"); err == nil {
		t.Error("second open treatment episode accepted")
	}
}

// diffState reports (and logs) differences between two states.
func diffState(t *testing.T, want, got State) bool {
	t.Helper()
	if d := cmpDiff(want, got); d != "" {
		t.Logf("(-want +got):\n%s", d)
		return true
	}
	return false
}

func cmpDiff(want, got any) string { return cmp.Diff(want, got, cmpopts.EquateEmpty()) }

// Colombia's national band raises the alert its config maps it to; the
// default rule set has no such band.
func TestExtraBandAlert(t *testing.T) {
	t.Parallel()
	m := boy("m1", "2025-03-10", 140)
	m.WeightKg = F(8.5) // WHZ -1.63
	co := newStory(t, loadCO(t), "p13")
	a := co.measure(m)
	if a.ExtraBand != "co_risk_acute_malnutrition" || a.Classification != ClassNotWasted {
		t.Errorf("CO: band %q, class %s", a.ExtraBand, a.Classification)
	}
	co.wantActive("co_risk_acute_malnutrition")
	if al := co.active("co_risk_acute_malnutrition")[0]; al.Severity != SeverityLow || al.Rule.Country != "CO" {
		t.Errorf("alert = %+v", al)
	}
	def := newStory(t, DefaultRuleSet(), "p14")
	if a := def.measure(m); a.ExtraBand != "" {
		t.Errorf("default: band %q", a.ExtraBand)
	}
	def.wantActive()
}

// A visit uploaded late still counts as attended: no miss before it.
func TestLateUpload(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	st := newStory(t, rs, "p15")
	st.measure(boy("m1", "2025-03-10", 110))
	st.admit(ProgrammeOTP, day("2025-03-10"))
	m := boy("m2", "2025-03-17", 112)
	s, _ := Apply(st.s, Assess(m, &st.s, rs), rs, at(day("2025-03-22")), "hw-1")
	if ep := s.Episodes[0]; !ep.Open() || ep.MissedCount != 0 || len(s.Alerts) != 1 {
		t.Errorf("after a late upload: %+v, alerts %d", ep, len(s.Alerts))
	}
}

// The first control after inpatient care uses its own interval (CO-2350).
func TestPostDischargeInterval(t *testing.T) {
	t.Parallel()
	st := newStory(t, loadCO(t), "p16")
	st.measure(boy("m1", "2025-03-10", 110))
	ep := st.admit(ProgrammeInpatient, day("2025-03-10"))
	s, _, err := Transfer(st.s, st.rs, ep.ID, ProgrammeOTP, "stabilised", "nurse-1", at(day("2025-03-15")))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Episodes[1].NextDueDate.Format(time.DateOnly); got != "2025-03-20" {
		t.Errorf("first OTP visit due %s, want 2025-03-20", got)
	}
}
