package nutrition

import (
	"strings"
	"testing"
)

// woman returns a lactating woman's MUAC measurement; she delivered on
// 2025-02-01, so with the default 6 months her lactation window ends on
// 2025-08-01.
func woman(id, date string, muac int) Measurement {
	return Measurement{ID: id, Date: day(date), Subject: SubjectPLW, Sex: SexFemale, BirthDate: day("1999-04-01"),
		MUACmm: MM(muac), PLWStatus: StatusLactating, DeliveryDate: day("2025-02-01"), Site: "mu-7", AdminArea: "CO-NSA"}
}

// A malnourished lactating woman in TSFP who never reaches the exit MUAC is
// exited by the scheduler on the day her lactation window ends: outcome
// cured (the window is an exit criterion of §7), reason "end of lactation
// window", dated at the window's end; her alerts resolve.
func TestStoryPLWExitAtEndOfLactationWindow(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	st := newStory(t, rs, "w10")
	st.measure(woman("m1", "2025-05-02", 220))
	ep := st.admit(ProgrammeTSFP, day("2025-05-02"))
	for i, d := range []string{"2025-05-16", "2025-05-30", "2025-06-13", "2025-06-27", "2025-07-11"} {
		st.measure(woman("m"+string(rune('2'+i)), d, 222))
	}
	st.check(day("2025-07-29")) // visit due 07-25 + 3 days grace: missed
	if ep = st.s.episode(ep.ID); !ep.Open() || ep.MissedCount != 1 {
		t.Fatalf("2025-07-29: episode %+v, want open with one miss", ep)
	}
	st.check(day("2025-07-31"))
	if ep = st.s.episode(ep.ID); !ep.Open() {
		t.Fatalf("2025-07-31: closed before the window ended: %+v", ep)
	}
	st.check(day("2025-08-01"))
	ep = st.s.episode(ep.ID)
	if ep.Open() || ep.Outcome != OutcomeCured || ep.OutcomeDate != day("2025-08-01") || ep.ClosedBy != ActorSystem ||
		!strings.HasPrefix(ep.OutcomeReason, ReasonLactationEnd) {
		t.Fatalf("2025-08-01: episode %+v, want cured at the end of the lactation window", ep)
	}
	if !st.hasEvent(EventEpisodeClosed, "") {
		t.Errorf("no episode_closed event: %+v", st.events)
	}
	st.wantActive() // the missed-visit alert resolved with the exit, not a default
	// The scheduler running again changes nothing.
	if _, ev := CheckFollowUp(st.s, rs, at(day("2025-08-02"))); len(ev) != 0 {
		t.Errorf("second check: events %+v", ev)
	}
	// A replay of the unchanged history derives the same closure.
	again, ev := Reassess(st.ms, st.s, rs, at(day("2025-08-02")), "hw-1")
	if len(ev) != 0 {
		t.Errorf("reassess: events %+v", ev)
	}
	if d := cmpDiff(st.s, again); d != "" {
		t.Errorf("reassess changed the state (-want +got):\n%s", d)
	}
}

// A measurement on the window's last day, with no scheduler run since the
// previous visit, exits the episode on assessment.
func TestPLWExitOnAssessmentAtWindowEnd(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "w11")
	st.measure(woman("m1", "2025-07-20", 215))
	ep := st.admit(ProgrammeTSFP, day("2025-07-20"))
	st.measure(woman("m2", "2025-07-31", 216))
	if !st.s.episode(ep.ID).Open() {
		t.Fatalf("closed a day early: %+v", st.s.episode(ep.ID))
	}
	st.measure(woman("m3", "2025-08-01", 216))
	if ep = st.s.episode(ep.ID); ep.Outcome != OutcomeCured || ep.OutcomeDate != day("2025-08-01") {
		t.Fatalf("episode %+v, want cured on 2025-08-01", ep)
	}
	// Still malnourished: a new plw_acute_malnutrition alert stands, as for
	// anyone out of a programme.
	st.wantActive(KindPLWMalnutrition)
}

// A pregnant woman (no delivery date) and a child are never exited by the
// window; a lactating woman without a delivery date neither.
func TestPLWWindowNeedsDeliveryDate(t *testing.T) {
	t.Parallel()
	st := newStory(t, DefaultRuleSet(), "w12")
	m := woman("m1", "2025-05-02", 220)
	m.PLWStatus, m.DeliveryDate = StatusPregnant, day("0001-01-01")
	st.measure(m)
	ep := st.admit(ProgrammeTSFP, day("2025-05-02"))
	m = woman("m2", "2025-05-16", 221)
	m.DeliveryDate = day("0001-01-01")
	st.measure(m)
	st.check(day("2026-03-01"))
	if ep = st.s.episode(ep.ID); ep.Outcome != OutcomeDefaulted {
		t.Errorf("episode %+v, want defaulted (no window without a delivery date)", ep)
	}
}
