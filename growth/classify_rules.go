package growth

import (
	"errors"
	"math"
	"strconv"
)

// Rules holds every threshold Classify and ClassifyPLW use: a rule set such as
// "who-2023", optionally adapted for a country (shared/docs/nutrition-rules.md §5).
// Build one with DefaultRules or ParseRules; a Rules built by hand should pass
// Validate. Classify only reads it, so one value may be shared by goroutines.
type Rules struct {
	Name    string // rule set, e.g. "who-2023"; stored with every result
	Version string // version of the rule set, e.g. "1"
	Country string // ISO 3166-1 alpha-2, or "" for the regional default

	Child  ChildRules
	Infant InfantRules
	PLW    PLWRules
}

// ChildRules are the rules for children under 5 (nutrition-rules §3.1, §3.3).
type ChildRules struct {
	// Wasting rows apply to 6–59 months; any one row fires its class, the
	// worst class wins. Classes: moderate_wasting, severe_wasting,
	// nutritional_oedema.
	Wasting []WastingRule

	Stunting    SeverityRules // by HAZ
	Underweight SeverityRules // by WAZ
	Overweight  WeightRules   // by WHZ, else BAZ

	// ExtraBands are national bands reported under their own name, 0–59
	// months; the first that fires is reported.
	ExtraBands []Band
}

// A WastingRule gives Class to a child when Cond fires.
type WastingRule struct {
	Class WastingClass
	Cond  Cond
}

// SeverityRules are the moderate and severe cut-offs of one indicator.
type SeverityRules struct {
	Moderate, Severe Cond
}

// WeightRules are the overweight cut-offs (nutrition-rules §3.3).
type WeightRules struct {
	PossibleRisk, Overweight, Obesity Cond
}

// A Band is a national extra band, e.g. Colombia's risk of acute malnutrition.
type Band struct {
	Name string // e.g. "co_risk_acute_malnutrition"
	Cond Cond
}

// InfantRules are the rules for infants under 6 months (nutrition-rules §3.2).
type InfantRules struct {
	AtRisk   []Cond // any one: infant_at_risk
	HighRisk []Cond // any one: high_risk_anthropometry (and at risk)

	// NotAtRiskRequiresAny lists the indicators of which at least one must be
	// available to conclude infant_not_at_risk_anthropometric.
	NotAtRiskRequiresAny []Criterion
}

// PLWRules are the rules for pregnant and lactating women (nutrition-rules §4).
type PLWRules struct {
	MUAC Cond // on muac_mm; fires plw_acute_malnutrition
}

// DefaultRules returns the WHO rule set "who-2023" version "1" of
// shared/docs/nutrition-rules.md: WHO-2023 and WHO-2013 for wasting, oedema and
// infants, WHO-GS-2006 cut-offs for the other indicators, and the regional
// PLW default MUAC < 230 mm (Ververs-2013). Each call returns a fresh copy.
func DefaultRules() Rules {
	lt := func(c Criterion, v float64) Cond { return Cond{Crit: c, Op: CmpLT, Value: v} }
	gt := func(c Criterion, v float64) Cond { return Cond{Crit: c, Op: CmpGT, Value: v} }
	in := func(c Criterion, lo, hi float64) Cond { return Cond{Crit: c, Op: CmpIn, Lo: lo, Hi: hi} }
	oedema := Cond{Crit: CritOedema}
	return Rules{
		Name:    "who-2023",
		Version: "1",
		Child: ChildRules{
			Wasting: []WastingRule{
				{WastingOedema, oedema},                   // WHO-2013, WHO-2023
				{WastingSevere, lt(CritWHZ, -3)},          // WHO-2013, WHO-2023
				{WastingSevere, lt(CritMUAC, 115)},        // WHO-UNICEF-2009
				{WastingModerate, in(CritWHZ, -3, -2)},    // WFP-IC, WHO eLENA
				{WastingModerate, in(CritMUAC, 115, 125)}, // WHO-2023
			},
			Stunting:    SeverityRules{Moderate: lt(CritHAZ, -2), Severe: lt(CritHAZ, -3)}, // WHO-GS-2006
			Underweight: SeverityRules{Moderate: lt(CritWAZ, -2), Severe: lt(CritWAZ, -3)}, // WHO-GS-2006
			Overweight: WeightRules{
				PossibleRisk: gt(CritWHZElseBAZ, 1), // WHO growth-assessment course [UNVERIFIED]
				Overweight:   gt(CritWHZElseBAZ, 2), // WHO-GS-2006
				Obesity:      gt(CritWHZElseBAZ, 3), // WHO-GS-2006
			},
		},
		Infant: InfantRules{
			AtRisk: []Cond{ // WHO-2023
				lt(CritWAZ, -2),
				lt(CritWHZ, -2),
				oedema,
				{Crit: CritMUAC, Op: CmpLT, Value: 110, MinAgeDays: 42},
			},
			HighRisk: []Cond{ // WHO-2013 infant SAM; WAZ < -3 is a design choice
				lt(CritWHZ, -3),
				oedema,
				lt(CritWAZ, -3),
			},
			NotAtRiskRequiresAny: []Criterion{CritWAZ, CritWHZ},
		},
		PLW: PLWRules{MUAC: lt(CritMUAC, 230)},
	}
}

// Errors of ParseRules and Validate; every error they return is a
// *RulesError that matches one of these with errors.Is.
var (
	ErrRulesMalformed = errors.New("malformed rules") // not JSON, or a wrong JSON type
	ErrRulesInvalid   = errors.New("invalid rules")   // parses, but a value breaks a rule
)

// A RulesError reports the field of a rule set that is wrong and why.
type RulesError struct {
	Field  string // JSON path, e.g. "child.wasting[2].range"; "" for the whole document
	Reason string
	Kind   error // ErrRulesMalformed or ErrRulesInvalid
}

func (e *RulesError) Error() string {
	if e.Field == "" {
		return "rules: " + e.Reason
	}
	return "rules: " + e.Field + ": " + e.Reason
}

// Unwrap returns e.Kind.
func (e *RulesError) Unwrap() error { return e.Kind }

func invalid(field, reason string) error {
	return &RulesError{Field: field, Reason: reason, Kind: ErrRulesInvalid}
}

// Validate checks that every rule is complete and consistent. It returns a
// *RulesError (ErrRulesInvalid) naming the first bad field.
func (r *Rules) Validate() error {
	if r.Name == "" {
		return invalid("name", "missing")
	}
	if r.Version == "" {
		return invalid("version", "missing")
	}
	if r.Country != "" && !isCountryCode(r.Country) {
		return invalid("country", "not an ISO 3166-1 alpha-2 code in upper case")
	}
	for i, w := range r.Child.Wasting {
		f := "child.wasting[" + strconv.Itoa(i) + "]"
		switch w.Class {
		case WastingModerate, WastingSevere, WastingOedema:
		default:
			return invalid(f+".class", "must be moderate_wasting, severe_wasting or nutritional_oedema")
		}
		if err := w.Cond.validate(f); err != nil {
			return err
		}
	}
	checks := []struct {
		field string
		c     *Cond
	}{
		{"child.stunting.moderate", &r.Child.Stunting.Moderate},
		{"child.stunting.severe", &r.Child.Stunting.Severe},
		{"child.underweight.moderate", &r.Child.Underweight.Moderate},
		{"child.underweight.severe", &r.Child.Underweight.Severe},
		{"child.overweight.possible_risk", &r.Child.Overweight.PossibleRisk},
		{"child.overweight.overweight", &r.Child.Overweight.Overweight},
		{"child.overweight.obesity", &r.Child.Overweight.Obesity},
	}
	for _, ch := range checks {
		if err := ch.c.validate(ch.field); err != nil {
			return err
		}
	}
	for i, b := range r.Child.ExtraBands {
		f := "child.extra_bands[" + strconv.Itoa(i) + "]"
		if !isSnakeName(b.Name) {
			return invalid(f+".class", "must be a snake_case name")
		}
		if err := b.Cond.validate(f); err != nil {
			return err
		}
	}
	for i := range r.Infant.AtRisk {
		if err := r.Infant.AtRisk[i].validate("infant_u6m.at_risk[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	for i := range r.Infant.HighRisk {
		if err := r.Infant.HighRisk[i].validate("infant_u6m.high_risk_anthropometry[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	for i, c := range r.Infant.NotAtRiskRequiresAny {
		if c == critInvalid || c >= numCriteria || c == CritOedema {
			return invalid("infant_u6m.not_at_risk_requires_any["+strconv.Itoa(i)+"]", "must be an anthropometric indicator")
		}
	}
	if r.PLW.MUAC.Crit != CritMUAC {
		return invalid("plw.muac", "must be a rule on muac_mm")
	}
	if r.PLW.MUAC.Op < CmpLT || r.PLW.MUAC.Op > CmpGE || r.PLW.MUAC.MinAgeDays != 0 {
		return invalid("plw.muac.op", "must be one of <, <=, >, >=")
	}
	return r.PLW.MUAC.validate("plw.muac")
}

// validate checks one condition; field is its JSON path.
func (c *Cond) validate(field string) error {
	if c.Crit == critInvalid || c.Crit >= numCriteria {
		return invalid(field+".indicator", "missing or unknown")
	}
	if c.MinAgeDays < 0 {
		return invalid(field+".min_age_days", "negative")
	}
	switch c.Op {
	case CmpNone:
		if c.Crit != CritOedema {
			return invalid(field+".op", "missing: give op and value, or range")
		}
	case CmpLT, CmpLE, CmpGT, CmpGE:
		if c.Crit == CritOedema {
			return invalid(field+".op", "oedema takes no op or range")
		}
		if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
			return invalid(field+".value", "not a finite number")
		}
	case CmpIn:
		if c.Crit == CritOedema {
			return invalid(field+".range", "oedema takes no op or range")
		}
		if math.IsNaN(c.Lo) || math.IsInf(c.Lo, 0) || math.IsNaN(c.Hi) || math.IsInf(c.Hi, 0) {
			return invalid(field+".range", "bounds must be finite numbers")
		}
		if !(c.Lo < c.Hi) {
			return invalid(field+".range", "lower bound must be below upper bound")
		}
	default:
		return invalid(field+".op", "unknown operator")
	}
	return nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func isSnakeName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
