package survey

import (
	"contigo/growth"
)

// Role is one of anthro_prevalence's optional groupings.
type Role uint8

// Role values, in the order anthro lists their rows.
const (
	TypeRes  Role = iota // type of residence, rows "Area: ..."
	GRegion              // geographical region, rows "Geographical region: ..."
	WealthQ              // wealth quintile, rows "Wealth quintile: Q1: Poorest" ...
	MotherEd             // mother's education, rows "Maternal education: ..."
	OtherGr              // any other grouping, rows "Other grouping: ..."
	NumRoles             // number of roles, not a role
)

var roleNames = [NumRoles]string{"typeres", "gregion", "wealthq", "mothered", "othergr"}
var roleLabels = [NumRoles]string{"Area", "Geographical region", "Wealth quintile", "Maternal education", "Other grouping"}

// String returns the role's anthro argument name, e.g. "typeres".
func (r Role) String() string {
	if r < NumRoles {
		return roleNames[r]
	}
	return "Role(?)"
}

// ParseRole returns the role named s (anthro's argument name) and whether
// there is one.
func ParseRole(s string) (Role, bool) {
	for i, n := range roleNames {
		if n == s {
			return Role(i), true
		}
	}
	return 0, false
}

// A Child is one row of a survey: the measurement, the design columns and
// the grouping values. Missing text is "".
type Child struct {
	// M holds sex, age, weight, length/height, position and oedema; its
	// other measurements are not used.
	M growth.Measurement
	// Cluster and Strata are the PSU and stratum ids ("" = missing; such a
	// row is dropped when the design uses the column).
	Cluster, Strata string
	// Weight is the sampling weight; NaN = missing (taken as 0, as anthro
	// does). Ignored when Input.Weighted is false.
	Weight float64
	// Groups holds the value of each optional grouping, "" = missing.
	Groups [NumRoles]string
	// Line is the row's line number in its file (for messages), or 0.
	Line int
	// Scores, when not nil, are the child's z-scores already computed by
	// growth.Assess (e.g. stored with a record), indexed by Index: M's
	// measurements are then not scored again; only its Sex, Age and
	// Oedema are used.
	Scores *[NumIndex]growth.Score
}

// Input is a survey: its children and which design columns and groupings
// were given.
type Input struct {
	Children   []Child
	Clustered  bool           // Child.Cluster is given: the survey method
	Stratified bool           // Child.Strata is given: the survey method
	Weighted   bool           // Child.Weight is given
	By         [NumRoles]bool // groupings to tabulate
}
