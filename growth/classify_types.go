package growth

import (
	"strconv"
	"strings"
)

// The class enums below are small integers; String returns the snake_case
// names of shared/docs/nutrition-rules.md. Each zero value means "not applicable"
// (the class does not exist for the child's age band).

// enumName returns names[i], or "invalid(i)" when i is out of range.
func enumName(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "invalid(" + strconv.Itoa(i) + ")"
}

// enumParse returns the index of s in names, or -1.
func enumParse(names []string, s string) int {
	for i, n := range names {
		if n == s {
			return i
		}
	}
	return -1
}

// An AgeBand is the age group of nutrition-rules §1, by unrounded months.
type AgeBand uint8

const (
	AgeBandUnknown AgeBand = iota // age missing or negative
	AgeBandInfant                 // infant_u6m: months < 6
	AgeBandChild                  // child_6_59m: 6 ≤ months < 60
	AgeBandOver5                  // over_5: months ≥ 60
)

var ageBandNames = [...]string{"unknown", "infant_u6m", "child_6_59m", "over_5"}

// String returns "unknown", "infant_u6m", "child_6_59m" or "over_5".
func (b AgeBand) String() string { return enumName(ageBandNames[:], int(b)) }

// A WastingClass is the acute-malnutrition class of a child aged 6–59 months.
// Classes are ordered: a larger value is worse, except the first two.
type WastingClass uint8

const (
	WastingNA       WastingClass = iota // not_applicable
	WastingUnknown                      // unknown: no WHZ, no MUAC, no oedema
	WastingNone                         // not_wasted
	WastingModerate                     // moderate_wasting (former MAM)
	WastingSevere                       // severe_wasting (former SAM)
	WastingOedema                       // nutritional_oedema
	numWastingClasses
)

var wastingNames = [...]string{"not_applicable", "unknown", "not_wasted", "moderate_wasting",
	"severe_wasting", "nutritional_oedema"}

// String returns the class's snake_case name, e.g. "severe_wasting".
func (c WastingClass) String() string { return enumName(wastingNames[:], int(c)) }

// An InfantClass is the class of an infant under 6 months (WHO-2023 "at risk
// of poor growth and development"; nutrition-rules §3.2).
type InfantClass uint8

const (
	InfantNA        InfantClass = iota // not_applicable
	InfantUnknown                      // unknown: no WAZ/WLZ and no rule fired
	InfantNotAtRisk                    // infant_not_at_risk_anthropometric
	InfantAtRisk                       // infant_at_risk
	InfantHighRisk                     // high_risk_anthropometry (also at risk)
)

var infantNames = [...]string{"not_applicable", "unknown", "infant_not_at_risk_anthropometric",
	"infant_at_risk", "high_risk_anthropometry"}

// String returns the class's snake_case name.
func (c InfantClass) String() string { return enumName(infantNames[:], int(c)) }

// AtRisk reports whether the infant is at risk (high risk included).
func (c InfantClass) AtRisk() bool { return c == InfantAtRisk || c == InfantHighRisk }

// A Severity is the stunting or underweight class of a child under 5.
type Severity uint8

const (
	SeverityNA       Severity = iota // not_applicable
	SeverityUnknown                  // indicator missing
	SeverityNone                     // none
	SeverityModerate                 // moderate
	SeveritySevere                   // severe
)

var severityNames = [...]string{"not_applicable", "unknown", "none", "moderate", "severe"}

// String returns "not_applicable", "unknown", "none", "moderate" or "severe".
func (s Severity) String() string { return enumName(severityNames[:], int(s)) }

// A WeightClass is the overweight class of a child under 5 (by WHZ, else BAZ).
type WeightClass uint8

const (
	WeightNA           WeightClass = iota // not_applicable
	WeightUnknown                         // unknown: neither WHZ nor BAZ
	WeightNone                            // not_overweight
	WeightPossibleRisk                    // possible_risk_of_overweight
	WeightOverweight                      // overweight
	WeightObesity                         // obesity
)

var weightNames = [...]string{"not_applicable", "unknown", "not_overweight",
	"possible_risk_of_overweight", "overweight", "obesity"}

// String returns the class's snake_case name.
func (c WeightClass) String() string { return enumName(weightNames[:], int(c)) }

// A Criterion is the indicator a rule looks at.
type Criterion uint8

const (
	critInvalid    Criterion = iota
	CritWHZ                  // whz: weight-for-length/height z (WLZ under 2 years)
	CritWAZ                  // waz: weight-for-age z
	CritHAZ                  // haz: length/height-for-age z
	CritBAZ                  // baz: BMI-for-age z
	CritWHZElseBAZ           // whz_else_baz: WHZ when available, else BAZ
	CritMUAC                 // muac_mm: MUAC in mm
	CritOedema               // oedema: bilateral pitting oedema present
	numCriteria
)

var critNames = [...]string{"invalid", "whz", "waz", "haz", "baz", "whz_else_baz", "muac_mm", "oedema"}

// String returns the criterion's name as written in rules JSON, e.g. "muac_mm".
func (c Criterion) String() string { return enumName(critNames[:], int(c)) }

func (c Criterion) bit() Criteria {
	if c == CritWHZElseBAZ {
		return 1<<CritWHZ | 1<<CritBAZ
	}
	return 1 << c
}

// Criteria is a set of criteria, e.g. the ones that fired for a class.
type Criteria uint16

// Has reports whether c is in the set.
func (s Criteria) Has(c Criterion) bool { return s&(1<<c) != 0 }

// Append appends the set's names joined by "+" (e.g. "whz+muac_mm"), in
// criterion order, to dst.
func (s Criteria) Append(dst []byte) []byte {
	first := true
	for c := CritWHZ; c < numCriteria; c++ {
		if s.Has(c) {
			if !first {
				dst = append(dst, '+')
			}
			dst = append(dst, critNames[c]...)
			first = false
		}
	}
	return dst
}

// String returns the names joined by "+", or "" for the empty set.
func (s Criteria) String() string { return string(s.Append(nil)) }

// A CmpOp is the comparison of a Cond.
type CmpOp uint8

const (
	CmpNone CmpOp = iota // oedema criteria only: fires when oedema is present
	CmpLT                // <
	CmpLE                // <=
	CmpGT                // >
	CmpGE                // >=
	CmpIn                // in a range, e.g. [a,b)
)

var cmpNames = [...]string{"", "<", "<=", ">", ">=", "in"}

// String returns "<", "<=", ">", ">=", "in" or "".
func (o CmpOp) String() string { return enumName(cmpNames[:], int(o)) }

// A Cond is one criterion: an indicator compared with a value or a range.
// With Op == CmpIn the range is Lo..Hi; the zero LoOpen/HiClosed give the
// half-open [Lo,Hi), i.e. Lo ≤ x < Hi.
type Cond struct {
	Crit     Criterion
	Op       CmpOp
	Value    float64 // for <, <=, >, >=
	Lo, Hi   float64 // for CmpIn
	LoOpen   bool    // "(" instead of "["
	HiClosed bool    // "]" instead of ")"

	// MinAgeDays, when > 0, makes the criterion apply only from that age
	// (integer days as anthro rounds them), e.g. MUAC from 42 days.
	MinAgeDays int
}

// String formats the condition as "muac_mm < 115", "whz in [-3,-2)" or "oedema".
func (c Cond) String() string {
	var b strings.Builder
	b.WriteString(c.Crit.String())
	switch c.Op {
	case CmpNone:
	case CmpIn:
		b.WriteString(" in ")
		b.WriteString(c.rangeText())
	default:
		b.WriteString(" " + c.Op.String() + " " + fmtNum(c.Value))
	}
	if c.MinAgeDays > 0 {
		b.WriteString(" from " + strconv.Itoa(c.MinAgeDays) + " days")
	}
	return b.String()
}

func (c Cond) rangeText() string {
	lb, rb := "[", ")"
	if c.LoOpen {
		lb = "("
	}
	if c.HiClosed {
		rb = "]"
	}
	return lb + fmtNum(c.Lo) + "," + fmtNum(c.Hi) + rb
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
