package nutrition

import (
	"fmt"
	"strconv"
	"time"
)

// Dimensions Indicators can group by; "" gives one row, group "all".
const (
	ByMonth     = "month"
	ByAdminArea = "admin_area"
	BySex       = "sex"
	ByAgeBand   = "age_band"
	ByPopGroup  = "population_group"
)

// An IndicatorRow holds the sector-lead indicators of nutrition-rules §8 for
// one group. Person counts count each person once per group: a child
// screened twice in a month is one child, counted in the worst class
// reached (severe and oedema may both apply, as in §3.1).
type IndicatorRow struct {
	Group string `json:"group"` // "2026-03", an admin area, a sex, an age band, or "all"

	ChildrenScreened int `json:"children_6_59m_screened"` // with MUAC and/or WHZ (or oedema present)
	ChildrenModerate int `json:"children_moderate_wasting"`
	ChildrenSevere   int `json:"children_severe_wasting"`
	ChildrenOedema   int `json:"children_nutritional_oedema"`
	InfantsAssessed  int `json:"infants_u6m_assessed"`
	InfantsAtRisk    int `json:"infants_u6m_at_risk"`
	PLWScreened      int `json:"plw_screened_muac"`
	PLWMalnourished  int `json:"plw_acute_malnutrition"`

	Admissions          map[string]int `json:"admissions"` // by programme, all admission types
	AdmissionsTotal     int            `json:"admissions_total"`
	ReturnsAfterDefault int            `json:"admissions_return_after_default"`
	Relapses            int            `json:"admissions_relapse"`
	TransfersIn         int            `json:"admissions_transfer_in"`

	ExitsSevere   ExitStats `json:"exits_severe"`   // otp and inpatient, against the Sphere SAM targets
	ExitsModerate ExitStats `json:"exits_moderate"` // tsfp, against the Sphere MAM death target

	FoodSupplement         int `json:"persons_food_supplement"`   // RUTF, RUSF or other SFF
	ChildrenMicronutrients int `json:"children_micronutrients"`   // vitamin A, MNP/LNS
	PLWMicronutrients      int `json:"plw_micronutrients"`        // IFA / MMS
	IYCFCounselling        int `json:"iycf_counselling"`          // caregivers counselled
	PLWCounselling         int `json:"plw_nutrition_counselling"` // women counselled
	ReferralsMade          int `json:"referrals_made"`            // events
	ReferralsCompleted     int `json:"referrals_completed"`       // events
}

// ExitStats are the exits by outcome of one programme group with the rates
// of §7. Exits is the rate denominator: every outcome except moved_unknown
// (reported separately) and, when the rule set says so,
// transferred_internal. Rates and comparisons are nil without exits.
type ExitStats struct {
	Exits               int `json:"exits"`
	Cured               int `json:"cured"`
	Died                int `json:"died"`
	Defaulted           int `json:"defaulted"`
	NonResponse         int `json:"non_response"`
	TransferredInternal int `json:"transferred_internal"`
	TransferredExternal int `json:"transferred_external"`
	MovedUnknown        int `json:"moved_unknown"`

	CureRate        *float64 `json:"cure_rate,omitempty"`
	DefaultRate     *float64 `json:"default_rate,omitempty"`
	DeathRate       *float64 `json:"death_rate,omitempty"`
	NonResponseRate *float64 `json:"non_response_rate,omitempty"`

	// Sphere minimum standards (strict): cure > 75 %, default < 15 %,
	// death < 10 % (severe) or < 3 % (moderate).
	MeetsCure    *bool `json:"meets_sphere_cure,omitempty"`
	MeetsDefault *bool `json:"meets_sphere_default,omitempty"`
	MeetsDeath   *bool `json:"meets_sphere_death,omitempty"`
}

// person bits counted once per person and group.
const (
	bitChildScreened = 1 << iota
	bitModerate
	bitSevere
	bitOedema
	bitInfantAssessed
	bitInfantAtRisk
	bitPLWScreened
	bitPLWMal
	bitFood
	bitChildMicro
	bitPLWMicro
	bitIYCF
	bitPLWCounsel
)

// Indicators computes the indicator rows over states for events dated in
// [from, to) (calendar dates), grouped by by (ByMonth, ByAdminArea, BySex,
// ByAgeBand, ByPopGroup, or "" for one row). Screening counts use assessments dated in
// the period, admissions the admission date, exits the outcome date, and
// interventions their date; rs gives the Sphere targets and the
// transferred_internal rule. Rows are sorted by group; with ByMonth every
// month of the period has a row. It returns a *records.FieldError for an
// unknown by or an empty period.
func Indicators(states []State, rs *RuleSet, from, to time.Time, by string) ([]IndicatorRow, error) {
	facts := make([]Facts, len(states))
	for i := range states {
		facts[i] = FactsOf(&states[i])
	}
	return IndicatorsOf(facts, rs, from, to, by)
}

// IndicatorsOf is Indicators over the Facts of the states (FactsOf, or
// ParseDigest of their stored Digests).
func IndicatorsOf(facts []Facts, rs *RuleSet, from, to time.Time, by string) ([]IndicatorRow, error) {
	t, err := NewTally(from, to, by)
	if err != nil {
		return nil, err
	}
	for i := range facts {
		t.Add(&facts[i])
	}
	return t.Rows(rs), nil
}

// screenBits returns the person bits assessment a sets.
func screenBits(a *Assessment) int {
	b := 0
	switch {
	case a.Subject == SubjectPLW:
		if a.MUACmm != nil {
			b |= bitPLWScreened
		}
		if a.PLW == ClassPLWMalnourished {
			b |= bitPLWMal
		}
	case a.AgeBand == AgeBandChild:
		if a.MUACmm != nil || a.Z.WHZ != nil || a.NutritionalOedema {
			b |= bitChildScreened
		}
		switch a.AnthroWasting {
		case ClassSevereWasting:
			b |= bitSevere
		case ClassModerateWasting:
			b |= bitModerate
		}
		if a.NutritionalOedema {
			b |= bitOedema
		}
	case a.AgeBand == AgeBandInfant:
		switch a.Infant {
		case ClassInfantNotAtRisk:
			b |= bitInfantAssessed
		case ClassInfantAtRisk, ClassInfantHighRisk:
			b |= bitInfantAssessed | bitInfantAtRisk
		}
	}
	return b
}

// addBits counts (sign 1) or uncounts (sign -1) one person with bits b.
func (r *IndicatorRow) addBits(b, sign int) {
	inc := func(bit int, n *int) {
		if b&bit != 0 {
			*n += sign
		}
	}
	inc(bitChildScreened, &r.ChildrenScreened)
	if b&(bitSevere|bitOedema) == 0 {
		inc(bitModerate, &r.ChildrenModerate) // worst class reached in the group
	}
	inc(bitSevere, &r.ChildrenSevere)
	inc(bitOedema, &r.ChildrenOedema)
	inc(bitInfantAssessed, &r.InfantsAssessed)
	inc(bitInfantAtRisk, &r.InfantsAtRisk)
	inc(bitPLWScreened, &r.PLWScreened)
	inc(bitPLWMal, &r.PLWMalnourished)
	inc(bitFood, &r.FoodSupplement)
	inc(bitChildMicro, &r.ChildrenMicronutrients)
	inc(bitPLWMicro, &r.PLWMicronutrients)
	inc(bitIYCF, &r.IYCFCounselling)
	inc(bitPLWCounsel, &r.PLWCounselling)
}

// count counts (sign 1) or uncounts (sign -1) one exit with outcome.
func (x *ExitStats) count(outcome string, sign int) {
	switch outcome {
	case OutcomeCured:
		x.Cured += sign
	case OutcomeDied:
		x.Died += sign
	case OutcomeDefaulted:
		x.Defaulted += sign
	case OutcomeNonResponse:
		x.NonResponse += sign
	case OutcomeTransferredInternal:
		x.TransferredInternal += sign
	case OutcomeTransferredExternal:
		x.TransferredExternal += sign
	case OutcomeMovedUnknown:
		x.MovedUnknown += sign
	}
}

// rates fills the denominator, rates and Sphere comparisons.
func (x *ExitStats) rates(rs *RuleSet, deathLT float64) {
	x.Exits = x.Cured + x.Died + x.Defaulted + x.NonResponse + x.TransferredExternal
	if !rs.ExcludeTransferredInternal {
		x.Exits += x.TransferredInternal
	}
	if x.Exits == 0 {
		return
	}
	rate := func(n int) *float64 { v := float64(n) / float64(x.Exits); return &v }
	x.CureRate, x.DefaultRate, x.DeathRate, x.NonResponseRate = rate(x.Cured), rate(x.Defaulted), rate(x.Died), rate(x.NonResponse)
	b := func(v bool) *bool { return &v }
	x.MeetsCure = b(*x.CureRate > rs.Sphere.CureGT)
	x.MeetsDefault = b(*x.DefaultRate < rs.Sphere.DefaultLT)
	x.MeetsDeath = b(*x.DeathRate < deathLT)
}

// grouper maps an event to its row.
type grouper struct {
	by     string
	rows   []*IndicatorRow
	byName map[string]int
	byMon  map[int]int
}

func newGrouper(by string) *grouper {
	return &grouper{by: by, byName: map[string]int{}, byMon: map[int]int{}}
}

// row returns the index of the row for an event on date d with the given
// admin area, sex, age band and population group, creating it.
func (g *grouper) row(d time.Time, area, sex, band, pop string) int {
	if g.by == ByMonth {
		y, m, _ := d.Date()
		k := y*12 + int(m) - 1
		if i, ok := g.byMon[k]; ok {
			return i
		}
		i := g.add(fmt.Sprintf("%04d-%02d", y, int(m)))
		g.byMon[k] = i
		return i
	}
	var name string
	switch g.by {
	case ByAdminArea:
		name = area
	case BySex:
		name = sex
	case ByAgeBand:
		name = band
	case ByPopGroup:
		name = pop
	default:
		name = "all"
	}
	if name == "" {
		name = "unknown"
	}
	if i, ok := g.byName[name]; ok {
		return i
	}
	i := g.add(name)
	g.byName[name] = i
	return i
}

func (g *grouper) add(name string) int {
	g.rows = append(g.rows, &IndicatorRow{Group: name, Admissions: map[string]int{}})
	return len(g.rows) - 1
}

// IndicatorColumns are the CSV column names of an IndicatorRow, in the order
// Record writes them.
var IndicatorColumns = []string{"group",
	"children_6_59m_screened", "children_moderate_wasting", "children_severe_wasting", "children_nutritional_oedema",
	"infants_u6m_assessed", "infants_u6m_at_risk", "plw_screened_muac", "plw_acute_malnutrition",
	"admissions_total", "admissions_otp", "admissions_inpatient", "admissions_tsfp", "admissions_mami", "admissions_followup",
	"admissions_return_after_default", "admissions_relapse", "admissions_transfer_in",
	"severe_exits", "severe_cured", "severe_died", "severe_defaulted", "severe_non_response",
	"severe_transferred_internal", "severe_transferred_external", "severe_moved_unknown",
	"severe_cure_rate", "severe_default_rate", "severe_death_rate", "severe_non_response_rate",
	"severe_meets_sphere_cure", "severe_meets_sphere_default", "severe_meets_sphere_death",
	"moderate_exits", "moderate_cured", "moderate_died", "moderate_defaulted", "moderate_non_response",
	"moderate_transferred_internal", "moderate_transferred_external", "moderate_moved_unknown",
	"moderate_cure_rate", "moderate_default_rate", "moderate_death_rate", "moderate_non_response_rate",
	"moderate_meets_sphere_cure", "moderate_meets_sphere_default", "moderate_meets_sphere_death",
	"persons_food_supplement", "children_micronutrients", "plw_micronutrients", "iycf_counselling",
	"plw_nutrition_counselling", "referrals_made", "referrals_completed"}

// Record returns the row as CSV fields in IndicatorColumns order; a missing
// rate or comparison is "".
func (r *IndicatorRow) Record() []string {
	i := strconv.Itoa
	out := []string{r.Group, i(r.ChildrenScreened), i(r.ChildrenModerate), i(r.ChildrenSevere), i(r.ChildrenOedema),
		i(r.InfantsAssessed), i(r.InfantsAtRisk), i(r.PLWScreened), i(r.PLWMalnourished), i(r.AdmissionsTotal)}
	for _, p := range anyProgs {
		out = append(out, i(r.Admissions[p]))
	}
	out = append(out, i(r.ReturnsAfterDefault), i(r.Relapses), i(r.TransfersIn))
	for _, x := range []*ExitStats{&r.ExitsSevere, &r.ExitsModerate} {
		out = append(out, i(x.Exits), i(x.Cured), i(x.Died), i(x.Defaulted), i(x.NonResponse),
			i(x.TransferredInternal), i(x.TransferredExternal), i(x.MovedUnknown),
			fmtRate(x.CureRate), fmtRate(x.DefaultRate), fmtRate(x.DeathRate), fmtRate(x.NonResponseRate),
			fmtBool(x.MeetsCure), fmtBool(x.MeetsDefault), fmtBool(x.MeetsDeath))
	}
	return append(out, i(r.FoodSupplement), i(r.ChildrenMicronutrients), i(r.PLWMicronutrients),
		i(r.IYCFCounselling), i(r.PLWCounselling), i(r.ReferralsMade), i(r.ReferralsCompleted))
}

func fmtRate(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}

func fmtBool(p *bool) string {
	if p == nil {
		return ""
	}
	return strconv.FormatBool(*p)
}
