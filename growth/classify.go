package growth

import "math"

// Classification of children and pregnant or lactating women (PLW) from
// rounded z-scores, MUAC and oedema. Every threshold lives in a Rules value;
// this file holds the evaluation only. Reference: shared/docs/nutrition-rules.md §1,
// §3 and §4 (WHO-2023 guideline on wasting and nutritional oedema, WHO-2013
// SAM update, WHO Child Growth Standards 2006 cut-offs).

// Age band edges in unrounded months (nutrition-rules §1; anthro scores only
// months < 60).
const (
	infantBandEndMonths = 6
	childBandEndMonths  = 60
)

// An OedemaStatus is the bilateral pitting oedema finding of an examination.
// The zero value is OedemaUnknown (nothing recorded).
type OedemaStatus uint8

const (
	OedemaUnknown     OedemaStatus = iota // nothing recorded
	OedemaAbsent                          // examined, no oedema
	OedemaNotAssessed                     // explicitly not examined
	OedemaPresent                         // present, grade not recorded
	OedemaGrade1                          // + (feet)
	OedemaGrade2                          // ++ (feet and legs/hands/forearms)
	OedemaGrade3                          // +++ (generalised, including face)
)

var oedemaNames = [...]string{"unknown", "absent", "not_assessed", "present", "+", "++", "+++"}

// String returns "unknown", "absent", "not_assessed", "present", "+", "++" or "+++".
func (o OedemaStatus) String() string { return enumName(oedemaNames[:], int(o)) }

// Present reports whether oedema was found, at any grade.
func (o OedemaStatus) Present() bool { return o >= OedemaPresent && o <= OedemaGrade3 }

// Assessed reports whether the child was examined for oedema (absent or present).
func (o OedemaStatus) Assessed() bool { return o == OedemaAbsent || o.Present() }

// ClassInput is what Classify needs about one child at one visit. Z-scores are
// the values rounded to 2 decimals (anthro rounds before classifying); a Has
// flag false means the value is missing and the number is ignored.
type ClassInput struct {
	AgeMonths float64 // unrounded months (days / 30.4375)
	HasAge    bool

	WHZ, WAZ, HAZ, BAZ             float64 // weight-for-length/height, -age, length/height-for-age, BMI-for-age
	HasWHZ, HasWAZ, HasHAZ, HasBAZ bool

	MUACmm  float64 // mid-upper arm circumference in mm
	HasMUAC bool

	Oedema OedemaStatus
}

// value returns the input's value for c and whether it is available.
func (in *ClassInput) value(c Criterion) (float64, bool) {
	var v float64
	var ok bool
	switch c {
	case CritWHZ:
		v, ok = in.WHZ, in.HasWHZ
	case CritWAZ:
		v, ok = in.WAZ, in.HasWAZ
	case CritHAZ:
		v, ok = in.HAZ, in.HasHAZ
	case CritBAZ:
		v, ok = in.BAZ, in.HasBAZ
	case CritWHZElseBAZ:
		v, ok = in.WHZ, in.HasWHZ
		if !ok || math.IsNaN(v) {
			v, ok = in.BAZ, in.HasBAZ
		}
	case CritMUAC:
		v, ok = in.MUACmm, in.HasMUAC
	case CritOedema:
		return 0, in.Oedema.Assessed()
	}
	return v, ok && !math.IsNaN(v)
}

// ageDays returns the integer age in days that anthro uses for table look-up,
// round-half-up(months × 30.4375) (anthro R/utils.R).
func (in *ClassInput) ageDays() (int, bool) {
	if !in.HasAge || !(in.AgeMonths >= 0) {
		return 0, false
	}
	return int(math.Floor(in.AgeMonths*DaysPerMonth + 0.5)), true
}

// matches reports whether c fires for in. A criterion whose value is missing
// never fires, nor does one with MinAgeDays when the age is unknown.
func (c *Cond) matches(in *ClassInput) bool {
	if c.MinAgeDays > 0 {
		d, ok := in.ageDays()
		if !ok || d < c.MinAgeDays {
			return false
		}
	}
	if c.Crit == CritOedema {
		return in.Oedema.Present()
	}
	v, ok := in.value(c.Crit)
	return ok && c.test(v)
}

// test compares v with the condition, exactly as written: [a,b) is a ≤ v < b.
func (c *Cond) test(v float64) bool {
	switch c.Op {
	case CmpLT:
		return v < c.Value
	case CmpLE:
		return v <= c.Value
	case CmpGT:
		return v > c.Value
	case CmpGE:
		return v >= c.Value
	case CmpIn:
		lo := v > c.Lo || (!c.LoOpen && v == c.Lo)
		hi := v < c.Hi || (c.HiClosed && v == c.Hi)
		return lo && hi
	}
	return false
}

// available reports whether c's indicator has a value for in.
func (c *Cond) available(in *ClassInput) bool {
	_, ok := in.value(c.Crit)
	return ok
}

// Classification is the result of Classify. Classes that do not apply to the
// age band are the zero "not_applicable" value of their type.
type Classification struct {
	RuleSet, RuleSetVersion string // Rules.Name and Rules.Version

	AgeBand AgeBand

	// Wasting is the headline class for 6–59 months: nutritional_oedema when
	// an oedema row fires, otherwise AnthroWasting. AnthroWasting is the worst
	// class reached by WHZ/MUAC alone, so oedema with severe wasting has
	// Wasting == WastingOedema, NutritionalOedema and AnthroWasting ==
	// WastingSevere.
	Wasting           WastingClass
	AnthroWasting     WastingClass
	NutritionalOedema bool

	// Criteria are the indicators that placed the child in its class: for
	// 6–59 months the oedema rows (when NutritionalOedema) and the rows of
	// class AnthroWasting; for infants every at-risk or high-risk rule that
	// fired.
	Criteria Criteria

	Infant InfantClass // infants under 6 months only

	Stunting    Severity    // length/height-for-age, 0–59 months
	Underweight Severity    // weight-for-age, 0–59 months
	Overweight  WeightClass // WHZ, else BAZ, 0–59 months

	// ExtraBand is the name of the first national extra band that fires
	// (Rules.Child.ExtraBands, 0–59 months), or "".
	ExtraBand string

	// OedemaAssessed is false when oedema was not assessed or not recorded;
	// the classes still use WHZ and MUAC, but an episode cannot exit on it.
	OedemaAssessed bool
}

// SevereWasting reports whether WHZ or MUAC reached severe wasting, whether or
// not oedema is also present.
func (c *Classification) SevereWasting() bool { return c.AnthroWasting == WastingSevere }

// Classify classifies one child with rules r. It does not allocate. With the
// age unknown every class is unknown; at 60 months or more every class is
// not applicable (no WHO-GS-2006 classification).
func Classify(input ClassInput, r *Rules) Classification {
	in := &input
	out := Classification{
		RuleSet:        r.Name,
		RuleSetVersion: r.Version,
		AgeBand:        ageBand(in),
		OedemaAssessed: in.Oedema.Assessed(),
	}
	switch out.AgeBand {
	case AgeBandUnknown:
		out.Wasting, out.AnthroWasting = WastingUnknown, WastingUnknown
		out.Infant = InfantUnknown
		out.Stunting, out.Underweight = SeverityUnknown, SeverityUnknown
		out.Overweight = WeightUnknown
		return out
	case AgeBandOver5:
		return out
	case AgeBandInfant:
		out.Infant, out.Criteria = classifyInfant(in, &r.Infant)
	case AgeBandChild:
		classifyWasting(in, r.Child.Wasting, &out)
	}
	out.Stunting = r.Child.Stunting.classify(in)
	out.Underweight = r.Child.Underweight.classify(in)
	out.Overweight = r.Child.Overweight.classify(in)
	for i := range r.Child.ExtraBands {
		if r.Child.ExtraBands[i].Cond.matches(in) {
			out.ExtraBand = r.Child.ExtraBands[i].Name
			break
		}
	}
	return out
}

func ageBand(in *ClassInput) AgeBand {
	m := in.AgeMonths
	switch {
	case !in.HasAge || !(m >= 0) || math.IsInf(m, 1):
		return AgeBandUnknown
	case m < infantBandEndMonths:
		return AgeBandInfant
	case m < childBandEndMonths:
		return AgeBandChild
	}
	return AgeBandOver5
}

// classifyWasting applies the wasting rows (any one criterion; worst wins).
func classifyWasting(in *ClassInput, rows []WastingRule, out *Classification) {
	var byClass [numWastingClasses]Criteria
	anthro := WastingUnknown
	var assessed bool
	for i := range rows {
		row := &rows[i]
		if row.Cond.Crit != CritOedema && row.Cond.available(in) {
			assessed = true
		}
		if !row.Cond.matches(in) {
			continue
		}
		if row.Class < numWastingClasses {
			byClass[row.Class] |= row.Cond.Crit.bit()
		}
		if row.Class == WastingOedema {
			out.NutritionalOedema = true
		} else if row.Class > anthro && row.Class < numWastingClasses {
			anthro = row.Class
		}
	}
	if anthro == WastingUnknown && assessed {
		anthro = WastingNone
	}
	out.AnthroWasting, out.Wasting = anthro, anthro
	out.Criteria = byClass[anthro]
	if out.NutritionalOedema {
		out.Wasting = WastingOedema
		out.Criteria |= byClass[WastingOedema]
	}
}

// classifyInfant applies the under-6-months rules (nutrition-rules §3.2).
func classifyInfant(in *ClassInput, r *InfantRules) (InfantClass, Criteria) {
	var fired Criteria
	high := false
	for i := range r.HighRisk {
		if r.HighRisk[i].matches(in) {
			high = true
			fired |= r.HighRisk[i].Crit.bit()
		}
	}
	atRisk := high
	for i := range r.AtRisk {
		if r.AtRisk[i].matches(in) {
			atRisk = true
			fired |= r.AtRisk[i].Crit.bit()
		}
	}
	switch {
	case high:
		return InfantHighRisk, fired
	case atRisk:
		return InfantAtRisk, fired
	}
	for _, c := range r.NotAtRiskRequiresAny {
		if _, ok := in.value(c); ok {
			return InfantNotAtRisk, 0
		}
	}
	return InfantUnknown, 0
}

func (s *SeverityRules) classify(in *ClassInput) Severity {
	switch {
	case s.Severe.matches(in):
		return SeveritySevere
	case s.Moderate.matches(in):
		return SeverityModerate
	case s.Moderate.available(in) || s.Severe.available(in):
		return SeverityNone
	}
	return SeverityUnknown
}

func (w *WeightRules) classify(in *ClassInput) WeightClass {
	switch {
	case w.Obesity.matches(in):
		return WeightObesity
	case w.Overweight.matches(in):
		return WeightOverweight
	case w.PossibleRisk.matches(in):
		return WeightPossibleRisk
	case w.Obesity.available(in) || w.Overweight.available(in) || w.PossibleRisk.available(in):
		return WeightNone
	}
	return WeightUnknown
}

// PLWClass is the acute-malnutrition class of a pregnant or lactating woman.
type PLWClass uint8

const (
	PLWUnknown           PLWClass = iota // MUAC missing
	PLWNotMalnourished                   // plw_not_acutely_malnourished
	PLWAcuteMalnutrition                 // plw_acute_malnutrition
)

var plwNames = [...]string{"unknown", "plw_not_acutely_malnourished", "plw_acute_malnutrition"}

// String returns the snake_case name of the class.
func (c PLWClass) String() string { return enumName(plwNames[:], int(c)) }

// ClassifyPLW classifies a pregnant or lactating woman by MUAC in mm with the
// rule r.PLW.MUAC (nutrition-rules §4; default MUAC < 230 mm). It returns
// PLWUnknown when MUAC is not present.
func ClassifyPLW(muacMM float64, present bool, r *Rules) PLWClass {
	if !present || math.IsNaN(muacMM) {
		return PLWUnknown
	}
	if r.PLW.MUAC.test(muacMM) {
		return PLWAcuteMalnutrition
	}
	return PLWNotMalnourished
}
