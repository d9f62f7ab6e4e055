package nutrition

import "time"

// Enumerated values travel as strings so that a value outside the set (from a
// client) can be represented, rejected by Validate, and stored readably.

// Subject kinds: whose measurement it is.
const (
	SubjectChild = "child" // a child (the default when Subject is "")
	SubjectPLW   = "plw"   // a pregnant or lactating woman
)

// Sexes. "" means not recorded.
const (
	SexMale    = "male"
	SexFemale  = "female"
	SexUnknown = "unknown"
)

// Birth-date precisions (nutrition-rules §1). "" means PrecisionDay.
const (
	PrecisionDay   = "day"
	PrecisionMonth = "month" // day unknown: day 15 is used
	PrecisionYear  = "year"  // month and day unknown: 1 July is used
)

// Length/height positions. "" means PositionUnknown.
const (
	PositionLying    = "lying"
	PositionStanding = "standing"
	PositionUnknown  = "unknown"
)

// Oedema findings (bilateral pitting oedema). "" means not recorded, which is
// treated as not assessed.
const (
	OedemaAbsent       = "absent"
	OedemaPlus         = "+"
	OedemaPlusPlus     = "++"
	OedemaPlusPlusPlus = "+++"
	OedemaNotAssessed  = "not_assessed"
)

// Pregnancy and lactation statuses of a woman at the measurement date.
const (
	StatusPregnant  = "pregnant"
	StatusLactating = "lactating"
)

// Clinical and feeding criteria of infants under 6 months (§3.2:
// "recent weight loss or no weight gain, ineffective breastfeeding, medical
// or social problems"); each makes the infant at risk.
const (
	InfantWeightFaltering          = "weight_faltering"          // recent weight loss or no weight gain
	InfantIneffectiveBreastfeeding = "ineffective_breastfeeding" // as assessed by the health worker
	InfantMedicalProblem           = "medical_problem"           // a medical problem needing attention
	InfantSocialProblem            = "social_problem"            // e.g. a caregiver unable to care
)

// InfantCriterionCodes lists the InfantCriteria codes in their canonical
// order.
var InfantCriterionCodes = []string{InfantWeightFaltering, InfantIneffectiveBreastfeeding, InfantMedicalProblem, InfantSocialProblem}

// A Measurement is one person measured once, as the integration layer reads
// it from FHIR Observations. A pointer field that is nil was not measured.
type Measurement struct {
	ID        string    // opaque id of the measurement (e.g. the weight Observation's id)
	Date      time.Time // visit date; only the calendar date counts
	Subject   string    // SubjectChild ("" means child) or SubjectPLW
	Sex       string    // SexMale, SexFemale, SexUnknown or ""
	BirthDate time.Time // zero if unknown
	// BirthPrecision says how much of BirthDate is known: PrecisionDay
	// (or ""), PrecisionMonth or PrecisionYear.
	BirthPrecision string

	WeightKg   *float64 // body weight, kg
	LengthCm   *float64 // length or height as measured, cm
	Position   string   // PositionLying, PositionStanding, PositionUnknown or ""
	HeadCircCm *float64 // head circumference, cm
	MUACmm     *int     // mid-upper arm circumference, whole mm
	Oedema     string   // OedemaAbsent, OedemaPlus... or OedemaNotAssessed; "" = not recorded

	// TricepsMm and SubscapularMm are the skinfolds, mm (z-scores only:
	// no class depends on them).
	TricepsMm, SubscapularMm *float64

	// InfantCriteria are the clinical and feeding criteria that make an
	// infant under 6 months at risk (§3.2), recorded as coded observations:
	// InfantWeightFaltering, InfantIneffectiveBreastfeeding,
	// InfantMedicalProblem, InfantSocialProblem.
	InfantCriteria []string

	// PLWStatus is StatusPregnant or StatusLactating at Date, required with
	// a woman's MUAC; DeliveryDate (optional) bounds the lactation window.
	PLWStatus    string
	DeliveryDate time.Time

	Site            string // site or mobile unit id
	AdminArea       string // administrative area code
	PopulationGroup string // e.g. "in_transit", "in_destination", "host"
	// Measurer identifies who measured (e.g. a Practitioner reference), for
	// the terminal-digit heaping review (§6); "" if not recorded.
	Measurer string
}

// F returns a pointer to v, for building Measurements.
func F(v float64) *float64 { return &v }

// MM returns a pointer to v, for Measurement.MUACmm.
func MM(v int) *int { return &v }

// A RuleRef names the rule set that produced a result.
type RuleRef struct {
	RuleSet       string `json:"ruleset"`
	Version       string `json:"version"`
	Country       string `json:"country,omitempty"`
	ConfigVersion string `json:"country_config_version,omitempty"`
	RuleID        string `json:"rule_id,omitempty"` // e.g. "child.wasting", "plw.muac"
}

// ZScores holds the z-scores of one assessment, rounded to 2 decimals as
// anthro does; nil means not computed.
type ZScores struct {
	WAZ *float64 `json:"waz,omitempty"` // weight-for-age
	HAZ *float64 `json:"haz,omitempty"` // length/height-for-age
	WHZ *float64 `json:"whz,omitempty"` // weight-for-length/height
	BAZ *float64 `json:"baz,omitempty"` // BMI-for-age
	HCZ *float64 `json:"hcz,omitempty"` // head circumference-for-age
	ACZ *float64 `json:"acz,omitempty"` // MUAC-for-age
	TSZ *float64 `json:"tsz,omitempty"` // triceps skinfold-for-age
	SSZ *float64 `json:"ssz,omitempty"` // subscapular skinfold-for-age
}

// Data-quality flag codes carried by Assessment.Flags. The ones for which
// Implausible reports true raise implausible_measurement (the † rules of §6).
const (
	FlagWAZ              = "waz_implausible"           // † WAZ < -6 or > +5
	FlagHAZ              = "haz_implausible"           // † HAZ < -6 or > +6
	FlagWHZ              = "whz_implausible"           // † WHZ < -5 or > +5
	FlagBAZ              = "baz_implausible"           // † BAZ < -5 or > +5
	FlagHCZ              = "hcz_implausible"           // † HCZ < -5 or > +5
	FlagACZ              = "acz_implausible"           // † MUAC-for-age z < -5 or > +5
	FlagTSZ              = "tsz_implausible"           // † triceps skinfold-for-age z < -5 or > +5
	FlagSSZ              = "ssz_implausible"           // † subscapular skinfold-for-age z < -5 or > +5
	FlagLengthDecrease   = "length_decrease"           // † length/height fell by more than allowed
	FlagWeightChange     = "weight_change"             // † weight changed by more than allowed
	FlagMUACChange       = "muac_change"               // † MUAC changed by more than allowed
	FlagSexMissing       = "sex_missing"               // no z-scores
	FlagOver5            = "age_over_5"                // no WHO-GS-2006 z-scores or wasting class
	FlagAgeUnknown       = "age_unknown"               // no birth date
	FlagApproximateAge   = "approximate_age"           // birth date not known to the day
	FlagAgeBandEdge      = "approximate_age_band_edge" // approximate age within 15 days of 6 or 60 months
	FlagStandingUnder9m  = "standing_under_9_months"   // position treated as missing
	FlagPositionMismatch = "position_age_mismatch"     // ±0.7 cm adjustment applied
	FlagNoWHZRange       = "length_outside_whz_tables" // length/height outside 45–110 / 65–120 cm
	FlagOedemaNotAssess  = "oedema_not_assessed"       // exit as cured needs an absent finding
)

// Implausible reports whether flag is one of the † rules of §6 that raise an
// implausible_measurement alert.
func Implausible(flag string) bool {
	switch flag {
	case FlagWAZ, FlagHAZ, FlagWHZ, FlagBAZ, FlagHCZ, FlagACZ, FlagTSZ, FlagSSZ,
		FlagLengthDecrease, FlagWeightChange, FlagMUACChange:
		return true
	}
	return false
}

// Classes (nutrition-rules §3, §4). Classification holds the headline class
// of an assessment, one of these.
const (
	ClassNotApplicable      = "not_applicable" // e.g. a child of 60 months or more
	ClassUnknown            = "unknown"
	ClassNotWasted          = "not_wasted"
	ClassModerateWasting    = "moderate_wasting"
	ClassSevereWasting      = "severe_wasting"
	ClassNutritionalOedema  = "nutritional_oedema"
	ClassInfantNotAtRisk    = "infant_not_at_risk_anthropometric"
	ClassInfantAtRisk       = "infant_at_risk"
	ClassInfantHighRisk     = "high_risk_anthropometry" // at risk, and high risk
	ClassPLWNotMalnourished = "plw_not_acutely_malnourished"
	ClassPLWMalnourished    = "plw_acute_malnutrition"
)

// Age bands (nutrition-rules §1), plus AgeBandPLW for women.
const (
	AgeBandUnknown = "unknown"
	AgeBandInfant  = "infant_u6m"
	AgeBandChild   = "child_6_59m"
	AgeBandOver5   = "over_5"
	AgeBandPLW     = "plw"
)

// An Assessment is what Assess derived from one Measurement. It is stored
// with the record and never rewritten when the configuration changes.
type Assessment struct {
	MeasurementID string    `json:"measurement_id"`
	Date          time.Time `json:"date"`
	InputHash     string    `json:"input_hash"` // fingerprint of the measurement, to spot corrections
	// RecordedAt is when the measurement was first applied (set by Apply);
	// a replay orders the events of one day by it.
	RecordedAt time.Time `json:"recorded_at,omitzero"`
	Subject    string    `json:"subject"`
	Sex        string    `json:"sex,omitempty"`

	HasAge      bool    `json:"has_age"`
	AgeDays     int     `json:"age_days"`
	AgeMonths   float64 `json:"age_months"` // unrounded
	Approximate bool    `json:"approximate,omitempty"`
	AgeBand     string  `json:"age_band"`

	// Values as measured, copied for triggers and change-since-previous rules.
	WeightKg       *float64 `json:"weight_kg,omitempty"`
	LengthCm       *float64 `json:"length_cm,omitempty"`
	AdjLengthCm    *float64 `json:"adjusted_length_cm,omitempty"` // after the ±0.7 cm position correction
	MUACmm         *int     `json:"muac_mm,omitempty"`
	Oedema         string   `json:"oedema,omitempty"`
	OedemaAssessed bool     `json:"oedema_assessed"`
	// PLWStatus and DeliveryDate are a woman's status as measured; the
	// delivery date bounds the lactation window that ends a PLW episode.
	PLWStatus    string    `json:"plw_status,omitempty"`
	DeliveryDate time.Time `json:"delivery_date,omitzero"`

	Z ZScores `json:"z"`

	Classification    string   `json:"classification"`           // headline class
	Wasting           string   `json:"wasting,omitempty"`        // 6–59 m: worst of oedema, WHZ and MUAC
	AnthroWasting     string   `json:"anthro_wasting,omitempty"` // 6–59 m: by WHZ and MUAC only
	NutritionalOedema bool     `json:"nutritional_oedema,omitempty"`
	Infant            string   `json:"infant,omitempty"` // < 6 m class
	PLW               string   `json:"plw,omitempty"`    // woman's class
	Stunting          string   `json:"stunting,omitempty"`
	Underweight       string   `json:"underweight,omitempty"`
	Overweight        string   `json:"overweight,omitempty"`
	ExtraBand         string   `json:"extra_band,omitempty"` // national band, e.g. co_risk_acute_malnutrition
	Criteria          []string `json:"criteria,omitempty"`   // indicators that fired, e.g. ["muac_mm"]
	// InfantCriteria are the clinical/feeding criteria recorded for an
	// infant (< 6 m; canonical order); present ones are also in Criteria.
	InfantCriteria []string `json:"infant_criteria,omitempty"`

	Flags       []string `json:"flags,omitempty"` // data-quality flags (Flag* codes)
	Implausible bool     `json:"implausible,omitempty"`

	Rule RuleRef `json:"rule"`

	Site            string `json:"site,omitempty"`
	AdminArea       string `json:"admin_area,omitempty"`
	PopulationGroup string `json:"population_group,omitempty"`
	Measurer        string `json:"measurer,omitempty"` // who measured, for Heaping
}

// Severe reports whether the assessment shows severe wasting or nutritional
// oedema (the episode category "severe wasting and/or nutritional oedema").
func (a *Assessment) Severe() bool {
	return a.AnthroWasting == ClassSevereWasting || a.NutritionalOedema
}

// Alert kinds (nutrition-rules §8).
const (
	KindNewSevereWasting   = "new_severe_wasting"
	KindNutritionalOedema  = "nutritional_oedema"
	KindNewModerateWasting = "new_moderate_wasting"
	KindInfantAtRisk       = "infant_at_risk"
	KindPLWMalnutrition    = "plw_acute_malnutrition"
	KindDeterioration      = "deterioration"
	KindMissedFollowUp     = "missed_follow_up"
	KindImplausible        = "implausible_measurement"
)

// Alert severities, lowest first.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Alert statuses. Open, acknowledged, referred and admitted are active;
// resolved and closed are final.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusReferred     = "referred"
	StatusAdmitted     = "admitted"
	StatusResolved     = "resolved"
	StatusClosed       = "closed"
)

// ActorSystem is the actor recorded for changes the engine makes itself.
const ActorSystem = "system"

// An Alert is a FHIR Flag for sector leads (payload of nutrition-rules §8).
// PersonRef is pseudonymous: the record's opaque id, never a name or
// identity number.
type Alert struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Severity  string    `json:"severity"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	Country         string  `json:"country,omitempty"`
	AdminArea       string  `json:"admin_area,omitempty"`
	SiteID          string  `json:"site_id,omitempty"`
	PersonRef       string  `json:"person_ref"`
	Sex             string  `json:"sex,omitempty"`
	AgeBand         string  `json:"age_band,omitempty"`
	AgeMonths       float64 `json:"age_months"` // 1 decimal
	PopulationGroup string  `json:"population_group,omitempty"`

	Trigger  Trigger     `json:"trigger"`
	Rule     RuleRef     `json:"rule"`
	Episode  *EpisodeRef `json:"episode,omitempty"`
	Referral *Referral   `json:"referral,omitempty"`
	History  []Change    `json:"history"`
}

// Active reports whether the alert is neither resolved nor closed.
func (a *Alert) Active() bool { return a.Status != StatusResolved && a.Status != StatusClosed }

// EpisodeID returns the id of the alert's episode, or "".
func (a *Alert) EpisodeID() string {
	if a.Episode == nil {
		return ""
	}
	return a.Episode.ID
}

// A Trigger says what raised or last updated an alert.
type Trigger struct {
	MeasurementIDs         []string  `json:"measurement_ids,omitempty"`
	Date                   time.Time `json:"date"`
	MUACmm                 *int      `json:"muac_mm,omitempty"`
	WHZ                    *float64  `json:"whz,omitempty"`
	WAZ                    *float64  `json:"waz,omitempty"`
	OedemaGrade            string    `json:"oedema_grade,omitempty"`
	Classification         string    `json:"classification,omitempty"`
	PreviousClassification string    `json:"previous_classification,omitempty"`
	Reasons                []string  `json:"reasons,omitempty"` // criteria or flags that fired
}

// An EpisodeRef is the episode part of an alert's payload.
type EpisodeRef struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	NextDueDate *time.Time `json:"next_due_date,omitempty"`
	MissedCount int        `json:"missed_count"`
}

// A Referral is the referral part of an alert's payload.
type Referral struct {
	Status string `json:"status"` // e.g. "requested", "completed"
}

// A Change is one entry of an alert's history: who changed what, when, why.
type Change struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // ActorSystem for the engine
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"` // the status after the change ("open" on creation)
	Reason string    `json:"reason,omitempty"`
	// Via is the user whose write caused a change the engine made itself
	// (Actor ActorSystem), or "".
	Via string `json:"via,omitempty"`
}

// Programmes (EpisodeOfCare.type, nutrition-rules §7).
const (
	ProgrammeOTP       = "otp"
	ProgrammeInpatient = "inpatient"
	ProgrammeTSFP      = "tsfp"
	ProgrammeMAMI      = "mami"
	ProgrammeFollowUp  = "followup"
)

// Admission types of an episode.
const (
	AdmissionNew                = "new"
	AdmissionReturnAfterDefault = "return_after_default"
	AdmissionTransferIn         = "transfer_in"
)

// Episode outcomes (exactly one per closed episode).
const (
	OutcomeCured               = "cured"
	OutcomeDied                = "died"
	OutcomeDefaulted           = "defaulted"
	OutcomeNonResponse         = "non_response"
	OutcomeTransferredInternal = "transferred_internal"
	OutcomeTransferredExternal = "transferred_external"
	OutcomeMovedUnknown        = "moved_unknown"
)

// Episode statuses.
const (
	EpisodeActive   = "active"
	EpisodeFinished = "finished"
)

// An Episode is one episode of care in a programme (FHIR EpisodeOfCare).
type Episode struct {
	ID                string    `json:"id"`
	Programme         string    `json:"programme"`
	Status            string    `json:"status"` // EpisodeActive or EpisodeFinished
	AdmissionDate     time.Time `json:"admission_date"`
	AdmissionCriteria []string  `json:"admission_criteria,omitempty"` // e.g. ["muac_mm"], ["oedema"]
	AdmissionClass    string    `json:"admission_class,omitempty"`
	AdmissionType     string    `json:"admission_type"`
	Relapse           bool      `json:"relapse,omitempty"`
	PreviousEpisodeID string    `json:"previous_episode_id,omitempty"` // the defaulted, cured or transferred episode
	TreatmentCourseID string    `json:"treatment_course_id"`
	AdmittedBy        string    `json:"admitted_by"`
	AdmittedAt        time.Time `json:"admitted_at"` // when the admission was recorded
	Site              string    `json:"site,omitempty"`
	AdminArea         string    `json:"admin_area,omitempty"`
	AgeBand           string    `json:"age_band,omitempty"` // at admission
	Sex               string    `json:"sex,omitempty"`
	PopulationGroup   string    `json:"population_group,omitempty"`

	Visits      []time.Time `json:"visits,omitempty"` // attended visits (assessment dates) after admission
	NextDueDate *time.Time  `json:"next_due_date,omitempty"`
	MissedCount int         `json:"missed_count"` // consecutive scheduled visits missed

	Outcome       string    `json:"outcome,omitempty"`
	OutcomeDate   time.Time `json:"outcome_date,omitzero"` // for defaulted: the last attended visit
	ClosedAt      time.Time `json:"closed_at,omitzero"`    // when the closure was recorded
	ClosedBy      string    `json:"closed_by,omitempty"`
	OutcomeReason string    `json:"outcome_reason,omitempty"`
}

// Open reports whether the episode is active.
func (e *Episode) Open() bool { return e.Status == EpisodeActive }

// An Intervention is one supplementation, counselling or referral event, as
// recorded on an encounter (no dosing logic here).
type Intervention struct {
	ID        string    `json:"id"`
	Date      time.Time `json:"date"`
	Kind      string    `json:"kind"` // Intervention* constants
	Completed bool      `json:"completed,omitempty"`
	Site      string    `json:"site,omitempty"`
	AdminArea string    `json:"admin_area,omitempty"`
}

// Intervention kinds counted by Indicators.
const (
	InterventionRUTF            = "rutf"
	InterventionRUSF            = "rusf"
	InterventionSFF             = "sff"
	InterventionAmoxicillin     = "amoxicillin"
	InterventionVitaminA        = "vitamin_a"
	InterventionDeworming       = "deworming"
	InterventionMNP             = "mnp_lns" // micronutrient powders or LNS for children
	InterventionIFA             = "ifa_mms" // iron–folic acid or multiple micronutrients for PLW
	InterventionIYCFCounselling = "iycf_counselling"
	InterventionPLWCounselling  = "plw_counselling"
	InterventionReferral        = "referral"
)

// Status is a person's current nutrition status: the newest assessment's
// headline and what is open.
type Status struct {
	MeasurementID  string    `json:"measurement_id,omitempty"`
	Date           time.Time `json:"date,omitzero"`
	Classification string    `json:"classification,omitempty"` // "" before the first assessment
	AgeBand        string    `json:"age_band,omitempty"`
	OpenEpisodeID  string    `json:"open_episode_id,omitempty"`
	Programme      string    `json:"programme,omitempty"`
	OpenAlerts     int       `json:"open_alerts"`
	HighestOpen    string    `json:"highest_open_severity,omitempty"`
}

// State is one person's nutrition state, stored with their record.
type State struct {
	PersonRef     string         `json:"person_ref"` // pseudonymous: the record's opaque id
	Country       string         `json:"country,omitempty"`
	Assessments   []Assessment   `json:"assessments"` // date order, then measurement id
	Alerts        []Alert        `json:"alerts"`      // creation order
	Episodes      []Episode      `json:"episodes"`    // admission order
	Interventions []Intervention `json:"interventions,omitempty"`
	Status        Status         `json:"status"`
}

// Event types returned by Apply, CheckFollowUp and the episode functions,
// for the caller to write Flags and EpisodeOfCare and count metrics.
const (
	EventAssessed           = "assessed"
	EventAlertOpened        = "alert_opened"
	EventAlertUpdated       = "alert_updated"
	EventAlertResolved      = "alert_resolved"
	EventAlertStatus        = "alert_status_changed"
	EventEpisodeOpened      = "episode_opened"
	EventEpisodeClosed      = "episode_closed"
	EventVisitRecorded      = "visit_recorded"
	EventVisitMissed        = "visit_missed"
	EventExitDecisionNeeded = "exit_decision_needed" // max stay reached with one target met: a clinician decides
)

// An Event is one change the engine made to a State.
type Event struct {
	Type          string    `json:"type"`
	At            time.Time `json:"at"`
	AlertID       string    `json:"alert_id,omitempty"`
	AlertKind     string    `json:"alert_kind,omitempty"`
	Severity      string    `json:"severity,omitempty"`
	EpisodeID     string    `json:"episode_id,omitempty"`
	MeasurementID string    `json:"measurement_id,omitempty"`
	Detail        string    `json:"detail,omitempty"` // e.g. the outcome or the new status
}
