package fhir

import (
	"contigo/records/nutrition"
)

// DefaultCanonicalBase is the base of every canonical URL the project
// mints (code systems, extensions, search parameters, operations) and of
// the systems written in records.
const DefaultCanonicalBase = "https://contigo.example"

// canonicalPath is the part of a canonical URL after the base.
func canonicalPath(typ, id string) string { return "/fhir/" + typ + "/" + id }

// codeDef is one code of a code system.
type codeDef struct{ code, display string }

// codeSystemDef is one of the project's code systems. complete says that
// every code is listed (content complete); otherwise content is fragment
// (the nutrition system also carries national band codes from country
// configuration).
type codeSystemDef struct {
	id, title, description string
	complete               bool
	codes                  []codeDef
}

func codes(pairs ...string) []codeDef {
	out := make([]codeDef, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, codeDef{pairs[i], pairs[i+1]})
	}
	return out
}

// codeSystems are the project's code systems, by the last segment of their
// URL (NutritionSystem and the others in nutrition.go, plus the api
// package's flag and country systems).
var codeSystems = []codeSystemDef{
	{id: "nutrition", title: "Contigo nutrition findings and classes", description: "Oedema finding, infant criteria, implausible-value flags and the nutrition Condition classes the nutrition engine derives (shared/docs/nutrition-rules.md).",
		codes: append(codes(
			"oedema", "Bilateral pitting oedema finding",
			"infant-criterion", "Clinical or feeding criterion of an infant under 6 months",
			"weight_faltering", "Weight faltering",
			"ineffective_breastfeeding", "Ineffective breastfeeding",
			"medical_problem", "Medical problem",
			"social_problem", "Social problem",
			"absent", "Oedema absent",
			"+", "Oedema grade +",
			"++", "Oedema grade ++",
			"+++", "Oedema grade +++",
			"not_assessed", "Oedema not assessed",
			"severe-wasting", "Severe wasting",
			"moderate-wasting", "Moderate wasting",
			"nutritional-oedema", "Nutritional oedema",
			"infant-at-risk", "Infant under 6 months at risk of poor growth and development",
			"plw-acute-malnutrition", "Acute malnutrition in a pregnant or lactating woman",
		), codes(
			nutrition.FlagWAZ, "Weight-for-age z-score implausible",
			nutrition.FlagHAZ, "Length/height-for-age z-score implausible",
			nutrition.FlagWHZ, "Weight-for-length/height z-score implausible",
			nutrition.FlagBAZ, "BMI-for-age z-score implausible",
			nutrition.FlagHCZ, "Head circumference-for-age z-score implausible",
			nutrition.FlagACZ, "MUAC-for-age z-score implausible",
			nutrition.FlagTSZ, "Triceps skinfold-for-age z-score implausible",
			nutrition.FlagSSZ, "Subscapular skinfold-for-age z-score implausible",
		)...)},
	{id: "anthro-indicator", title: "Contigo anthropometric indicators", description: "The WHO z-score indicators of derived Observations.", complete: true,
		codes: codes("wfa-z", "Weight-for-age z-score", "lhfa-z", "Length/height-for-age z-score", "wflh-z", "Weight-for-length/height z-score",
			"bfa-z", "BMI-for-age z-score", "acfa-z", "MUAC-for-age z-score", "hcfa-z", "Head circumference-for-age z-score",
			"tsfa-z", "Triceps skinfold-for-age z-score", "ssfa-z", "Subscapular skinfold-for-age z-score")},
	{id: "nutrition-alert", title: "Contigo nutrition alert kinds", description: "The kind of a nutrition alert Flag.", complete: true,
		codes: codes(nutrition.KindNewSevereWasting, "New severe wasting", nutrition.KindNutritionalOedema, "Nutritional oedema",
			nutrition.KindNewModerateWasting, "New moderate wasting", nutrition.KindInfantAtRisk, "Infant at risk",
			nutrition.KindPLWMalnutrition, "Acute malnutrition in a pregnant or lactating woman", nutrition.KindDeterioration, "Deterioration",
			nutrition.KindMissedFollowUp, "Missed follow-up", nutrition.KindImplausible, "Implausible measurement")},
	{id: "nutrition-alert-severity", title: "Contigo nutrition alert severities", description: "The severity of a nutrition alert Flag (Flag.category).", complete: true,
		codes: codes(nutrition.SeverityLow, "Low", nutrition.SeverityMedium, "Medium", nutrition.SeverityHigh, "High", nutrition.SeverityCritical, "Critical")},
	{id: "nutrition-programme", title: "Contigo nutrition programmes", description: "The treatment programme of an EpisodeOfCare (EpisodeOfCare.type).", complete: true,
		codes: codes(nutrition.ProgrammeOTP, "Outpatient therapeutic programme", nutrition.ProgrammeInpatient, "Inpatient care",
			nutrition.ProgrammeTSFP, "Targeted supplementary feeding programme", nutrition.ProgrammeMAMI, "Management of small and nutritionally at-risk infants under 6 months and their mothers",
			nutrition.ProgrammeFollowUp, "Follow-up")},
	{id: "nutrition-intervention", title: "Contigo nutrition interventions", description: "Interventions recorded as MedicationAdministration or Procedure and counted by the indicators.", complete: true,
		codes: codes(nutrition.InterventionRUTF, "Ready-to-use therapeutic food", nutrition.InterventionRUSF, "Ready-to-use supplementary food",
			nutrition.InterventionSFF, "Specialised fortified food", nutrition.InterventionAmoxicillin, "Amoxicillin",
			nutrition.InterventionVitaminA, "Vitamin A supplementation", nutrition.InterventionDeworming, "Deworming",
			nutrition.InterventionMNP, "Micronutrient powders or lipid-based nutrient supplements", nutrition.InterventionIFA, "Iron-folic acid or multiple micronutrient supplements",
			nutrition.InterventionIYCFCounselling, "Infant and young child feeding counselling", nutrition.InterventionPLWCounselling, "Counselling of a pregnant or lactating woman",
			nutrition.InterventionReferral, "Referral")},
	{id: "alert-status", title: "Contigo alert statuses", description: "The workflow status of a nutrition alert.", complete: true,
		codes: codes(nutrition.StatusOpen, "Open", nutrition.StatusAcknowledged, "Acknowledged", nutrition.StatusReferred, "Referred",
			nutrition.StatusAdmitted, "Admitted", nutrition.StatusResolved, "Resolved", nutrition.StatusClosed, "Closed")},
	{id: "episode-outcome", title: "Contigo episode outcomes", description: "How a nutrition treatment episode ended.", complete: true,
		codes: codes(nutrition.OutcomeCured, "Cured", nutrition.OutcomeDied, "Died", nutrition.OutcomeDefaulted, "Defaulted",
			nutrition.OutcomeNonResponse, "Non-response", nutrition.OutcomeTransferredInternal, "Transferred within the country",
			nutrition.OutcomeTransferredExternal, "Transferred to another country", nutrition.OutcomeMovedUnknown, "Moved, destination unknown")},
	{id: "population-group", title: "Contigo population groups", description: "The population group of a Patient for the nutrition rules.",
		codes: codes(nutrition.StatusPregnant, "Pregnant woman", nutrition.StatusLactating, "Lactating woman")},
	{id: "birthdate-precision", title: "Contigo birth date precision", description: "How precisely a Patient's birth date is known.", complete: true,
		codes: codes("day", "Known to the day", "month", "Known to the month", "year", "Known to the year")},
	{id: "flag", title: "Contigo flags", description: "Flags the service raises outside the nutrition rules.", complete: true,
		codes: codes("referral-in", "Referred in from another country")},
	{id: "country", title: "Contigo countries", description: "The country whose node holds a resource (meta.tag on federated answers): ISO 3166-1 alpha-2 codes.",
		codes: codes("CO", "Colombia", "EC", "Ecuador", "PE", "Peru", "BR", "Brazil", "PA", "Panama", "VE", "Venezuela", "CL", "Chile", "BO", "Bolivia")},
}

// extensionDef is one of the project's extensions.
type extensionDef struct {
	id, title, description string
	contexts               []string // FHIRPath of the elements it extends
	valueType              string   // FHIR type of value[x]; "" for a complex extension
	codeSystem             string   // id of the code system binding a valueCode, if any
	subs                   []string // slices of a complex extension (value types: code, code, decimal)
}

// extensions are the project's extensions (Ext* in nutrition.go, and the
// match evidence extension of records/federation).
var extensions = []extensionDef{
	{id: "nutrition-ruleset", title: "Nutrition rule set", description: "The rule set, version and country configuration that produced a derived result.", contexts: []string{"Observation", "Condition", "Flag", "EpisodeOfCare"}, valueType: "string"},
	{id: "nutrition-alert", title: "Nutrition alert payload", description: "The alert payload of nutrition-rules §8, as JSON.", contexts: []string{"Flag"}, valueType: "string"},
	{id: "alert-status", title: "Alert status", description: "The workflow status of a nutrition alert.", contexts: []string{"Flag"}, valueType: "code", codeSystem: "alert-status"},
	{id: "nutrition-episode", title: "Nutrition episode", description: "The treatment episode as the nutrition engine keeps it, as JSON.", contexts: []string{"EpisodeOfCare"}, valueType: "string"},
	{id: "episode-outcome", title: "Episode outcome", description: "How a treatment episode ended.", contexts: []string{"EpisodeOfCare"}, valueType: "code", codeSystem: "episode-outcome"},
	{id: "population-group", title: "Population group", description: "The population group of a Patient for the nutrition rules.", contexts: []string{"Patient"}, valueType: "code", codeSystem: "population-group"},
	{id: "plw-delivery-date", title: "Delivery date", description: "The delivery date of a lactating woman, on the breastfeeding Observation.", contexts: []string{"Observation"}, valueType: "date"},
	{id: "birthdate-precision", title: "Birth date precision", description: "How precisely the birth date is known (else from birthDate's form).", contexts: []string{"Patient"}, valueType: "code", codeSystem: "birthdate-precision"},
	{id: "match-evidence", title: "Match evidence", description: "Why a $match candidate scored as it did: one per field compared.", contexts: []string{"Bundle.entry.search"}, subs: []string{"field:code", "level:code", "weight:decimal"}},
}

// namingSystems are the project's identifier systems.
var namingSystems = []struct{ id, name, description string }{
	{"person-ref", "ContigoPersonRef", "Pseudonymous person references of nutrition alerts: HMAC-SHA256 of the country and record id, 26 base32 characters."},
	{"alert-id", "ContigoAlertID", "The one id of a nutrition alert: <person-ref>.f<13 base32 characters>, the id of GET /alerts/{id}, its CSV row and its pseudonymous Flag; the Flag in the person's record carries it as identifier."},
}

// standardParams maps "Type.name" of each search parameter that FHIR R4
// defines to the id of its SearchParameter in the specification
// (http://hl7.org/fhir/R4/searchparameter-registry.html); "*.name" covers
// every type.
var standardParams = map[string]string{
	"*._id":          "Resource-id",
	"*._lastUpdated": "Resource-lastUpdated",

	"Patient.identifier":         "Patient-identifier",
	"Patient.name":               "Patient-name",
	"Patient.family":             "individual-family",
	"Patient.given":              "individual-given",
	"Patient.birthdate":          "individual-birthdate",
	"Patient.gender":             "individual-gender",
	"Patient.address":            "individual-address",
	"Patient.address-state":      "individual-address-state",
	"Patient.address-city":       "individual-address-city",
	"Patient.address-country":    "individual-address-country",
	"Patient.address-postalcode": "individual-address-postalcode",
	"Patient.telecom":            "individual-telecom",
	"Patient.phone":              "individual-phone",
	"Patient.email":              "individual-email",
	"Patient.active":             "Patient-active",
	"Patient.link":               "Patient-link",

	"Observation.subject":        "Observation-subject",
	"Observation.patient":        "clinical-patient",
	"Observation.code":           "clinical-code",
	"Observation.category":       "Observation-category",
	"Observation.date":           "clinical-date",
	"Observation.status":         "Observation-status",
	"Observation.encounter":      "clinical-encounter",
	"Observation.value-quantity": "Observation-value-quantity",
	"Observation.identifier":     "clinical-identifier",

	"Encounter.subject":    "Encounter-subject",
	"Encounter.patient":    "clinical-patient",
	"Encounter.date":       "clinical-date",
	"Encounter.status":     "Encounter-status",
	"Encounter.identifier": "clinical-identifier",
	"Encounter.class":      "Encounter-class",
	"Encounter.type":       "clinical-type",

	"EpisodeOfCare.patient":    "clinical-patient",
	"EpisodeOfCare.status":     "EpisodeOfCare-status",
	"EpisodeOfCare.date":       "clinical-date",
	"EpisodeOfCare.type":       "clinical-type",
	"EpisodeOfCare.identifier": "clinical-identifier",

	"Condition.subject":             "Condition-subject",
	"Condition.patient":             "clinical-patient",
	"Condition.code":                "clinical-code",
	"Condition.clinical-status":     "Condition-clinical-status",
	"Condition.encounter":           "Condition-encounter",
	"Condition.onset-date":          "Condition-onset-date",
	"Condition.category":            "Condition-category",
	"Condition.recorded-date":       "Condition-recorded-date",
	"Condition.verification-status": "Condition-verification-status",

	"Flag.subject":    "Flag-subject",
	"Flag.patient":    "clinical-patient",
	"Flag.date":       "clinical-date",
	"Flag.encounter":  "clinical-encounter",
	"Flag.identifier": "Flag-identifier",

	"Procedure.subject":   "Procedure-subject",
	"Procedure.patient":   "clinical-patient",
	"Procedure.date":      "clinical-date",
	"Procedure.status":    "Procedure-status",
	"Procedure.code":      "clinical-code",
	"Procedure.encounter": "clinical-encounter",
	"Procedure.category":  "Procedure-category",

	"MedicationAdministration.subject":        "MedicationAdministration-subject",
	"MedicationAdministration.patient":        "clinical-patient",
	"MedicationAdministration.status":         "medications-status",
	"MedicationAdministration.effective-time": "MedicationAdministration-effective-time",
	"MedicationAdministration.code":           "medications-code",
	"MedicationAdministration.context":        "MedicationAdministration-context",

	"Consent.patient":  "clinical-patient",
	"Consent.status":   "Consent-status",
	"Consent.date":     "clinical-date",
	"Consent.category": "Consent-category",

	"AuditEvent.date":    "AuditEvent-date",
	"AuditEvent.entity":  "AuditEvent-entity",
	"AuditEvent.patient": "AuditEvent-patient",
}

// ownParams are the search parameters this server defines itself, by
// "Type.name": FHIRPath expression and description. Each is published as a
// SearchParameter with id "Type-name".
var ownParams = map[string]struct{ expr, desc string }{
	"EpisodeOfCare.subject":         {"EpisodeOfCare.patient", "The Patient of the episode (as patient; named subject like the other types)"},
	"Condition.status":              {"Condition.clinicalStatus", "The clinical status of the condition (also clinical-status)"},
	"Flag.status":                   {"Flag.status", "active | inactive | entered-in-error"},
	"MedicationAdministration.date": {"MedicationAdministration.effective", "When the administration happened (as effective-time)"},
	"Consent.subject":               {"Consent.patient", "The Patient of the consent (as patient; named subject like the other types)"},
}

// StandardParamURL returns the canonical URL of the FHIR R4 definition of
// search parameter name of typ, or "" if R4 defines none.
func StandardParamURL(typ, name string) string {
	id := standardParams[typ+"."+name]
	if id == "" {
		id = standardParams["*."+name]
	}
	if id == "" {
		return ""
	}
	return "http://hl7.org/fhir/SearchParameter/" + id
}

// operationDef is one operation the server serves. base, if set, is the
// canonical URL of the definition in FHIR or an implementation guide that
// this one follows.
type operationDef struct {
	id, code, title, description string
	resource                     []string // empty: system level
	system, typeLevel, instance  bool
	affectsState                 bool
	base                         string
	params                       []opParam
}

type opParam struct {
	name, use, typ string
	min            int
	max            string
	doc            string
}

// operations are the operations this server can serve, by code; the
// CapabilityStatement lists the ones routed.
var operations = []operationDef{
	{id: "Patient-everything", code: "everything", title: "Everything about a Patient", description: "The Patient's whole current record: the Patient first, then every resource in clinical date order. _federated=true merges the records of the linked countries.",
		resource: []string{"Patient"}, instance: true, base: "http://hl7.org/fhir/OperationDefinition/Patient-everything",
		params: []opParam{{"_since", "in", "instant", 0, "1", "Only resources updated since"}, {"_type", "in", "code", 0, "*", "Resource types to include"}, {"_count", "in", "integer", 0, "1", "Page size"},
			{"_federated", "in", "boolean", 0, "1", "Also the records of the countries the Patient links to"}, {"return", "out", "Bundle", 1, "1", "A searchset Bundle"}}},
	{id: "Patient-match", code: "match", title: "Find matching Patients", description: "Scores candidate records against a Patient; _federated=true asks every country.",
		resource: []string{"Patient"}, typeLevel: true, base: "http://hl7.org/fhir/OperationDefinition/Patient-match",
		params: []opParam{{"resource", "in", "Resource", 1, "1", "The Patient to match"}, {"onlyCertainMatches", "in", "boolean", 0, "1", "Only certain matches"},
			{"count", "in", "integer", 0, "1", "Most candidates returned"}, {"return", "out", "Bundle", 1, "1", "Candidates best first, with search.score and match-grade"}}},
	{id: "Patient-link", code: "link", title: "Link a record in another country", description: "Confirms that a record in another country is the same person: adds a seealso link to this Patient.",
		resource: []string{"Patient"}, instance: true, affectsState: true,
		params: []opParam{{"country", "in", "code", 0, "1", "ISO 3166-1 alpha-2 code of the other record's country"}, {"patient", "in", "string", 0, "1", "The other record's Patient id"},
			{"other", "in", "uri", 0, "1", "Absolute reference to the other Patient"}, {"return", "out", "Patient", 1, "1", "The new version of this Patient"}}},
	{id: "Patient-refer", code: "refer", title: "Refer a person to another country", description: "Refers the person to the next country with their consent: the destination gets the Patient and an active referral-in Flag.",
		resource: []string{"Patient"}, instance: true, affectsState: true,
		params: []opParam{{"country", "in", "code", 1, "1", "Destination country, ISO 3166-1 alpha-2"}, {"reason", "in", "string", 1, "1", "Why"}, {"return", "out", "Flag", 1, "1", "The destination's Flag"}}},
	{id: "Patient-referral", code: "referral", title: "Receive a referral (peer nodes)", description: "How a peer node delivers a referral made with $refer; users call $refer.",
		resource: []string{"Patient"}, typeLevel: true, affectsState: true,
		params: []opParam{{"patient", "in", "Resource", 1, "1", "The referred Patient"}, {"reason", "in", "string", 1, "1", "Why"}, {"target", "in", "string", 0, "1", "The record here the person links to"}, {"return", "out", "Flag", 1, "1", "The referral-in Flag"}}},
	{id: "Patient-growth-chart", code: "growth-chart", title: "WHO growth chart", description: "An SVG growth chart of the child's measurements from every linked country on the WHO curves.",
		resource: []string{"Patient"}, instance: true,
		params: []opParam{{"indicator", "in", "code", 0, "1", "wfa, lhfa, wflh (default), bfa or acfa"}, {"_federated", "in", "boolean", 0, "1", "false: this country's measurements only"}, {"return", "out", "Binary", 1, "1", "image/svg+xml"}}},
	{id: "Patient-carne", code: "carne", title: "Printable health card", description: "A one-page printable HTML card of the child's record across countries, in the request's language.",
		resource: []string{"Patient"}, instance: true,
		params: []opParam{{"return", "out", "Binary", 1, "1", "text/html"}}},
	{id: "Patient-summary", code: "summary", title: "International Patient Summary", description: "The record as an International Patient Summary (IPS 1.1.0, STU1 update 1) document Bundle claiming Bundle-uv-ips: a Composition with problems, past illness, vital signs, results (z-scores, findings), procedures and medications given (MedicationStatements derived from the MedicationAdministrations); medications, allergies and problems always present, with one entry coded no-medication-info, no-allergy-info or no-problem-info (absent-unknown-uv-ips) when the record holds none. Each entry claims its IPS profile where it has the profile's required elements. POST takes an empty body or a Parameters without parameters.",
		resource: []string{"Patient"}, instance: true, base: "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
		params: []opParam{{"return", "out", "Bundle", 1, "1", "A document Bundle (IPS)"}}},
	{id: "export", code: "export", title: "Bulk Data export", description: "FHIR Bulk Data export of the system, a Patient compartment or a Group, asynchronous, in NDJSON.",
		resource: []string{"Patient", "Group"}, system: true, typeLevel: true, instance: true, base: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
		params: []opParam{{"_outputFormat", "in", "string", 0, "1", "application/fhir+ndjson"}, {"_since", "in", "instant", 0, "1", "Only resources updated since"}, {"_type", "in", "string", 0, "*", "Resource types to include"}}},
	{id: "Resource-validate", code: "validate", title: "Validate a resource", description: "Validates a resource against this server's rules without storing it.",
		typeLevel: true, instance: true, base: "http://hl7.org/fhir/OperationDefinition/Resource-validate",
		params: []opParam{{"resource", "in", "Resource", 0, "1", "The resource to validate"}, {"return", "out", "OperationOutcome", 1, "1", "The outcome"}}},
}

// operationOf returns the definition of the operation code.
func operationOf(code string) (operationDef, bool) {
	for _, o := range operations {
		if o.code == code {
			return o, true
		}
	}
	return operationDef{}, false
}
