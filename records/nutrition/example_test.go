package nutrition_test

import (
	"fmt"
	"time"

	"contigo/records/nutrition"
)

// One write of a measurement: validate, assess, apply; then the events say
// which alerts and episodes to write.
func Example() {
	rs := nutrition.DefaultRuleSet()
	state := nutrition.State{PersonRef: "k3v9q2", Country: "CO"}
	now := time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC)
	m := nutrition.Measurement{
		ID: "k3v9q2.obs1", Date: now, Sex: nutrition.SexFemale,
		BirthDate: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC),
		WeightKg:  nutrition.F(9.2), LengthCm: nutrition.F(78), Position: nutrition.PositionLying,
		MUACmm: nutrition.MM(112), Oedema: nutrition.OedemaAbsent,
	}
	if err := nutrition.Validate(m, rs, now); err != nil {
		fmt.Println(err) // 422 with an OperationOutcome; store nothing
		return
	}
	a := nutrition.Assess(m, &state, rs)
	state, events := nutrition.Apply(state, a, rs, now, "health-worker-7")
	fmt.Println(a.Classification, a.Criteria, a.Rule.RuleSet, a.Rule.Version)
	for _, e := range events {
		if e.AlertKind == "" {
			fmt.Println(e.Type, e.Detail)
			continue
		}
		fmt.Println(e.Type, e.AlertKind, e.Severity)
	}
	fmt.Println(state.Status.OpenAlerts, state.Status.HighestOpen)
	// Output:
	// severe_wasting [muac_mm] who-2023 1
	// assessed severe_wasting
	// alert_opened new_severe_wasting high
	// 1 high
}
