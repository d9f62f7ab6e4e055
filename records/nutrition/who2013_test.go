package nutrition

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"contigo/records"
)

func who2013() *RuleSet {
	rs := DefaultRuleSet()
	rs.Exit.RuleSet = ExitWHO2013
	return rs
}

func weighing(m Measurement, kg float64) Measurement {
	m.WeightKg = F(kg)
	return m
}

// Under who-2013 recovery is judged on the admitting indicator only: a boy
// admitted on MUAC is cured with MUAC >= 125 on two visits although his WHZ
// is still below -2; under who-2023 he is not.
func TestWHO2013MUACAdmittedJudgedOnMUAC(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rs    *RuleSet
		cured bool
	}{{who2013(), true}, {DefaultRuleSet(), false}} {
		st := newStory(t, tt.rs, "x1")
		st.measure(boy("m1", "2025-03-10", 112))
		ep := st.admit(ProgrammeOTP, day("2025-03-10"))
		if !slices.Equal(ep.AdmissionCriteria, []string{"muac_mm"}) {
			t.Fatalf("admitted by %v", ep.AdmissionCriteria)
		}
		st.measure(weighing(boy("m2", "2025-03-17", 126), 8.2))
		a := st.measure(weighing(boy("m3", "2025-03-24", 127), 8.2))
		if a.Z.WHZ == nil || *a.Z.WHZ >= -2 {
			t.Fatalf("WHZ = %v, want < -2", a.Z.WHZ)
		}
		ep = st.s.episode(ep.ID)
		if got := ep.Outcome == OutcomeCured; got != tt.cured {
			t.Errorf("%s: episode %+v, cured %v, want %v", tt.rs.Exit.RuleSet, ep, got, tt.cured)
		}
		if tt.cured && !strings.Contains(ep.OutcomeReason, "who-2013") {
			t.Errorf("reason %q does not name who-2013", ep.OutcomeReason)
		}
	}
}

// A boy admitted on WHZ is cured under who-2013 once WHZ >= -2 on two
// visits, although his MUAC is moderate.
func TestWHO2013WHZAdmittedJudgedOnWHZ(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rs    *RuleSet
		cured bool
	}{{who2013(), true}, {DefaultRuleSet(), false}} {
		st := newStory(t, tt.rs, "x2")
		a := st.measure(weighing(boy("m1", "2025-03-10", 130), 7.6))
		ep := st.admit(ProgrammeOTP, day("2025-03-10"))
		if a.AnthroWasting != ClassSevereWasting || !slices.Equal(ep.AdmissionCriteria, []string{"whz"}) {
			t.Fatalf("admission: %s by %v (whz %v)", a.AnthroWasting, ep.AdmissionCriteria, *a.Z.WHZ)
		}
		st.measure(weighing(boy("m2", "2025-03-17", 120), 8.8))
		st.measure(weighing(boy("m3", "2025-03-24", 121), 8.8))
		if got := st.s.episode(ep.ID).Outcome == OutcomeCured; got != tt.cured {
			t.Errorf("%s: episode %+v, cured %v, want %v", tt.rs.Exit.RuleSet, st.s.episode(ep.ID), got, tt.cured)
		}
	}
}

// who-2013 needs oedema recorded absent for at least 14 days: a boy
// admitted with oedema and free of it from 2025-03-17 is cured on
// 2025-03-31, not on 2025-03-24 (as under who-2023).
func TestWHO2013OedemaFreeTwoWeeks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rs   *RuleSet
		want string
	}{{who2013(), "2025-03-31"}, {DefaultRuleSet(), "2025-03-24"}} {
		st := newStory(t, tt.rs, "x3")
		m := boy("m1", "2025-03-10", 130)
		m.Oedema = OedemaPlus
		st.measure(m)
		ep := st.admit(ProgrammeOTP, day("2025-03-10"))
		if !slices.Equal(ep.AdmissionCriteria, []string{"oedema"}) {
			t.Fatalf("admitted by %v", ep.AdmissionCriteria)
		}
		for i, d := range []string{"2025-03-17", "2025-03-24", "2025-03-31"} {
			st.measure(boy("m"+string(rune('2'+i)), d, 130))
			if st.s.episode(ep.ID).Open() == (d < tt.want) {
				continue
			}
			t.Errorf("%s on %s: episode %+v, want cured on %s", tt.rs.Exit.RuleSet, d, st.s.episode(ep.ID), tt.want)
		}
	}
	// A not_assessed finding restarts the two weeks.
	st := newStory(t, who2013(), "x4")
	m := boy("m1", "2025-03-10", 130)
	m.Oedema = OedemaPlus
	st.measure(m)
	ep := st.admit(ProgrammeOTP, day("2025-03-10"))
	st.measure(boy("m2", "2025-03-17", 130))
	m = boy("m3", "2025-03-24", 130)
	m.Oedema = OedemaNotAssessed
	st.measure(m)
	st.measure(boy("m4", "2025-03-31", 130))
	st.measure(boy("m5", "2025-04-07", 130))
	if !st.s.episode(ep.ID).Open() {
		t.Errorf("cured 14 days after a not_assessed finding: %+v", st.s.episode(ep.ID))
	}
	st.measure(boy("m6", "2025-04-14", 130))
	if st.s.episode(ep.ID).Outcome != OutcomeCured {
		t.Errorf("not cured 14 days oedema-free: %+v", st.s.episode(ep.ID))
	}
}

func TestExitRuleSetConfig(t *testing.T) {
	t.Parallel()
	rs, err := ParseRuleSet([]byte(`{"child": {"exit": {"ruleset": "who-2013"}}}`))
	if err != nil || rs.Exit.RuleSet != ExitWHO2013 || rs.Exit.MaxWeeksSevere != 16 {
		t.Fatalf("ParseRuleSet: %v %+v", err, rs)
	}
	_, err = ParseRuleSet([]byte(`{"child": {"exit": {"ruleset": "who-1999"}}}`))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "child.exit.ruleset" || !errors.Is(err, records.ErrInvalid) {
		t.Errorf("who-1999: %v", err)
	}
}
