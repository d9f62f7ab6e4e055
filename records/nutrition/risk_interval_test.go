package nutrition

import (
	"errors"
	"testing"

	"contigo/records"
)

// atRisk returns boy() weighing 8.5 kg at 76 cm: WHZ -1.63, not wasted, in
// Colombia's co_risk_acute_malnutrition band [-2, -1).
func atRisk(id, date string) Measurement {
	m := boy(id, date, 130)
	m.WeightKg = F(8.5)
	return m
}

func due(ep *Episode) string {
	if ep.NextDueDate == nil {
		return ""
	}
	return ep.NextDueDate.Format("2006-01-02")
}

// Colombia: a child in a followup episode whose newest assessment falls in
// the risk band is seen fortnightly (followup_days.risk = 15); out of the
// band, monthly (followup_days.followup = 30). A missed visit is rescheduled
// with the same rule.
func TestStoryRiskIntervalInFollowUp(t *testing.T) {
	t.Parallel()
	rs := loadCO(t)
	st := newStory(t, rs, "r1")
	a := st.measure(atRisk("m1", "2025-03-10"))
	if a.ExtraBand != "co_risk_acute_malnutrition" {
		t.Fatalf("band = %q", a.ExtraBand)
	}
	fu := st.admit(ProgrammeFollowUp, day("2025-03-10"))
	if due(fu) != "2025-03-25" {
		t.Errorf("at admission: due %s, want 2025-03-25 (15 days)", due(fu))
	}
	st.measure(boy("m2", "2025-03-25", 130)) // WHZ -0.92: out of the band
	if ep := st.s.episode(fu.ID); due(ep) != "2025-04-24" {
		t.Errorf("after a visit out of the band: due %s, want 2025-04-24 (30 days)", due(ep))
	}
	st.measure(atRisk("m3", "2025-04-24"))
	if ep := st.s.episode(fu.ID); due(ep) != "2025-05-09" {
		t.Errorf("after a visit in the band: due %s, want 2025-05-09 (15 days)", due(ep))
	}
	st.check(day("2025-05-13")) // 05-09 + 3 days grace passed: missed
	if ep := st.s.episode(fu.ID); ep.MissedCount != 1 || due(ep) != "2025-05-24" {
		t.Errorf("after a miss: %d missed, due %s, want 1, 2025-05-24", ep.MissedCount, due(ep))
	}
	again, ev := Reassess(st.ms, st.s, rs, at(day("2025-05-13")), "hw-1")
	if len(ev) != 0 {
		t.Errorf("reassess: events %+v", ev)
	}
	if d := cmpDiff(st.s, again); d != "" {
		t.Errorf("reassess changed the state (-want +got):\n%s", d)
	}
}

// The risk interval applies to followup episodes only, and not under the
// default rule set (no risk bands).
func TestRiskIntervalScope(t *testing.T) {
	t.Parallel()
	co := newStory(t, loadCO(t), "r2")
	co.measure(boy("m1", "2025-03-10", 120)) // moderate by MUAC
	tsfp := co.admit(ProgrammeTSFP, day("2025-03-10"))
	co.measure(atRisk("m2", "2025-03-24"))
	if ep := co.s.episode(tsfp.ID); due(ep) != "2025-04-07" {
		t.Errorf("tsfp in the band: due %s, want 2025-04-07 (14 days, the programme's)", due(ep))
	}
	def := newStory(t, DefaultRuleSet(), "r3")
	def.measure(atRisk("m1", "2025-03-10"))
	if fu := def.admit(ProgrammeFollowUp, day("2025-03-10")); due(fu) != "2025-04-09" {
		t.Errorf("default rule set: due %s, want 2025-04-09 (30 days)", due(fu))
	}
}

func TestRiskBandsConfig(t *testing.T) {
	t.Parallel()
	_, err := ParseRuleSet([]byte(`{"followup_risk_bands": ["nope"]}`))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "followup_risk_bands[0]" || !errors.Is(err, records.ErrInvalid) {
		t.Errorf("unknown band: %v", err)
	}
	if rs := loadCO(t); len(rs.FollowUpRiskBands) != 1 || rs.FollowUpRiskBands[0] != "co_risk_acute_malnutrition" {
		t.Errorf("CO risk bands = %v", rs.FollowUpRiskBands)
	}
}
