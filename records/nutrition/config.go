package nutrition

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"contigo/growth"
	"contigo/records"
)

// A RuleSet is one country's nutrition configuration (nutrition-rules §5):
// the classification thresholds (a growth.Rules), exit criteria, follow-up
// intervals, the default rule, Sphere targets, data-quality bounds and alert
// options. Build one with DefaultRuleSet or ParseRuleSet; a RuleSet is
// read-only once built and may be shared by goroutines.
type RuleSet struct {
	Name          string // rule set, e.g. "who-2023"; equals Classification.Name
	Version       string // equals Classification.Version
	Country       string // ISO 3166-1 alpha-2, "" for the regional default
	ConfigVersion string // version of the country file, e.g. "2026-11-01"; optional
	Description   string // free text, e.g. sources and caveats

	// Classification holds every classification threshold (§3, §4).
	Classification growth.Rules

	Exit ExitRules

	// LactationMonths is how long after delivery a woman counts as
	// lactating for the PLW rule (§4: 6 months [design]).
	LactationMonths int

	// FollowUpDays is the visit interval per programme (§7), plus
	// "inpatient_post_discharge_first" and "risk"; 0 means no scheduled
	// visits (inpatient care is daily).
	FollowUpDays map[string]int

	// FollowUpRiskBands are national extra bands
	// (Classification.Child.ExtraBands, e.g. co_risk_acute_malnutrition)
	// whose children, while in a followup episode, are seen every
	// FollowUpDays["risk"] days instead of FollowUpDays["followup"]
	// (Colombia: fortnightly for children at risk). Empty: no risk interval.
	FollowUpRiskBands []string

	// FollowUpVisits is how many visits after admission end a followup
	// episode (§7 "30 days × 3" [design]): the last one closes it as cured.
	FollowUpVisits int

	MissedVisitGraceDays     int // a visit is missed when due + grace passes
	DefaultAfterMissedVisits int // the N-th consecutive miss closes the episode as defaulted
	RelapseMonths            int // a new admission this soon after a cured exit is a relapse

	Sphere SphereTargets

	// ExcludeTransferredInternal leaves transferred_internal exits out of the
	// rate denominators (§7 config flag).
	ExcludeTransferredInternal bool

	DataQuality DataQuality
	Alerts      AlertOptions
}

// Ref returns the rule reference stored with every result; ruleID names the
// rule that fired (e.g. "child.wasting").
func (rs *RuleSet) Ref(ruleID string) RuleRef {
	return RuleRef{RuleSet: rs.Name, Version: rs.Version, Country: rs.Country, ConfigVersion: rs.ConfigVersion, RuleID: ruleID}
}

// Exit rule sets (§7): ExitWHO2023 judges recovery on every measured
// indicator; ExitWHO2013 on the admitting indicator only, with oedema absent
// for OedemaFreeDays2013 days.
const (
	ExitWHO2023 = "who-2023"
	ExitWHO2013 = "who-2013"
)

// OedemaFreeDays2013 is how long oedema must have been recorded absent for a
// cure under ExitWHO2013 ("no oedema for at least 2 weeks", WHO-2013).
const OedemaFreeDays2013 = 14

// ExitRules are the discharge criteria of §7.
type ExitRules struct {
	// RuleSet selects how Severe and Moderate are read: ExitWHO2023 (or
	// "") or ExitWHO2013.
	RuleSet string

	Severe   ExitCriteria // otp and inpatient episodes
	Moderate ExitCriteria // tsfp episodes of children
	Infant   ExitCriteria // mami episodes: consecutive visits not at risk
	PLW      ExitCriteria // tsfp episodes of women: consecutive visits not malnourished

	MaxWeeksSevere   int // otp, inpatient: non_response after this stay
	MaxWeeksModerate int // tsfp, mami
}

// ExitCriteria must hold on ConsecutiveVisits consecutive visits for a cure.
type ExitCriteria struct {
	AllOf             []Threshold // each where measured; at least one must be measured
	OedemaAbsent      bool        // oedema recorded absent (not_assessed does not count)
	ConsecutiveVisits int
}

// A Threshold is an exit target such as "whz >= -2".
type Threshold struct {
	Indicator string // "whz", "waz" or "muac_mm"
	Op        string // "<", "<=", ">", ">="
	Value     float64
}

// String returns the threshold as written in JSON, e.g. "whz >= -2".
func (t Threshold) String() string {
	return t.Indicator + " " + t.Op + " " + strconv.FormatFloat(t.Value, 'g', -1, 64)
}

func (t Threshold) test(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	}
	return false
}

// SphereTargets are the minimum standards rates are compared with (§7;
// strict comparisons).
type SphereTargets struct {
	CureGT        float64 // cure rate must exceed this
	DefaultLT     float64 // default rate must stay below this
	DeathLTSevere float64 // death rate, severe wasting programmes
	DeathLTMod    float64 // death rate, moderate wasting programmes [UNVERIFIED]
}

// A Bounds is an inclusive [Min, Max] range of accepted values.
type Bounds struct{ Min, Max float64 }

func (b Bounds) contains(v float64) bool { return v >= b.Min && v <= b.Max }

// DataQuality holds the reject bounds and plausibility rules of §6.
type DataQuality struct {
	ChildWeightKg, ChildLengthCm, ChildMUACmm, ChildHeadCm Bounds // hard bounds, child
	PLWMUACmm, PLWWeightKg                                 Bounds // hard bounds, PLW

	FutureSkewDays int // a visit more than this many days ahead is rejected (1)

	LengthDecreaseCm float64 // † length/height decrease beyond this (1.0 cm)
	WeightChangePct  float64 // † weight change beyond this percentage...
	WeightChangeDays int     // ...within this many days (20 %, 14 days)
	MUACChangeMM     int     // † MUAC change beyond this...
	MUACChangeDays   int     // ...within this many days (15 mm, 14 days)

	// Terminal-digit heaping (§6, Heaping): warn when more than
	// HeapingShareGT of a measurer's values of one variable at a site end
	// in .0/.5 (weight, length) or 0/5 mm (MUAC), over at least
	// HeapingMinRecords values (0.40 over 50 [design]).
	HeapingShareGT    float64
	HeapingMinRecords int
}

// AlertOptions tune the alert rules of §8.
type AlertOptions struct {
	DeteriorationMUACDropMM int // MUAC fall that is a deterioration (5 mm [design])
	// ExtraBandAlerts maps a national extra band (Classification.Child.ExtraBands)
	// to the severity of the alert it raises; the alert's kind is the band's
	// name. Bands not listed raise no alert.
	ExtraBandAlerts map[string]string
}

// DefaultRuleSet returns "who-2023" version "1": growth.DefaultRules for the
// classification and the defaults of nutrition-rules §5–§8. Each call returns
// a fresh copy. The same rule set as JSON is testdata/who-2023.json.
func DefaultRuleSet() *RuleSet {
	cls := growth.DefaultRules()
	whz := Threshold{"whz", ">=", -2}
	muac := Threshold{"muac_mm", ">=", 125}
	return &RuleSet{
		Name:           cls.Name,
		Version:        cls.Version,
		Classification: cls,
		Exit: ExitRules{
			RuleSet:          ExitWHO2023,
			Severe:           ExitCriteria{AllOf: []Threshold{whz, muac}, OedemaAbsent: true, ConsecutiveVisits: 2},
			Moderate:         ExitCriteria{AllOf: []Threshold{whz, muac}, ConsecutiveVisits: 2},
			Infant:           ExitCriteria{ConsecutiveVisits: 2},
			PLW:              ExitCriteria{ConsecutiveVisits: 2},
			MaxWeeksSevere:   16,
			MaxWeeksModerate: 16,
		},
		LactationMonths: 6,
		FollowUpDays: map[string]int{
			ProgrammeOTP: 7, ProgrammeTSFP: 14, ProgrammeMAMI: 14, ProgrammeFollowUp: 30,
			ProgrammeInpatient: 0, "inpatient_post_discharge_first": 5, "risk": 15,
		},
		FollowUpVisits:           3,
		MissedVisitGraceDays:     3,
		DefaultAfterMissedVisits: 2,
		RelapseMonths:            6,
		Sphere:                   SphereTargets{CureGT: 0.75, DefaultLT: 0.15, DeathLTSevere: 0.10, DeathLTMod: 0.03},
		DataQuality: DataQuality{
			ChildWeightKg: Bounds{0.9, 58}, ChildLengthCm: Bounds{38, 150},
			ChildMUACmm: Bounds{70, 250}, ChildHeadCm: Bounds{25, 60},
			PLWMUACmm: Bounds{120, 500}, PLWWeightKg: Bounds{25, 250},
			FutureSkewDays:   1,
			LengthDecreaseCm: 1.0, WeightChangePct: 20, WeightChangeDays: 14,
			MUACChangeMM: 15, MUACChangeDays: 14,
			HeapingShareGT: 0.40, HeapingMinRecords: 50,
		},
		Alerts: AlertOptions{DeteriorationMUACDropMM: 5, ExtraBandAlerts: map[string]string{}},
	}
}

// A ConfigError reports a rule-set field that is wrong and why. Kind is
// records.ErrMalformed (not JSON of the right shape) or records.ErrInvalid
// (a value breaks a rule); errors.Is matches it.
type ConfigError struct {
	File   string // file name, or ""
	Field  string // JSON path, e.g. "plw.muac.op"; "" for the whole document
	Reason string
	Kind   error
}

// Error returns "nutrition rule set FILE: FIELD: REASON".
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("nutrition rule set")
	if e.File != "" {
		b.WriteString(" " + e.File)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the error kind.
func (e *ConfigError) Unwrap() error { return e.Kind }

func cfgInvalid(field, reason string) error {
	return &ConfigError{Field: field, Reason: reason, Kind: records.ErrInvalid}
}

// fromRulesError converts growth's error into a ConfigError.
func fromRulesError(err error) error {
	var re *growth.RulesError
	if errors.As(err, &re) {
		kind := records.ErrInvalid
		if errors.Is(err, growth.ErrRulesMalformed) {
			kind = records.ErrMalformed
		}
		return &ConfigError{Field: re.Field, Reason: re.Reason, Kind: kind}
	}
	return &ConfigError{Reason: err.Error(), Kind: records.ErrInvalid}
}

var knownFollowUp = []string{ProgrammeOTP, ProgrammeTSFP, ProgrammeMAMI, ProgrammeFollowUp,
	ProgrammeInpatient, "inpatient_post_discharge_first", "risk"}

// Validate checks the whole rule set. It returns a *ConfigError matching
// records.ErrInvalid that names the first bad field.
func (rs *RuleSet) Validate() error {
	if err := rs.Classification.Validate(); err != nil {
		return fromRulesError(err)
	}
	if rs.Name != rs.Classification.Name || rs.Version != rs.Classification.Version || rs.Country != rs.Classification.Country {
		return cfgInvalid("name", "does not match the classification rules' name, version or country")
	}
	exits := []struct {
		field string
		e     *ExitCriteria
	}{
		{"child.exit.severe", &rs.Exit.Severe}, {"child.exit.moderate", &rs.Exit.Moderate},
		{"infant_u6m.exit", &rs.Exit.Infant}, {"plw.exit", &rs.Exit.PLW},
	}
	for _, x := range exits {
		if x.e.ConsecutiveVisits < 1 || x.e.ConsecutiveVisits > 10 {
			return cfgInvalid(x.field+".consecutive_visits", "must be 1 to 10")
		}
		for i, t := range x.e.AllOf {
			f := x.field + ".all_of[" + strconv.Itoa(i) + "]"
			switch t.Indicator {
			case "whz", "waz", "muac_mm":
			default:
				return cfgInvalid(f, "indicator must be whz, waz or muac_mm")
			}
			switch t.Op {
			case "<", "<=", ">", ">=":
			default:
				return cfgInvalid(f, "op must be one of <, <=, >, >=")
			}
			if !finite(t.Value) {
				return cfgInvalid(f, "value must be a finite number")
			}
		}
	}
	if rs.Exit.RuleSet != ExitWHO2023 && rs.Exit.RuleSet != ExitWHO2013 {
		return cfgInvalid("child.exit.ruleset", "must be who-2023 or who-2013")
	}
	if rs.Exit.MaxWeeksSevere < 1 || rs.Exit.MaxWeeksSevere > 104 {
		return cfgInvalid("child.exit.max_weeks.severe", "must be 1 to 104")
	}
	if rs.Exit.MaxWeeksModerate < 1 || rs.Exit.MaxWeeksModerate > 104 {
		return cfgInvalid("child.exit.max_weeks.moderate", "must be 1 to 104")
	}
	if rs.LactationMonths < 1 || rs.LactationMonths > 36 {
		return cfgInvalid("plw.lactation_months", "must be 1 to 36")
	}
	for k, v := range rs.FollowUpDays {
		if !contains(knownFollowUp, k) {
			return cfgInvalid("followup_days."+k, "unknown programme")
		}
		if v < 0 || v > 365 {
			return cfgInvalid("followup_days."+k, "must be 0 to 365")
		}
	}
	for _, p := range []string{ProgrammeOTP, ProgrammeTSFP, ProgrammeMAMI, ProgrammeFollowUp} {
		if rs.FollowUpDays[p] < 1 {
			return cfgInvalid("followup_days."+p, "missing or not positive")
		}
	}
	switch {
	case rs.FollowUpVisits < 1 || rs.FollowUpVisits > 24:
		return cfgInvalid("followup_visits", "must be 1 to 24")
	case rs.MissedVisitGraceDays < 0 || rs.MissedVisitGraceDays > 60:
		return cfgInvalid("missed_visit_grace_days", "must be 0 to 60")
	case rs.DefaultAfterMissedVisits < 1 || rs.DefaultAfterMissedVisits > 10:
		return cfgInvalid("default_after_missed_visits", "must be 1 to 10")
	case rs.RelapseMonths < 0 || rs.RelapseMonths > 60:
		return cfgInvalid("relapse_months", "must be 0 to 60")
	}
	for _, t := range []struct {
		f string
		v float64
	}{
		{"sphere_targets.cure_gt", rs.Sphere.CureGT}, {"sphere_targets.default_lt", rs.Sphere.DefaultLT},
		{"sphere_targets.death_lt_sam", rs.Sphere.DeathLTSevere}, {"sphere_targets.death_lt_mam", rs.Sphere.DeathLTMod},
	} {
		if !(t.v > 0 && t.v < 1) {
			return cfgInvalid(t.f, "must be a fraction between 0 and 1")
		}
	}
	if err := rs.DataQuality.validate(); err != nil {
		return err
	}
	if rs.Alerts.DeteriorationMUACDropMM < 1 {
		return cfgInvalid("alerts.deterioration_muac_drop_mm", "must be at least 1")
	}
	for i, band := range rs.FollowUpRiskBands {
		found := false
		for _, b := range rs.Classification.Child.ExtraBands {
			found = found || b.Name == band
		}
		if !found {
			return cfgInvalid("followup_risk_bands["+strconv.Itoa(i)+"]", "not a band of child.extra_bands")
		}
	}
	if len(rs.FollowUpRiskBands) > 0 && rs.FollowUpDays["risk"] < 1 {
		return cfgInvalid("followup_days.risk", "missing or not positive, but followup_risk_bands is set")
	}
	for band, sev := range rs.Alerts.ExtraBandAlerts {
		found := false
		for _, b := range rs.Classification.Child.ExtraBands {
			found = found || b.Name == band
		}
		if !found {
			return cfgInvalid("alerts.extra_band_alerts."+band, "not a band of child.extra_bands")
		}
		if severityRank(sev) == 0 {
			return cfgInvalid("alerts.extra_band_alerts."+band, "severity must be low, medium, high or critical")
		}
	}
	return nil
}

func (d *DataQuality) validate() error {
	for _, b := range []struct {
		f string
		b Bounds
	}{
		{"data_quality.hard_bounds.child.weight_kg", d.ChildWeightKg},
		{"data_quality.hard_bounds.child.length_cm", d.ChildLengthCm},
		{"data_quality.hard_bounds.child.muac_mm", d.ChildMUACmm},
		{"data_quality.hard_bounds.child.head_circumference_cm", d.ChildHeadCm},
		{"data_quality.hard_bounds.plw.muac_mm", d.PLWMUACmm},
		{"data_quality.hard_bounds.plw.weight_kg", d.PLWWeightKg},
	} {
		if !finite(b.b.Min) || !finite(b.b.Max) || !(b.b.Min > 0 && b.b.Min < b.b.Max) {
			return cfgInvalid(b.f, "must be [min, max] with 0 < min < max")
		}
	}
	switch {
	case d.FutureSkewDays < 0 || d.FutureSkewDays > 7:
		return cfgInvalid("data_quality.future_skew_days", "must be 0 to 7")
	case !finite(d.LengthDecreaseCm) || d.LengthDecreaseCm <= 0:
		return cfgInvalid("data_quality.plausibility.length_decrease_cm", "must be positive")
	case !finite(d.WeightChangePct) || d.WeightChangePct <= 0:
		return cfgInvalid("data_quality.plausibility.weight_change_pct", "must be positive")
	case d.WeightChangeDays < 1:
		return cfgInvalid("data_quality.plausibility.weight_change_days", "must be at least 1")
	case d.MUACChangeMM < 1:
		return cfgInvalid("data_quality.plausibility.muac_change_mm", "must be at least 1")
	case d.MUACChangeDays < 1:
		return cfgInvalid("data_quality.plausibility.muac_change_days", "must be at least 1")
	case !(d.HeapingShareGT > 0 && d.HeapingShareGT < 1):
		return cfgInvalid("data_quality.heaping.share_gt", "must be a fraction between 0 and 1")
	case d.HeapingMinRecords < 1:
		return cfgInvalid("data_quality.heaping.min_records", "must be at least 1")
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func severityRank(s string) int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}
