package growth

import (
	"testing"
)

// child returns an input for a child of the given age in months with oedema
// examined and absent, and nothing measured.
func child(months float64) ClassInput {
	return ClassInput{AgeMonths: months, HasAge: true, Oedema: OedemaAbsent}
}

func withWHZ(in ClassInput, z float64) ClassInput   { in.WHZ, in.HasWHZ = z, true; return in }
func withWAZ(in ClassInput, z float64) ClassInput   { in.WAZ, in.HasWAZ = z, true; return in }
func withHAZ(in ClassInput, z float64) ClassInput   { in.HAZ, in.HasHAZ = z, true; return in }
func withBAZ(in ClassInput, z float64) ClassInput   { in.BAZ, in.HasBAZ = z, true; return in }
func withMUAC(in ClassInput, mm float64) ClassInput { in.MUACmm, in.HasMUAC = mm, true; return in }
func withOedema(in ClassInput, o OedemaStatus) ClassInput {
	in.Oedema = o
	return in
}

func TestClassifyWasting(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	c := child(24)
	tests := []struct {
		name     string
		in       ClassInput
		want     WastingClass
		anthro   WastingClass
		oedema   bool
		criteria string
	}{
		// Boundaries required by nutrition-rules §3.1.
		{"WHZ -2.00 not wasted", withWHZ(c, -2.00), WastingNone, WastingNone, false, ""},
		{"WHZ -2.01 moderate", withWHZ(c, -2.01), WastingModerate, WastingModerate, false, "whz"},
		{"WHZ -3.00 moderate", withWHZ(c, -3.00), WastingModerate, WastingModerate, false, "whz"},
		{"WHZ -3.01 severe", withWHZ(c, -3.01), WastingSevere, WastingSevere, false, "whz"},
		{"MUAC 125 not wasted", withMUAC(c, 125), WastingNone, WastingNone, false, ""},
		{"MUAC 124 moderate", withMUAC(c, 124), WastingModerate, WastingModerate, false, "muac_mm"},
		{"MUAC 115 moderate", withMUAC(c, 115), WastingModerate, WastingModerate, false, "muac_mm"},
		{"MUAC 114 severe", withMUAC(c, 114), WastingSevere, WastingSevere, false, "muac_mm"},
		// Independent indicators: the worst wins.
		{"MUAC severe, WHZ normal", withMUAC(withWHZ(c, 0.5), 110), WastingSevere, WastingSevere, false, "muac_mm"},
		{"WHZ severe, MUAC normal", withMUAC(withWHZ(c, -3.5), 140), WastingSevere, WastingSevere, false, "whz"},
		{"WHZ moderate, MUAC severe", withMUAC(withWHZ(c, -2.5), 114), WastingSevere, WastingSevere, false, "muac_mm"},
		{"both moderate", withMUAC(withWHZ(c, -2.5), 120), WastingModerate, WastingModerate, false, "whz+muac_mm"},
		{"both severe", withMUAC(withWHZ(c, -4), 100), WastingSevere, WastingSevere, false, "whz+muac_mm"},
		// Oedema.
		{"oedema only", withOedema(c, OedemaGrade1), WastingOedema, WastingUnknown, true, "oedema"},
		{"oedema ungraded", withOedema(c, OedemaPresent), WastingOedema, WastingUnknown, true, "oedema"},
		{"oedema and severe", withOedema(withMUAC(c, 100), OedemaGrade3), WastingOedema, WastingSevere, true, "muac_mm+oedema"},
		{"oedema and moderate", withOedema(withMUAC(c, 120), OedemaGrade2), WastingOedema, WastingModerate, true, "muac_mm+oedema"},
		{"oedema and not wasted", withOedema(withMUAC(c, 140), OedemaGrade1), WastingOedema, WastingNone, true, "oedema"},
		// Missing indicators.
		{"nothing measured", c, WastingUnknown, WastingUnknown, false, ""},
		{"oedema not assessed, nothing measured", withOedema(c, OedemaNotAssessed), WastingUnknown, WastingUnknown, false, ""},
		{"oedema not assessed, MUAC", withOedema(withMUAC(c, 130), OedemaNotAssessed), WastingNone, WastingNone, false, ""},
		{"NaN WHZ with flag is missing", withWHZ(c, nan()), WastingUnknown, WastingUnknown, false, ""},
		// Band edges.
		{"6.00 months is child", withWHZ(child(6), -3.5), WastingSevere, WastingSevere, false, "whz"},
		{"59.99 months is child", withWHZ(child(59.99), -3.5), WastingSevere, WastingSevere, false, "whz"},
		{"60 months not applicable", withWHZ(child(60), -3.5), WastingNA, WastingNA, false, ""},
		{"5.99 months infant", withWHZ(child(5.99), -3.5), WastingNA, WastingNA, false, "whz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tt.in, &r)
			if got.Wasting != tt.want || got.AnthroWasting != tt.anthro || got.NutritionalOedema != tt.oedema {
				t.Errorf("got wasting %v, anthro %v, oedema %v; want %v, %v, %v",
					got.Wasting, got.AnthroWasting, got.NutritionalOedema, tt.want, tt.anthro, tt.oedema)
			}
			if s := got.Criteria.String(); s != tt.criteria {
				t.Errorf("got criteria %q, want %q", s, tt.criteria)
			}
			if got.SevereWasting() != (tt.anthro == WastingSevere) {
				t.Errorf("got SevereWasting %v", got.SevereWasting())
			}
		})
	}
}

func TestClassifyAgeBand(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	tests := []struct {
		in   ClassInput
		want AgeBand
	}{
		{ClassInput{}, AgeBandUnknown},
		{ClassInput{AgeMonths: -1, HasAge: true}, AgeBandUnknown},
		{ClassInput{AgeMonths: nan(), HasAge: true}, AgeBandUnknown},
		{child(0), AgeBandInfant},
		{child(5.999), AgeBandInfant},
		{child(6), AgeBandChild},
		{child(59.999), AgeBandChild},
		{child(60), AgeBandOver5},
		{child(200), AgeBandOver5},
	}
	for _, tt := range tests {
		if got := Classify(tt.in, &r).AgeBand; got != tt.want {
			t.Errorf("age %v (known %v): got %v, want %v", tt.in.AgeMonths, tt.in.HasAge, got, tt.want)
		}
	}
	// Unknown age: every class unknown, never not applicable.
	got := Classify(withWHZ(ClassInput{Oedema: OedemaAbsent}, -4), &r)
	if got.Wasting != WastingUnknown || got.Infant != InfantUnknown || got.Stunting != SeverityUnknown ||
		got.Underweight != SeverityUnknown || got.Overweight != WeightUnknown {
		t.Errorf("unknown age: got %+v", got)
	}
	// Over 5: everything not applicable.
	got = Classify(withHAZ(withWHZ(child(61), -4), -4), &r)
	if got.Wasting != WastingNA || got.Infant != InfantNA || got.Stunting != SeverityNA ||
		got.Overweight != WeightNA || got.ExtraBand != "" {
		t.Errorf("over 5: got %+v", got)
	}
}

func TestClassifyInfant(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	days := func(d float64) ClassInput { return child(d / DaysPerMonth) }
	inf := days(100)
	tests := []struct {
		name     string
		in       ClassInput
		want     InfantClass
		criteria string
	}{
		{"WAZ -2.00 not at risk", withWAZ(inf, -2), InfantNotAtRisk, ""},
		{"WAZ -2.01 at risk", withWAZ(inf, -2.01), InfantAtRisk, "waz"},
		{"WLZ -2.01 at risk", withWHZ(inf, -2.01), InfantAtRisk, "whz"},
		{"WLZ -3.00 at risk", withWHZ(inf, -3), InfantAtRisk, "whz"},
		{"WLZ -3.01 high risk", withWHZ(inf, -3.01), InfantHighRisk, "whz"},
		{"WAZ -3.01 high risk", withWAZ(inf, -3.01), InfantHighRisk, "waz"},
		{"oedema high risk", withOedema(inf, OedemaGrade1), InfantHighRisk, "oedema"},
		{"WLZ only, normal", withWHZ(inf, 0), InfantNotAtRisk, ""},
		{"nothing", inf, InfantUnknown, ""},
		{"MUAC alone normal is unknown", withMUAC(inf, 120), InfantUnknown, ""},
		{"MUAC 109 at 42 days", withMUAC(days(42), 109), InfantAtRisk, "muac_mm"},
		{"MUAC 109 at 41 days", withMUAC(withWAZ(days(41), 0), 109), InfantNotAtRisk, ""},
		{"MUAC 110 at 100 days", withMUAC(withWAZ(inf, 0), 110), InfantNotAtRisk, ""},
		{"MUAC 109 at 41.5 days (anthro rounds to 42)", withMUAC(days(41.5), 109), InfantAtRisk, "muac_mm"},
		{"MUAC 109 at 41.49 days", withMUAC(days(41.49), 109), InfantUnknown, ""},
		{"MUAC 100 and WAZ -3.5", withMUAC(withWAZ(inf, -3.5), 100), InfantHighRisk, "waz+muac_mm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tt.in, &r)
			if got.AgeBand != AgeBandInfant {
				t.Fatalf("got band %v", got.AgeBand)
			}
			if got.Infant != tt.want {
				t.Errorf("got %v, want %v", got.Infant, tt.want)
			}
			if got.Criteria.String() != tt.criteria {
				t.Errorf("got criteria %q, want %q", got.Criteria, tt.criteria)
			}
			if got.Wasting != WastingNA {
				t.Errorf("got wasting %v for an infant, want not_applicable", got.Wasting)
			}
		})
	}
}

func TestClassifyOtherIndicators(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	c := child(30)
	tests := []struct {
		name  string
		in    ClassInput
		stunt Severity
		under Severity
		over  WeightClass
	}{
		{"nothing", c, SeverityUnknown, SeverityUnknown, WeightUnknown},
		{"-2.00 none", withWAZ(withHAZ(c, -2), -2), SeverityNone, SeverityNone, WeightUnknown},
		{"-2.01 moderate", withWAZ(withHAZ(c, -2.01), -2.01), SeverityModerate, SeverityModerate, WeightUnknown},
		{"-3.00 moderate", withWAZ(withHAZ(c, -3), -3), SeverityModerate, SeverityModerate, WeightUnknown},
		{"-3.01 severe", withWAZ(withHAZ(c, -3.01), -3.01), SeveritySevere, SeveritySevere, WeightUnknown},
		{"WHZ 1.00 none", withWHZ(c, 1), SeverityUnknown, SeverityUnknown, WeightNone},
		{"WHZ 1.01 possible risk", withWHZ(c, 1.01), SeverityUnknown, SeverityUnknown, WeightPossibleRisk},
		{"WHZ 2.00 possible risk", withWHZ(c, 2), SeverityUnknown, SeverityUnknown, WeightPossibleRisk},
		{"WHZ 2.01 overweight", withWHZ(c, 2.01), SeverityUnknown, SeverityUnknown, WeightOverweight},
		{"WHZ 3.00 overweight", withWHZ(c, 3), SeverityUnknown, SeverityUnknown, WeightOverweight},
		{"WHZ 3.01 obesity", withWHZ(c, 3.01), SeverityUnknown, SeverityUnknown, WeightObesity},
		{"BAZ when no WHZ", withBAZ(c, 3.5), SeverityUnknown, SeverityUnknown, WeightObesity},
		{"WHZ wins over BAZ", withBAZ(withWHZ(c, 0), 3.5), SeverityUnknown, SeverityUnknown, WeightNone},
		{"infant too", withHAZ(child(2), -3.5), SeveritySevere, SeverityUnknown, WeightUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tt.in, &r)
			if got.Stunting != tt.stunt || got.Underweight != tt.under || got.Overweight != tt.over {
				t.Errorf("got %v/%v/%v, want %v/%v/%v", got.Stunting, got.Underweight, got.Overweight,
					tt.stunt, tt.under, tt.over)
			}
		})
	}
}

func TestClassifyOedemaAssessed(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	for o, want := range map[OedemaStatus]bool{
		OedemaUnknown: false, OedemaNotAssessed: false, OedemaAbsent: true,
		OedemaPresent: true, OedemaGrade1: true, OedemaGrade2: true, OedemaGrade3: true,
	} {
		if got := Classify(withOedema(child(12), o), &r).OedemaAssessed; got != want {
			t.Errorf("oedema %v: got assessed %v, want %v", o, got, want)
		}
	}
}

func TestClassifyExtraBandColombia(t *testing.T) {
	t.Parallel()
	r := readRules(t, "testdata/classify-rules-co.json")
	if r.Country != "CO" || r.Name != "who-2023-co" {
		t.Fatalf("got %q %q", r.Country, r.Name)
	}
	tests := []struct {
		whz  float64
		want string
	}{
		{-2.01, ""},
		{-2.00, "co_risk_acute_malnutrition"},
		{-1.01, "co_risk_acute_malnutrition"},
		{-1.00, ""},
		{1.00, ""},
		{1.01, "co_risk_overweight"},
		{2.00, "co_risk_overweight"},
		{2.01, ""},
	}
	for _, tt := range tests {
		got := Classify(withWHZ(child(20), tt.whz), &r)
		if got.ExtraBand != tt.want {
			t.Errorf("WHZ %.2f: got band %q, want %q", tt.whz, got.ExtraBand, tt.want)
		}
		if got.RuleSet != "who-2023-co" || got.RuleSetVersion != "1" {
			t.Errorf("got rule set %q %q", got.RuleSet, got.RuleSetVersion)
		}
	}
	// The WHO classes are unchanged by the national bands.
	def := DefaultRules()
	for _, z := range []float64{-3.01, -3, -2.01, -2, -1.5, 0, 1.5, 3.01} {
		a, b := Classify(withWHZ(child(20), z), &r), Classify(withWHZ(child(20), z), &def)
		if a.Wasting != b.Wasting || a.Overweight != b.Overweight {
			t.Errorf("WHZ %v: Colombia %v/%v, WHO %v/%v", z, a.Wasting, a.Overweight, b.Wasting, b.Overweight)
		}
	}
}

func TestClassifyPLW(t *testing.T) {
	t.Parallel()
	def := DefaultRules()
	emergency := DefaultRules() // Sphere emergency selection (nutrition-rules §4)
	emergency.PLW.MUAC = Cond{Crit: CritMUAC, Op: CmpLT, Value: 210}
	inclusive := DefaultRules() // Sri Lanka, listed by Ververs-2013
	inclusive.PLW.MUAC = Cond{Crit: CritMUAC, Op: CmpLE, Value: 230}
	co := readRules(t, "testdata/classify-rules-co.json")
	tests := []struct {
		name    string
		r       *Rules
		mm      float64
		present bool
		want    PLWClass
	}{
		{"default 229", &def, 229, true, PLWAcuteMalnutrition},
		{"default 230", &def, 230, true, PLWNotMalnourished},
		{"default missing", &def, 0, false, PLWUnknown},
		{"default NaN", &def, nan(), true, PLWUnknown},
		{"<210 209", &emergency, 209, true, PLWAcuteMalnutrition},
		{"<210 210", &emergency, 210, true, PLWNotMalnourished},
		{"<210 225", &emergency, 225, true, PLWNotMalnourished},
		{"<=230 230", &inclusive, 230, true, PLWAcuteMalnutrition},
		{"<=230 231", &inclusive, 231, true, PLWNotMalnourished},
		{"Colombia 229", &co, 229, true, PLWAcuteMalnutrition},
	}
	for _, tt := range tests {
		if got := ClassifyPLW(tt.mm, tt.present, tt.r); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, r := range []*Rules{&emergency, &inclusive} {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
	if s := PLWAcuteMalnutrition.String(); s != "plw_acute_malnutrition" {
		t.Errorf("got %q", s)
	}
}

func TestClassStrings(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{AgeBandInfant.String(), "infant_u6m"},
		{AgeBandChild.String(), "child_6_59m"},
		{AgeBandOver5.String(), "over_5"},
		{WastingOedema.String(), "nutritional_oedema"},
		{WastingSevere.String(), "severe_wasting"},
		{WastingModerate.String(), "moderate_wasting"},
		{WastingNone.String(), "not_wasted"},
		{WastingUnknown.String(), "unknown"},
		{InfantAtRisk.String(), "infant_at_risk"},
		{InfantHighRisk.String(), "high_risk_anthropometry"},
		{InfantNotAtRisk.String(), "infant_not_at_risk_anthropometric"},
		{PLWNotMalnourished.String(), "plw_not_acutely_malnourished"},
		{PLWUnknown.String(), "unknown"},
		{WeightPossibleRisk.String(), "possible_risk_of_overweight"},
		{SeveritySevere.String(), "severe"},
		{OedemaGrade2.String(), "++"},
		{WastingClass(99).String(), "invalid(99)"},
		{Cond{Crit: CritWHZ, Op: CmpIn, Lo: -3, Hi: -2}.String(), "whz in [-3,-2)"},
		{Cond{Crit: CritMUAC, Op: CmpLT, Value: 110, MinAgeDays: 42}.String(), "muac_mm < 110 from 42 days"},
		{Cond{Crit: CritOedema}.String(), "oedema"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestClassifyAllocs(t *testing.T) {
	r := DefaultRules()
	in := withOedema(withMUAC(withWHZ(withHAZ(child(20), -2.5), -3.2), 112), OedemaGrade1)
	if n := testing.AllocsPerRun(100, func() { _ = Classify(in, &r) }); n != 0 {
		t.Errorf("got %v allocs, want 0", n)
	}
}

func BenchmarkClassify(b *testing.B) {
	r := DefaultRules()
	cases := []struct {
		name string
		in   ClassInput
	}{
		{"child", withMUAC(withBAZ(withHAZ(withWAZ(withWHZ(child(20), -2.5), -1.2), -2.2), 0.3), 118)},
		{"infant", withMUAC(withWAZ(withWHZ(child(3), -1), -2.1), 108)},
		{"oedema", withOedema(withMUAC(child(30), 100), OedemaGrade2)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink Classification
			for b.Loop() {
				sink = Classify(c.in, &r)
			}
			_ = sink
		})
	}
}
