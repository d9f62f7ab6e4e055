package growth_test

import (
	"fmt"

	"contigo/growth"
)

func ExampleClassify() {
	rules := growth.DefaultRules()
	in := growth.ClassInput{
		AgeMonths: 20, HasAge: true,
		WHZ: -2.4, HasWHZ: true, // rounded z-scores, as Assess returns them
		MUACmm: 112, HasMUAC: true,
		Oedema: growth.OedemaGrade1,
	}
	c := growth.Classify(in, &rules)
	fmt.Println(c.AgeBand, c.Wasting, c.AnthroWasting, c.Criteria, c.OedemaAssessed)
	fmt.Println(c.RuleSet, c.RuleSetVersion)
	// Output:
	// child_6_59m nutritional_oedema severe_wasting muac_mm+oedema true
	// who-2023 1
}

func ExampleParseRules() {
	rules := growth.DefaultRules()
	rules.PLW.MUAC = growth.Cond{Crit: growth.CritMUAC, Op: growth.CmpLT, Value: 210}
	fmt.Println(growth.ClassifyPLW(215, true, &rules))

	_, err := growth.ParseRules([]byte(`{"name": "who-2023", "version": "1", "child": {"wasting": [
		{"class": "severe_wasting", "indicator": "whz", "range": "[-3,-2"}]}}`))
	fmt.Println(err)
	// Output:
	// plw_not_acutely_malnourished
	// rules: child.wasting[0].range: not a range like "[-3,-2)"
}
