package nutrition

import (
	"errors"
	"strings"
	"testing"

	"contigo/records"
)

// A boy cured in OTP is monitored in a followup episode: visits every 30
// days; the third visit after admission ends the episode as cured
// ("follow-up completed"), and indicators count it in no programme rate.
func TestStoryFollowUpEndsAfterThreeVisits(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	st := newStory(t, rs, "f1")
	st.measure(boy("m1", "2025-03-10", 112))
	st.admit(ProgrammeOTP, day("2025-03-10"))
	st.measure(boy("m2", "2025-03-17", 126))
	st.measure(boy("m3", "2025-03-24", 127))
	if st.s.Episodes[0].Outcome != OutcomeCured {
		t.Fatalf("OTP not cured: %+v", st.s.Episodes[0])
	}
	fu := st.admit(ProgrammeFollowUp, day("2025-03-24"))
	if fu.NextDueDate.Format("2006-01-02") != "2025-04-23" {
		t.Errorf("first follow-up due %v, want 2025-04-23 (30 days)", fu.NextDueDate)
	}
	st.measure(boy("m5", "2025-04-23", 128))
	st.measure(boy("m6", "2025-05-23", 129))
	if ep := st.s.episode(fu.ID); !ep.Open() || ep.NextDueDate.Format("2006-01-02") != "2025-06-22" {
		t.Fatalf("after two visits: %+v, want open, due 2025-06-22", ep)
	}
	st.measure(boy("m7", "2025-06-22", 130))
	ep := st.s.episode(fu.ID)
	if ep.Open() || ep.Outcome != OutcomeCured || ep.OutcomeDate != day("2025-06-22") || ep.ClosedBy != ActorSystem ||
		!strings.HasPrefix(ep.OutcomeReason, ReasonFollowUpCompleted) {
		t.Fatalf("after three visits: %+v, want cured (follow-up completed) on 2025-06-22", ep)
	}
	if st.s.Status.OpenEpisodeID != "" {
		t.Errorf("status still names an open episode: %+v", st.s.Status)
	}
	rows, err := Indicators([]State{st.s}, rs, day("2025-01-01"), day("2025-12-31"), "")
	if err != nil {
		t.Fatal(err)
	}
	var exits int
	for _, r := range rows {
		exits += r.ExitsSevere.Exits + r.ExitsModerate.Exits
	}
	if exits != 1 {
		t.Errorf("exits counted = %d, want 1 (the OTP cure only)", exits)
	}
	again, ev := Reassess(st.ms, st.s, rs, at(day("2025-06-23")), "hw-1")
	if len(ev) != 0 {
		t.Errorf("reassess: events %+v", ev)
	}
	if d := cmpDiff(st.s, again); d != "" {
		t.Errorf("reassess changed the state (-want +got):\n%s", d)
	}
}

// A missed follow-up visit does not count; two in a row default the
// followup episode as for any programme.
func TestFollowUpMissedVisitsDoNotCount(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	rs.FollowUpVisits = 2
	st := newStory(t, rs, "f2")
	st.measure(boy("m1", "2025-03-10", 130))
	fu := st.admit(ProgrammeFollowUp, day("2025-03-10"))
	st.check(day("2025-04-13")) // due 04-09 + 3 days: missed
	st.measure(boy("m2", "2025-04-20", 130))
	if ep := st.s.episode(fu.ID); !ep.Open() {
		t.Fatalf("closed after one visit: %+v", ep)
	}
	st.measure(boy("m3", "2025-05-20", 131))
	if ep := st.s.episode(fu.ID); ep.Outcome != OutcomeCured {
		t.Fatalf("followup_visits=2: %+v, want cured after the second visit", ep)
	}
}

func TestFollowUpVisitsConfig(t *testing.T) {
	t.Parallel()
	rs, err := ParseRuleSet([]byte(`{"followup_visits": 4}`))
	if err != nil || rs.FollowUpVisits != 4 {
		t.Fatalf("ParseRuleSet: %v, %+v", err, rs)
	}
	_, err = ParseRuleSet([]byte(`{"followup_visits": 0}`))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "followup_visits" || !errors.Is(err, records.ErrInvalid) {
		t.Errorf("followup_visits 0: %v", err)
	}
}
