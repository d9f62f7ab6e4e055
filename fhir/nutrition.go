package fhir

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"contigo/records"
	"contigo/records/nutrition"
)

// Nutrition coding (shared/docs/nutrition-rules.md §9). LOINC codes of the
// measurement Observations the nutrition engine reads.
const (
	LOINCWeight        = "29463-7" // body weight (kg or g)
	LOINCHeight        = "8302-2"  // body height, position not said
	LOINCLength        = "8306-3"  // length, lying
	LOINCStandingHt    = "8308-9"  // height, standing
	LOINCHeadCirc      = "9843-4"  // head circumference
	LOINCMUAC          = "56072-2" // mid-upper arm circumference (mm or cm)
	LOINCPregnancy     = "82810-3" // pregnancy status (LA15173-0 Pregnant)
	LOINCBreastfeeding = "63895-7" // breastfeeding status (LA33-6 Yes, or valueBoolean)
	SNOMEDOedema       = "267038008"
)

// Project CodeSystems and extensions of the nutrition face.
const (
	// NutritionSystem codes the oedema finding Observation (code "oedema",
	// value absent, +, ++, +++ or not_assessed), the infant clinical/feeding
	// criterion Observation (code "infant-criterion", valueCodeableConcept
	// weight_faltering, ineffective_breastfeeding, medical_problem or
	// social_problem, one or more codings) and the Condition classes
	// (severe-wasting, moderate-wasting, nutritional-oedema, infant-at-risk,
	// plw-acute-malnutrition, national bands).
	NutritionSystem = "https://contigo.example/fhir/CodeSystem/nutrition"
	// AnthroSystem codes the derived z-score Observations: wfa-z, lhfa-z,
	// wflh-z, bfa-z, acfa-z, hcfa-z.
	AnthroSystem = "https://contigo.example/fhir/CodeSystem/anthro-indicator"
	// AlertSystem codes a nutrition alert Flag by its kind.
	AlertSystem = "https://contigo.example/fhir/CodeSystem/nutrition-alert"
	// AlertSeveritySystem codes a nutrition alert Flag's category.
	AlertSeveritySystem = "https://contigo.example/fhir/CodeSystem/nutrition-alert-severity"
	// ProgrammeSystem codes EpisodeOfCare.type: otp, inpatient, tsfp, mami, followup.
	ProgrammeSystem = "https://contigo.example/fhir/CodeSystem/nutrition-programme"
	// InterventionSystem codes MedicationAdministration and Procedure
	// resources the indicators count: rutf, rusf, sff, amoxicillin,
	// vitamin_a, deworming, mnp_lns, ifa_mms, iycf_counselling,
	// plw_counselling, referral (status completed = referral completed).
	InterventionSystem = "https://contigo.example/fhir/CodeSystem/nutrition-intervention"
	// PersonRefSystem is the identifier system of pseudonymous person references.
	PersonRefSystem = "https://contigo.example/fhir/NamingSystem/person-ref"
	// AlertIDSystem is the identifier system of the canonical alert id
	// (nutrition.Alert.ID): both Flags of an alert carry it as identifier.
	AlertIDSystem = "https://contigo.example/fhir/NamingSystem/alert-id"

	ExtRuleSet         = "https://contigo.example/fhir/StructureDefinition/nutrition-ruleset"   // valueString: rule set that produced a result
	ExtAlert           = "https://contigo.example/fhir/StructureDefinition/nutrition-alert"     // valueString: the §8 alert payload (JSON)
	ExtAlertStatus     = "https://contigo.example/fhir/StructureDefinition/alert-status"        // valueCode: open, acknowledged, referred, admitted, resolved, closed
	ExtEpisode         = "https://contigo.example/fhir/StructureDefinition/nutrition-episode"   // valueString: the episode (JSON)
	ExtOutcome         = "https://contigo.example/fhir/StructureDefinition/episode-outcome"     // valueCode: cured, died, defaulted...
	ExtPopulationGroup = "https://contigo.example/fhir/StructureDefinition/population-group"    // on Patient, valueCode
	ExtDeliveryDate    = "https://contigo.example/fhir/StructureDefinition/plw-delivery-date"   // on the breastfeeding Observation, valueDate
	ExtBirthPrecision  = "https://contigo.example/fhir/StructureDefinition/birthdate-precision" // on Patient, valueCode day|month|year (else from birthDate's form)
)

// Search keys of nutrition alert Flags (besides Parse's), served by the
// store's index on every key value.
const (
	KeyAlert          = "nutrition-alert" // "1" on every nutrition alert Flag
	KeyAlertID        = "alert-id"        // the public alert id (pseudonymous)
	KeyAlertKind      = "alert-kind"
	KeyAlertSeverity  = "alert-severity"
	KeyAlertStatus    = "alert-status"
	KeyAlertCountry   = "alert-country"
	KeyAlertAgeBand   = "alert-age-band"
	KeyAlertSex       = "alert-sex"
	KeyAlertAdminArea = "alert-admin-area"
	KeyAlertSite      = "alert-site"
	KeyAlertCreated   = "alert-created" // records.TimeFormat, UTC
	KeyAlertUpdated   = "alert-updated" // records.TimeFormat, UTC
)

// DerivedPrefix starts the part after "<personID>." of every resource id the
// nutrition write hook derives: "<personID>.n-...". The hyphen keeps the
// derived namespace apart from every other resource id: those are
// "<personID>." plus lower-case base32 (records.NewResourceID, AssignIDs),
// which has no hyphen, so the hook never takes a health worker's
// Observation for one of its own (it deletes derived resources that are no
// longer derived).
const DerivedPrefix = "n-"

// IsDerived reports whether id is a resource id the nutrition hook derives.
func IsDerived(id string) bool {
	_, rest, ok := strings.Cut(id, ".")
	return ok && strings.HasPrefix(rest, DerivedPrefix)
}

// Visits are the measurements the engine reads from one record: one per
// visit (the Observations of one Encounter, or of one date without an
// Encounter), with the Observation ids each was read from.
type Visits struct {
	Measurements []nutrition.Measurement
	Sources      map[string][]string // measurement id -> Observation ids, sorted
}

type coding struct {
	System string `json:"system,omitempty"`
	Code   string `json:"code,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

func (c *concept) has(system string, codes ...string) string {
	if c == nil {
		return ""
	}
	for _, cd := range c.Coding {
		if (system == "" || cd.System == system) && slices.Contains(codes, cd.Code) {
			return cd.Code
		}
	}
	return ""
}

type extension struct {
	URL         string `json:"url"`
	ValueCode   string `json:"valueCode,omitempty"`
	ValueString string `json:"valueString,omitempty"`
	ValueDate   string `json:"valueDate,omitempty"`
}

func extValue(exts []extension, url string) string {
	for _, e := range exts {
		if e.URL == url {
			return e.ValueCode + e.ValueString + e.ValueDate
		}
	}
	return ""
}

type reference struct {
	Reference string `json:"reference,omitempty"`
	Type      string `json:"type,omitempty"`
	Display   string `json:"display,omitempty"`
	// Identifier of the referenced entity (sites by code).
	Identifier *struct {
		Value string `json:"value,omitempty"`
	} `json:"identifier,omitempty"`
}

type obsIn struct {
	Status            string     `json:"status"`
	Code              concept    `json:"code"`
	Encounter         *reference `json:"encounter"`
	EffectiveDateTime string     `json:"effectiveDateTime"`
	EffectiveInstant  string     `json:"effectiveInstant"`
	EffectivePeriod   *struct{ Start string }
	ValueQuantity     *struct {
		Value json.Number `json:"value"`
		Code  string      `json:"code"`
	} `json:"valueQuantity"`
	ValueCodeableConcept *concept    `json:"valueCodeableConcept"`
	ValueBoolean         *bool       `json:"valueBoolean"`
	ValueString          string      `json:"valueString"`
	Extension            []extension `json:"extension"`
	Performer            []reference `json:"performer"`
}

// measurer returns who measured: the first performer that is a
// Practitioner or PractitionerRole, as its literal reference or, for a
// logical reference (type and identifier: practitioners are not records on
// this node), "Practitioner|<identifier value>". Never a display name or a
// RelatedPerson; "" if none.
func (o *obsIn) measurer() string {
	for _, p := range o.Performer {
		switch {
		case strings.HasPrefix(p.Reference, "Practitioner/") || strings.HasPrefix(p.Reference, "PractitionerRole/"):
			return p.Reference
		case (p.Type == "Practitioner" || p.Type == "PractitionerRole") && p.Reference == "" && p.Identifier != nil && p.Identifier.Value != "":
			return p.Type + "|" + p.Identifier.Value
		}
	}
	return ""
}

func (o *obsIn) date() string {
	d := o.EffectiveDateTime + o.EffectiveInstant
	if d == "" && o.EffectivePeriod != nil {
		d = o.EffectivePeriod.Start
	}
	if len(d) >= 10 {
		return d[:10]
	}
	return ""
}

type patientIn struct {
	Gender    string      `json:"gender"`
	BirthDate string      `json:"birthDate"`
	Extension []extension `json:"extension"`
	Address   []struct {
		District string `json:"district"`
		State    string `json:"state"`
	} `json:"address"`
}

type encounterIn struct {
	ServiceProvider *reference `json:"serviceProvider"`
	Location        []struct {
		Location reference `json:"location"`
	} `json:"location"`
}

// measurementCodes are the LOINC codes a visit is built from.
var measurementCodes = []string{LOINCWeight, LOINCHeight, LOINCLength, LOINCStandingHt, LOINCHeadCirc, LOINCMUAC, LOINCPregnancy, LOINCBreastfeeding}

// oedemaFinding reports whether an Observation code is the oedema finding.
func oedemaFinding(c *concept) bool {
	return c.has(NutritionSystem, "oedema") != "" || c.has("http://snomed.info/sct", SNOMEDOedema) != ""
}

// CodeInfantCriterion is the NutritionSystem code of the Observation that
// records an infant's clinical or feeding criterion (nutrition-rules §3.2).
const CodeInfantCriterion = "infant-criterion"

// IsNutritionInput reports whether r is an Observation the nutrition engine
// reads (a body measurement, the oedema finding, an infant criterion,
// pregnancy or breastfeeding status), judged by its Keys. A derived
// resource (IsDerived: a z-score) is never one: only the engine writes
// them (api refuses a client's write of a derived id), and a write checks
// every current resource of the record, so they are told apart by id
// before their codes are looked up.
func IsNutritionInput(r records.Resource) bool {
	if r.Type != "Observation" || IsDerived(r.ID) {
		return false
	}
	return slices.ContainsFunc(r.Keys["code"], func(c string) bool { return nutritionInputCodes[c] })
}

// nutritionInputCodes holds the code search values ("system|code") of the
// Observations IsNutritionInput accepts: one lookup per code, as a write
// checks every current resource of the record.
var nutritionInputCodes = func() map[string]bool {
	m := map[string]bool{"http://snomed.info/sct|" + SNOMEDOedema: true}
	for _, c := range measurementCodes {
		m[loincSystem+"|"+c] = true
	}
	for _, c := range []string{"oedema", CodeInfantCriterion, CodeTricepsSkinfold, CodeSubscapularSkinfold} {
		m[NutritionSystem+"|"+c] = true
	}
	return m
}()

// ReadVisits reads the measurements of person p's current record: the
// Patient gives sex, birth date (precision from its form, or the
// birthdate-precision extension), admin area (address district, else
// state) and population group; the Encounter gives the site (serviceProvider
// identifier or display, else the first location); MUAC in cm becomes whole
// mm, weight in g kg, length in mm cm. A visit is a woman's (subject plw)
// when it holds a pregnancy or breastfeeding status. Visits with nothing
// measured are left out.
func ReadVisits(p *records.Person) (Visits, error) { return ReadVisitsOf(p, p.Latest()) }

// measurementID names a visit: "enc-<encounter id without the record id>"
// or "day-<date>". It travels in alert payloads, so it never holds the
// record id.
func measurementID(key string) string {
	if key[0] == 'e' {
		return "enc-" + tail(key[1:])
	}
	return "day-" + key[1:]
}

func cmpOrStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func siteOf(e *encounterIn) string {
	if sp := e.ServiceProvider; sp != nil {
		if sp.Identifier != nil && sp.Identifier.Value != "" {
			return sp.Identifier.Value
		}
		if sp.Display != "" {
			return sp.Display
		}
		if sp.Reference != "" {
			return sp.Reference
		}
	}
	for _, l := range e.Location {
		if s := cmpOrStr(l.Location.Display, l.Location.Reference); s != "" {
			return s
		}
	}
	return ""
}

func sexOf(g string) string {
	switch g {
	case "male":
		return nutrition.SexMale
	case "female":
		return nutrition.SexFemale
	case "":
		return ""
	}
	return nutrition.SexUnknown
}

func birthOf(s, precision string) (time.Time, string) {
	switch len(s) {
	case 4:
		t, err := time.Parse("2006", s)
		if err == nil {
			return t, nutrition.PrecisionYear
		}
	case 7:
		t, err := time.Parse("2006-01", s)
		if err == nil {
			return t, nutrition.PrecisionMonth
		}
	case 10:
		t, err := time.Parse(time.DateOnly, s)
		if err == nil {
			if precision != nutrition.PrecisionMonth && precision != nutrition.PrecisionYear {
				precision = nutrition.PrecisionDay
			}
			return t, precision
		}
	}
	return time.Time{}, ""
}

// read copies one Observation into m; it reports whether it measured
// something (a body measurement, an oedema finding or an infant criterion).
func read(m *nutrition.Measurement, o *obsIn) bool {
	if oedemaFinding(&o.Code) {
		v := o.ValueString
		if o.ValueCodeableConcept != nil {
			for _, c := range o.ValueCodeableConcept.Coding {
				v = c.Code
			}
		}
		m.Oedema = v
		return v != "" && v != nutrition.OedemaNotAssessed
	}
	if o.Code.has(NutritionSystem, CodeInfantCriterion) != "" {
		// Codes travel as sent (from the project CodeSystem or without a
		// system) so that Validate rejects an unknown one.
		added := false
		if o.ValueCodeableConcept != nil {
			for _, c := range o.ValueCodeableConcept.Coding {
				if (c.System == "" || c.System == NutritionSystem) && c.Code != "" && !slices.Contains(m.InfantCriteria, c.Code) {
					m.InfantCriteria = append(m.InfantCriteria, c.Code)
					added = true
				}
			}
		}
		return added
	}
	if handled, measured := readSkinfold(m, o); handled { // nutrition_skinfold.go
		return measured
	}
	code := o.Code.has(loincSystem, measurementCodes...)
	switch code {
	case LOINCPregnancy:
		if o.ValueCodeableConcept.has("", "LA15173-0", "pregnant") != "" {
			m.PLWStatus = nutrition.StatusPregnant
		}
		return false
	case LOINCBreastfeeding:
		if (o.ValueBoolean != nil && *o.ValueBoolean) || o.ValueCodeableConcept.has("", "LA33-6", "lactating", "yes") != "" {
			m.PLWStatus = nutrition.StatusLactating
			if d, err := time.Parse(time.DateOnly, extValue(o.Extension, ExtDeliveryDate)); err == nil {
				m.DeliveryDate = d
			}
		}
		return false
	}
	if o.ValueQuantity == nil {
		return false
	}
	v, err := o.ValueQuantity.Value.Float64()
	if err != nil {
		return false
	}
	unit := o.ValueQuantity.Code
	switch code {
	case LOINCWeight:
		if unit == "g" {
			v /= 1000
		}
		m.WeightKg = &v
	case LOINCHeight, LOINCLength, LOINCStandingHt:
		if unit == "mm" {
			v /= 10
		}
		m.LengthCm = &v
		m.Position = map[string]string{LOINCHeight: nutrition.PositionUnknown, LOINCLength: nutrition.PositionLying, LOINCStandingHt: nutrition.PositionStanding}[code]
	case LOINCHeadCirc:
		if unit == "mm" {
			v /= 10
		}
		m.HeadCircCm = &v
	case LOINCMUAC:
		if unit == "cm" {
			v *= 10 // explicit: MUAC is kept in whole millimetres
		}
		mm := int(math.Round(v))
		m.MUACmm = &mm
	default:
		return false
	}
	return true
}

// validationPaths maps the engine's measurement fields to FHIRPath.
var validationPaths = map[string]string{
	"weight_kg":             "Observation.where(code.coding.code='" + LOINCWeight + "').valueQuantity.value",
	"length_cm":             "Observation.where(code.coding.code='" + LOINCLength + "' or code.coding.code='" + LOINCStandingHt + "' or code.coding.code='" + LOINCHeight + "').valueQuantity.value",
	"head_circumference_cm": "Observation.where(code.coding.code='" + LOINCHeadCirc + "').valueQuantity.value",
	"muac_mm":               "Observation.where(code.coding.code='" + LOINCMUAC + "').valueQuantity.value",
	"oedema":                "Observation.where(code.coding.code='oedema').valueCodeableConcept",
	"infant_criteria":       "Observation.where(code.coding.code='" + CodeInfantCriterion + "').valueCodeableConcept",
	"plw_status":            "Observation.where(code.coding.code='" + LOINCPregnancy + "' or code.coding.code='" + LOINCBreastfeeding + "').value",
	"delivery_date":         "Observation.where(code.coding.code='" + LOINCBreastfeeding + "').extension('" + ExtDeliveryDate + "')",
	"date":                  "Observation.effectiveDateTime",
	"birth_date":            "Patient.birthDate",
	"sex":                   "Patient.gender",
	"measurement":           "Observation.value",
}

// ValidationError turns the engine's joined FieldErrors for measurement m
// into FieldErrors (ErrInvalid) whose Field is a FHIRPath expression and
// whose Reason names the engine's field.
func ValidationError(err error) error {
	var fes []*records.FieldError
	collect(err, &fes)
	if len(fes) == 0 {
		return err
	}
	out := make([]error, 0, len(fes))
	for _, fe := range fes {
		path, ok := validationPaths[fe.Field]
		if !ok {
			path = "Observation"
		}
		out = append(out, &records.FieldError{Field: path, Reason: fe.Field + ": " + fe.Reason, Kind: fe.Kind})
	}
	if len(out) == 1 {
		return out[0]
	}
	return joined(out)
}

func collect(err error, out *[]*records.FieldError) {
	switch e := err.(type) {
	case *records.FieldError:
		*out = append(*out, e)
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			collect(x, out)
		}
	case interface{ Unwrap() error }:
		collect(e.Unwrap(), out)
	}
}

// joinedErr is errors.Join's shape; kept local so that the first issue leads.
type joinedErr []error

func (j joinedErr) Error() string {
	s := make([]string, len(j))
	for i, e := range j {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (j joinedErr) Unwrap() []error { return j }

func joined(errs []error) error { return joinedErr(errs) }

var shortEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// short returns 13 lower-case base32 characters derived from s.
func short(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	v := h.Sum64()
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return strings.ToLower(shortEnc.EncodeToString(b[:]))
}

// tail returns the part of an engine id after its last '.'.
func tail(id string) string {
	if i := strings.LastIndexByte(id, '.'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// alertIdentifier is Flag.identifier of an alert: its canonical id.
func alertIdentifier(al *nutrition.Alert) []map[string]string {
	return []map[string]string{{"use": "official", "system": AlertIDSystem, "value": al.ID}}
}

// AlertIDOfFlag returns the tail of the alert id that the record Flag id
// flagID (FlagID's form, "<personID>.n-f...") names, and its person id;
// ok false if flagID is not of that form.
func AlertIDOfFlag(flagID string) (personID, tailID string, ok bool) {
	pid, rest, found := strings.Cut(flagID, "."+DerivedPrefix)
	if !found || pid == "" || rest == "" || strings.Contains(rest, ".") {
		return "", "", false
	}
	return pid, rest, true
}

// FlagID returns the id of the Flag resource of an alert in personID's
// record. The alert's canonical id (nutrition.Alert.ID, pseudonymous) is
// the Flag's identifier with system AlertIDSystem.
func FlagID(personID, alertID string) string {
	return personID + "." + DerivedPrefix + tail(alertID)
}

// EpisodeID returns the id of the EpisodeOfCare of an episode in personID's record.
func EpisodeID(personID, episodeID string) string {
	return personID + "." + DerivedPrefix + "e" + short(episodeID)
}

func ruleText(r nutrition.RuleRef) string {
	s := r.RuleSet + " version " + r.Version
	if r.Country != "" {
		s += ", country " + r.Country
	}
	if r.ConfigVersion != "" {
		s += ", config " + r.ConfigVersion
	}
	if r.RuleID != "" {
		s += ", rule " + r.RuleID
	}
	return s
}

var zCodes = []struct {
	code, display string
	get           func(*nutrition.ZScores) *float64
	flag          string
}{
	{"wfa-z", "Weight-for-age z-score", func(z *nutrition.ZScores) *float64 { return z.WAZ }, nutrition.FlagWAZ},
	{"lhfa-z", "Length/height-for-age z-score", func(z *nutrition.ZScores) *float64 { return z.HAZ }, nutrition.FlagHAZ},
	{"wflh-z", "Weight-for-length/height z-score", func(z *nutrition.ZScores) *float64 { return z.WHZ }, nutrition.FlagWHZ},
	{"bfa-z", "BMI-for-age z-score", func(z *nutrition.ZScores) *float64 { return z.BAZ }, nutrition.FlagBAZ},
	{"acfa-z", "MUAC-for-age z-score", func(z *nutrition.ZScores) *float64 { return z.ACZ }, nutrition.FlagACZ},
	{"hcfa-z", "Head circumference-for-age z-score", func(z *nutrition.ZScores) *float64 { return z.HCZ }, nutrition.FlagHCZ},
	{"tsfa-z", "Triceps skinfold-for-age z-score", func(z *nutrition.ZScores) *float64 { return z.TSZ }, nutrition.FlagTSZ},
	{"ssfa-z", "Subscapular skinfold-for-age z-score", func(z *nutrition.ZScores) *float64 { return z.SSZ }, nutrition.FlagSSZ},
}

func interpretation(z float64) string {
	switch {
	case z < -3:
		return "LL"
	case z < -2:
		return "L"
	case z > 3:
		return "HH"
	case z > 2:
		return "H"
	}
	return "N"
}

type conditionCode struct{ code, display, icd string }

// conditions lists the Condition classes an assessment shows.
func conditions(a *nutrition.Assessment) []conditionCode {
	var out []conditionCode
	switch a.AnthroWasting {
	case nutrition.ClassSevereWasting:
		out = append(out, conditionCode{"severe-wasting", "Severe wasting", "E43"})
	case nutrition.ClassModerateWasting:
		out = append(out, conditionCode{"moderate-wasting", "Moderate wasting", "E44.0"})
	}
	if a.NutritionalOedema {
		out = append(out, conditionCode{"nutritional-oedema", "Nutritional oedema", "E40"})
	}
	if a.Infant == nutrition.ClassInfantAtRisk || a.Infant == nutrition.ClassInfantHighRisk {
		out = append(out, conditionCode{"infant-at-risk", "Infant under 6 months at risk of poor growth and development", ""})
	}
	if a.PLW == nutrition.ClassPLWMalnourished {
		out = append(out, conditionCode{"plw-acute-malnutrition", "Acute malnutrition in a pregnant or lactating woman", "O25"})
	}
	if a.ExtraBand != "" {
		out = append(out, conditionCode{strings.ReplaceAll(a.ExtraBand, "_", "-"), a.ExtraBand, ""})
	}
	return out
}

// Derive returns the resources the nutrition state st implies for
// personID's record, each parsed (canonical Body and Keys) with now: a
// z-score Observation per computed z-score (derivedFrom the visit's
// Observations in v.Sources), a Condition per run of a class (active, or
// resolved with its abatement date), a Flag per alert (the §8 payload in an
// extension, pseudonymous person ref) and an EpisodeOfCare per episode.
// Every one names the rule set that produced it.
func Derive(personID string, st *nutrition.State, sources map[string][]string, now time.Time) ([]records.Resource, error) {
	out, _, err := derive(personID, st, nil, sources, now, nil)
	return out, err
}

// DeriveSince is Derive for a write that changed the nutrition state from
// old to st without changing the Observations any assessment of old was
// read from (a new visit, an alert status change, an admission, a follow-up
// check): it renders only the resources whose inputs differ from old's (or
// that have is false for: missing from the record), and returns the ids of
// every resource st implies, rendered or not. Its cost follows what the
// write changed, not the length of the person's history; the result, with
// the record's unchanged derived resources, is what Derive would return.
func DeriveSince(personID string, old, st *nutrition.State, sources map[string][]string, have func(id string) bool, now time.Time) (changed []records.Resource, ids map[string]bool, err error) {
	ids = map[string]bool{}
	out, _, err := derive(personID, st, old, sources, now, func(id string, same bool) bool {
		ids[id] = true
		return !same || !have(id)
	})
	return out, ids, err
}

// derive renders the resources st implies. When old is not nil, render is
// asked for each resource id, with same telling whether its inputs equal
// those in old, and only those it accepts are rendered.
func derive(personID string, st, old *nutrition.State, sources map[string][]string, now time.Time, render func(id string, same bool) bool) ([]records.Resource, int, error) {
	if render == nil || old == nil {
		old, render = nil, func(string, bool) bool { return true }
	}
	var out []records.Resource
	skipped := 0
	add := func(typ, id string, body map[string]any, extra records.Keys) error {
		body["resourceType"] = typ
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("nutrition: encode %s: %w", typ, err)
		}
		r, err := Parse(b, typ, now)
		if err != nil {
			return fmt.Errorf("nutrition: derived %s is not valid: %w", typ, err)
		}
		r.ID = id
		for k, v := range extra {
			r.Keys[k] = v
		}
		out = append(out, r)
		return nil
	}
	subject := map[string]any{"reference": "Patient/" + personID}
	var oldAs map[string]*nutrition.Assessment
	if old != nil {
		oldAs = make(map[string]*nutrition.Assessment, len(old.Assessments))
		for i := range old.Assessments {
			oldAs[old.Assessments[i].MeasurementID] = &old.Assessments[i]
		}
	}
	for i := range st.Assessments {
		a := &st.Assessments[i]
		if old != nil {
			o := oldAs[a.MeasurementID]
			same := o != nil && o.Same(a)
			need := false
			for _, zc := range zCodes {
				if zc.get(&a.Z) != nil && render(zscoreID(personID, a, zc.code), same) {
					need = true
				}
			}
			if !need {
				skipped++
				continue
			}
		}
		var from []map[string]any
		for _, id := range sources[a.MeasurementID] {
			from = append(from, map[string]any{"reference": "Observation/" + id})
		}
		for _, zc := range zCodes {
			z := zc.get(&a.Z)
			if z == nil {
				continue
			}
			interp := []map[string]any{{"coding": []coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: interpretation(*z)}}}}
			if slices.Contains(a.Flags, zc.flag) {
				interp = append(interp, map[string]any{"coding": []coding{{System: NutritionSystem, Code: zc.flag}}})
			}
			body := map[string]any{
				"extension":         []extension{{URL: ExtRuleSet, ValueString: ruleText(a.Rule)}},
				"status":            "final",
				"category":          []concept{{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: "exam"}}}},
				"code":              concept{Coding: []coding{{System: AnthroSystem, Code: zc.code}}, Text: zc.display},
				"subject":           subject,
				"effectiveDateTime": a.Date.Format(time.DateOnly),
				"valueQuantity":     map[string]any{"value": *z, "unit": "1", "system": ucumSystem, "code": "1"},
				"interpretation":    interp,
				"method":            concept{Text: "WHO Child Growth Standards; " + ruleText(a.Rule)},
			}
			if len(from) > 0 {
				body["derivedFrom"] = from
			}
			if err := add("Observation", zscoreID(personID, a, zc.code), body, nil); err != nil {
				return nil, 0, err
			}
		}
	}
	if err := deriveConditions(personID, st, old, subject, add, render); err != nil {
		return nil, 0, err
	}
	for i := range st.Alerts {
		al := &st.Alerts[i]
		if old != nil {
			o := old.Alert(al.ID)
			if !render(FlagID(personID, al.ID), o != nil && reflect.DeepEqual(o, al)) {
				skipped++
				continue
			}
		}
		payload, err := json.Marshal(al)
		if err != nil {
			return nil, 0, fmt.Errorf("nutrition: encode alert: %w", err)
		}
		status := "active"
		period := map[string]any{"start": al.CreatedAt.UTC().Format(TimeFormat)}
		if !al.Active() {
			status = "inactive"
			period["end"] = al.UpdatedAt.UTC().Format(TimeFormat)
		}
		body := map[string]any{
			"identifier": alertIdentifier(al),
			"extension": []extension{
				{URL: ExtAlertStatus, ValueCode: al.Status},
				{URL: ExtRuleSet, ValueString: ruleText(al.Rule)},
				{URL: ExtAlert, ValueString: string(payload)},
			},
			"status":   status,
			"category": []concept{{Coding: []coding{{System: AlertSeveritySystem, Code: al.Severity}}}},
			"code":     concept{Coding: []coding{{System: AlertSystem, Code: al.Kind}}, Text: al.Kind},
			"subject":  subject,
			"period":   period,
		}
		if err := add("Flag", FlagID(personID, al.ID), body, AlertKeys(al)); err != nil {
			return nil, 0, err
		}
	}
	for i := range st.Episodes {
		ep := &st.Episodes[i]
		if old != nil {
			same := false
			for j := range old.Episodes {
				if o := &old.Episodes[j]; o.ID == ep.ID {
					r0, ok0 := ruleAt(old, ep.AdmissionDate)
					r1, ok1 := ruleAt(st, ep.AdmissionDate)
					same = ok0 == ok1 && r0 == r1 && reflect.DeepEqual(o, ep)
					break
				}
			}
			if !render(EpisodeID(personID, ep.ID), same) {
				skipped++
				continue
			}
		}
		epJSON, err := json.Marshal(ep)
		if err != nil {
			return nil, 0, fmt.Errorf("nutrition: encode episode: %w", err)
		}
		status := "active"
		period := map[string]any{"start": ep.AdmissionDate.Format(time.DateOnly)}
		exts := []extension{{URL: ExtEpisode, ValueString: string(epJSON)}}
		if rule, ok := ruleAt(st, ep.AdmissionDate); ok {
			exts = append(exts, extension{URL: ExtRuleSet, ValueString: ruleText(rule)})
		}
		if !ep.Open() {
			status = "finished"
			if !ep.OutcomeDate.IsZero() {
				period["end"] = ep.OutcomeDate.Format(time.DateOnly)
			}
			exts = append(exts, extension{URL: ExtOutcome, ValueCode: ep.Outcome})
		}
		body := map[string]any{
			"extension": exts,
			"status":    status,
			"type":      []concept{{Coding: []coding{{System: ProgrammeSystem, Code: ep.Programme}}}},
			"patient":   subject,
			"period":    period,
		}
		if err := add("EpisodeOfCare", EpisodeID(personID, ep.ID), body, records.Keys{"programme": {ep.Programme}, "episode-id": {ep.ID}}); err != nil {
			return nil, 0, err
		}
	}
	return out, skipped, nil
}

// zscoreID is the id of the z-score Observation of code for assessment a.
func zscoreID(personID string, a *nutrition.Assessment, code string) string {
	return personID + "." + DerivedPrefix + "z" + short(a.MeasurementID+"|"+code)
}

// ruleAt returns the rule set of the newest assessment on or before d (the
// one an admission answered), else of the first one.
func ruleAt(st *nutrition.State, d time.Time) (nutrition.RuleRef, bool) {
	if len(st.Assessments) == 0 {
		return nutrition.RuleRef{}, false
	}
	r := st.Assessments[0].Rule
	for i := range st.Assessments {
		if !st.Assessments[i].Date.After(d) {
			r = st.Assessments[i].Rule
		}
	}
	return r, true
}

// conditionRun is one run of a Condition class over the assessments.
type conditionRun struct {
	cc     conditionCode
	onset  *nutrition.Assessment
	abated *nutrition.Assessment
}

// id is the id of the run's Condition in personID's record.
func (r *conditionRun) id(personID string) string {
	return personID + "." + DerivedPrefix + "c" + short(r.cc.code+"|"+r.onset.MeasurementID)
}

// inputs is what the run's Condition is rendered from.
func (r *conditionRun) inputs() [4]string {
	abated := ""
	if r.abated != nil {
		abated = r.abated.Date.Format(time.DateOnly)
	}
	return [4]string{r.cc.code + "|" + r.cc.display + "|" + r.cc.icd, ruleText(r.onset.Rule) + "|" + r.onset.Rule.RuleID, r.onset.Date.Format(time.DateOnly), abated}
}

// conditionRuns returns the runs of Condition classes over st's
// assessments, in order of onset.
func conditionRuns(st *nutrition.State) []*conditionRun {
	var runs []*conditionRun
	open := map[string]*conditionRun{}
	for i := range st.Assessments {
		a := &st.Assessments[i]
		now := conditions(a)
		for _, cc := range now {
			if open[cc.code] == nil {
				r := &conditionRun{cc: cc, onset: a}
				open[cc.code] = r
				runs = append(runs, r)
			}
		}
		for code, r := range open {
			if !slices.ContainsFunc(now, func(c conditionCode) bool { return c.code == code }) {
				r.abated = a
				delete(open, code)
			}
		}
	}
	return runs
}

func deriveConditions(personID string, st, old *nutrition.State, subject map[string]any, add func(string, string, map[string]any, records.Keys) error, render func(string, bool) bool) error {
	runs := conditionRuns(st)
	var before map[string][4]string
	if old != nil {
		before = map[string][4]string{}
		for _, r := range conditionRuns(old) {
			before[r.id(personID)] = r.inputs()
		}
	}
	for _, r := range runs {
		if old != nil {
			in, ok := before[r.id(personID)]
			if !render(r.id(personID), ok && in == r.inputs()) {
				continue
			}
		}
		codes := []coding{{System: NutritionSystem, Code: r.cc.code}}
		if r.cc.icd != "" {
			codes = append(codes, coding{System: "http://hl7.org/fhir/sid/icd-10", Code: r.cc.icd})
		}
		clinical := "active"
		body := map[string]any{
			"extension":          []extension{{URL: ExtRuleSet, ValueString: ruleText(r.onset.Rule)}},
			"verificationStatus": concept{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/condition-ver-status", Code: "confirmed"}}},
			"category":           []concept{{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/condition-category", Code: "problem-list-item"}}}},
			"code":               concept{Coding: codes, Text: r.cc.display},
			"subject":            subject,
			"onsetDateTime":      r.onset.Date.Format(time.DateOnly),
		}
		if r.abated != nil {
			clinical = "resolved"
			body["abatementDateTime"] = r.abated.Date.Format(time.DateOnly)
		}
		body["clinicalStatus"] = concept{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/condition-clinical", Code: clinical}}}
		if err := add("Condition", r.id(personID), body, nil); err != nil {
			return err
		}
	}
	return nil
}

// AlertKeys returns the search keys of an alert's Flag.
func AlertKeys(al *nutrition.Alert) records.Keys {
	k := records.Keys{
		KeyAlert:         {"1"},
		KeyAlertID:       {al.ID},
		KeyAlertKind:     {al.Kind},
		KeyAlertSeverity: {al.Severity},
		KeyAlertStatus:   {al.Status},
		KeyAlertCreated:  {al.CreatedAt.UTC().Format(TimeFormat)},
		KeyAlertUpdated:  {al.UpdatedAt.UTC().Format(TimeFormat)},
	}
	for key, v := range map[string]string{KeyAlertCountry: al.Country, KeyAlertAgeBand: al.AgeBand, KeyAlertSex: al.Sex, KeyAlertAdminArea: al.AdminArea, KeyAlertSite: al.SiteID} {
		if v != "" {
			k[key] = []string{v}
		}
	}
	return k
}

// AlertOf returns the alert payload carried by a nutrition alert Flag.
func AlertOf(r records.Resource) (nutrition.Alert, error) {
	var f struct {
		Extension []extension `json:"extension"`
	}
	var al nutrition.Alert
	if err := json.Unmarshal(r.Body, &f); err != nil {
		return al, fmt.Errorf("alert %s: %w", r.ID, err)
	}
	p := extValue(f.Extension, ExtAlert)
	if p == "" {
		return al, fmt.Errorf("alert %s: no payload: %w", r.ID, records.ErrNotFound)
	}
	if err := json.Unmarshal([]byte(p), &al); err != nil {
		return al, fmt.Errorf("alert %s: %w", r.ID, err)
	}
	return al, nil
}

// PseudonymousFlag renders an alert as a Flag for sector leads: id the
// public alert id, subject a pseudonymous identifier (no reference to the
// record), the payload in an extension.
func PseudonymousFlag(al *nutrition.Alert) ([]byte, error) {
	payload, err := json.Marshal(al)
	if err != nil {
		return nil, fmt.Errorf("encode alert: %w", err)
	}
	status := "active"
	period := map[string]any{"start": al.CreatedAt.UTC().Format(TimeFormat)}
	if !al.Active() {
		status = "inactive"
		period["end"] = al.UpdatedAt.UTC().Format(TimeFormat)
	}
	body := map[string]any{
		"resourceType": "Flag",
		"id":           al.ID,
		"meta":         map[string]any{"lastUpdated": al.UpdatedAt.UTC().Format(TimeFormat)},
		"identifier":   alertIdentifier(al),
		"extension": []extension{
			{URL: ExtAlertStatus, ValueCode: al.Status},
			{URL: ExtRuleSet, ValueString: ruleText(al.Rule)},
			{URL: ExtAlert, ValueString: string(payload)},
		},
		"status":   status,
		"category": []concept{{Coding: []coding{{System: AlertSeveritySystem, Code: al.Severity}}}},
		"code":     concept{Coding: []coding{{System: AlertSystem, Code: al.Kind}}, Text: al.Kind},
		"subject":  map[string]any{"identifier": map[string]any{"system": PersonRefSystem, "value": al.PersonRef}},
		"period":   period,
	}
	return json.Marshal(body)
}

// IsIntervention reports whether r is a MedicationAdministration or
// Procedure coded with InterventionSystem, judged by its Keys.
func IsIntervention(r records.Resource) bool {
	if r.Type != "MedicationAdministration" && r.Type != "Procedure" {
		return false
	}
	for _, c := range r.Keys["code"] {
		if strings.HasPrefix(c, InterventionSystem+"|") {
			return true
		}
	}
	return false
}

// ReadInterventions returns the interventions of p's current record, in
// record order: kind from the InterventionSystem code, date from the date
// key, completed from status "completed"; entered-in-error ones are left
// out. Unknown kinds are left to nutrition.AddIntervention to refuse.
func ReadInterventions(p *records.Person) []nutrition.Intervention {
	var out []nutrition.Intervention
	for _, r := range p.Latest() {
		if !IsIntervention(r) {
			continue
		}
		status := ""
		if st := r.Keys["status"]; len(st) > 0 {
			status = st[0]
		}
		if status == "entered-in-error" || status == "not-done" {
			continue
		}
		iv := nutrition.Intervention{ID: r.ID, Completed: status == "completed"}
		for _, c := range r.Keys["code"] {
			if k, ok := strings.CutPrefix(c, InterventionSystem+"|"); ok {
				iv.Kind = k
				break
			}
		}
		if d := r.Keys["date"]; len(d) > 0 && len(d[0]) >= 10 {
			iv.Date, _ = time.Parse(time.DateOnly, d[0][:10])
		}
		out = append(out, iv)
	}
	return out
}
