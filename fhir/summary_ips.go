package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"contigo/records"
)

// The IPS 1.1.0 (STU1 update 1) profiles the summary claims in meta.profile,
// each only where the resource has the profile's required elements and
// fixed values (see ipsFitter and the fit functions).
const (
	ipsProfileBase = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
	// ProfileIPSBundle is Bundle-uv-ips, claimed by the document.
	ProfileIPSBundle = ipsProfileBase + "Bundle-uv-ips"
	// ProfileIPSComposition is Composition-uv-ips.
	ProfileIPSComposition = ipsProfileBase + "Composition-uv-ips"
	// ProfileIPSPatient is Patient-uv-ips.
	ProfileIPSPatient = ipsProfileBase + "Patient-uv-ips"
	// ProfileIPSCondition is Condition-uv-ips.
	ProfileIPSCondition = ipsProfileBase + "Condition-uv-ips"
	// ProfileIPSMedicationStatement is MedicationStatement-uv-ips.
	ProfileIPSMedicationStatement = ipsProfileBase + "MedicationStatement-uv-ips"
	// ProfileIPSAllergyIntolerance is AllergyIntolerance-uv-ips.
	ProfileIPSAllergyIntolerance = ipsProfileBase + "AllergyIntolerance-uv-ips"
	// ProfileIPSProcedure is Procedure-uv-ips.
	ProfileIPSProcedure = ipsProfileBase + "Procedure-uv-ips"
	// ProfileIPSObservationResults is Observation-results-uv-ips.
	ProfileIPSObservationResults = ipsProfileBase + "Observation-results-uv-ips"
	// ProfileIPSPregnancyStatus is Observation-pregnancy-status-uv-ips.
	ProfileIPSPregnancyStatus = ipsProfileBase + "Observation-pregnancy-status-uv-ips"

	// AbsentUnknownSystem is the IPS code system of "no information" and
	// "known absent" (no-medication-info, no-allergy-info, no-problem-info...).
	AbsentUnknownSystem = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
	// DataAbsentReasonURL is the extension that says why a required
	// element has no value (IPS "Missing Data": for non-coded elements).
	DataAbsentReasonURL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
)

// pregnancyStatusCodes are the LOINC answers of the IPS value set
// pregnancy-status-uv-ips (required binding of the pregnancy status value).
var pregnancyStatusCodes = []string{"LA15173-0", "LA26683-5", "LA4489-6"}

// isoCountry approximates the Patient-uv-ips invariant pat-cnt-2or3-char
// (address.country is an ISO 3166-1 alpha-2 or alpha-3 code): the shape,
// not membership of the code list.
var isoCountry = regexp.MustCompile(`^[A-Z]{2,3}$`)

// dataAbsent returns an element holding only a data-absent-reason.
func dataAbsent(code string) map[string]any {
	return map[string]any{"extension": []any{map[string]any{"url": DataAbsentReasonURL, "valueCode": code}}}
}

// present reports whether m holds key, or its primitive extension _key.
func present(m map[string]any, key string) bool {
	if _, ok := m[key]; ok {
		return true
	}
	_, ok := m["_"+key]
	return ok
}

// hasConcept reports whether v is a CodeableConcept with a coding or text.
func hasConcept(v any) bool {
	c, _ := v.(map[string]any)
	if c == nil {
		return false
	}
	codings, _ := c["coding"].([]any)
	text, _ := c["text"].(string)
	return len(codings) > 0 || text != ""
}

// hasCoding reports whether the CodeableConcept v has a coding of system
// with one of codes.
func hasCoding(v any, system string, codes ...string) bool {
	c, _ := v.(map[string]any)
	codings, _ := c["coding"].([]any)
	for _, cd := range codings {
		m, _ := cd.(map[string]any)
		if s, _ := m["system"].(string); s == system {
			if code, _ := m["code"].(string); slices.Contains(codes, code) {
				return true
			}
		}
	}
	return false
}

// hasReference reports whether v is a Reference with a reference.
func hasReference(v any) bool {
	r, _ := v.(map[string]any)
	s, _ := r["reference"].(string)
	return s != ""
}

// choiceType returns the type suffixes of base[x] that m holds.
func choiceType(m map[string]any, base string) []string {
	var out []string
	for k := range m {
		rest, ok := strings.CutPrefix(strings.TrimPrefix(k, "_"), base)
		if ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' && !slices.Contains(out, rest) {
			out = append(out, rest)
		}
	}
	return out
}

// fitPatient makes m a Patient-uv-ips if it can: every name needs a family,
// given or text (ips-pat-1) and birthDate is required; what the record does
// not know gets a data-absent-reason (IPS "Missing Data"). An address
// country that is not an ISO 3166 code leaves the profile unclaimed.
func fitPatient(m map[string]any) string {
	addrs, _ := m["address"].([]any)
	for _, a := range addrs {
		am, _ := a.(map[string]any)
		if c, ok := am["country"].(string); ok && !isoCountry.MatchString(c) {
			return ""
		}
	}
	names, _ := m["name"].([]any)
	if len(names) == 0 {
		m["name"] = []any{map[string]any{"_text": dataAbsent("unknown")}}
	}
	for _, n := range names {
		nm, _ := n.(map[string]any)
		if nm == nil {
			return ""
		}
		if !present(nm, "family") && !present(nm, "given") && !present(nm, "text") {
			nm["_text"] = dataAbsent("unknown")
		}
	}
	if !present(m, "birthDate") {
		m["_birthDate"] = dataAbsent("unknown")
	}
	return ProfileIPSPatient
}

// fitCondition: Condition-uv-ips needs clinicalStatus, code and subject.
func fitCondition(m map[string]any) string {
	if !hasConcept(m["clinicalStatus"]) || !hasConcept(m["code"]) || !hasReference(m["subject"]) {
		return ""
	}
	return ProfileIPSCondition
}

// fitProcedure: Procedure-uv-ips needs status, code, subject and
// performed[x] (a data-absent-reason when the record has no date).
func fitProcedure(m map[string]any) string {
	if !present(m, "status") || !hasConcept(m["code"]) || !hasReference(m["subject"]) {
		return ""
	}
	if len(choiceType(m, "performed")) == 0 {
		m["_performedDateTime"] = dataAbsent("unknown")
	}
	return ProfileIPSProcedure
}

// fitResult: Observation-results-uv-ips fixes status final and needs code,
// subject and effective[x] as dateTime or Period (a data-absent-reason
// when the record has none).
func fitResult(m map[string]any) string {
	if s, _ := m["status"].(string); s != "final" || !hasConcept(m["code"]) || !hasReference(m["subject"]) {
		return ""
	}
	switch t := choiceType(m, "effective"); {
	case len(t) == 0:
		m["_effectiveDateTime"] = dataAbsent("unknown")
	case len(t) > 1 || (t[0] != "DateTime" && t[0] != "Period"):
		return ""
	}
	return ProfileIPSObservationResults
}

// fitPregnancyStatus: Observation-pregnancy-status-uv-ips fixes code LOINC
// 82810-3, needs subject and effectiveDateTime, takes a value only from its
// value set, and no bodySite, specimen, device, referenceRange, component
// or hasMember (an expected delivery date the record does not hold).
func fitPregnancyStatus(m map[string]any) string {
	if !hasCoding(m["code"], loincSystem, LOINCPregnancy) || !hasReference(m["subject"]) {
		return ""
	}
	for _, k := range []string{"bodySite", "specimen", "device", "referenceRange", "component", "hasMember"} {
		if present(m, k) {
			return ""
		}
	}
	switch v := choiceType(m, "value"); {
	case len(v) == 0:
	case len(v) == 1 && v[0] == "CodeableConcept" && hasCoding(m["valueCodeableConcept"], loincSystem, pregnancyStatusCodes...):
	default:
		return ""
	}
	switch t := choiceType(m, "effective"); {
	case len(t) == 0:
		m["_effectiveDateTime"] = dataAbsent("unknown")
	case len(t) > 1 || t[0] != "DateTime":
		return ""
	}
	return ProfileIPSPregnancyStatus
}

// ipsFitter returns the function that makes a decoded resource of type typ
// carry its IPS profile in the document where section (a LOINC section
// code, "" outside any section) holds it, and returns that profile ("" when
// the resource lacks what the profile requires): the Patient, Conditions
// and Procedures by their type, Observations by the section they are
// listed in (vital signs take the core vitalsigns profile, which the
// summary does not claim). Nil when typ there has no IPS profile.
func ipsFitter(typ, section string) func(map[string]any) string {
	switch typ {
	case "Patient":
		return fitPatient
	case "Condition":
		return fitCondition
	case "Procedure":
		return fitProcedure
	case "Observation":
		switch section {
		case SectionResults:
			return fitResult
		case SectionPregnancy:
			return fitPregnancyStatus
		}
	}
	return nil
}

// ipsRender renders r for the summary (see ipsFitter) and returns the
// profile it claims ("" for none, and then the plain rendering).
func ipsRender(r records.Resource, section string) ([]byte, string, error) {
	fit := ipsFitter(r.Type, section)
	switch {
	case fit == nil:
		b, err := Render(r)
		return b, "", err
	case r.Type == "Condition":
		return conditionRender(r)
	}
	return ipsRenderMap(r, fit)
}

// ipsRenderMap is ipsRender by decoding r's body, fitting it with fit and
// encoding it.
func ipsRenderMap(r records.Resource, fit func(map[string]any) string) ([]byte, string, error) {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, "", fmt.Errorf("summary %s/%s: body is not a JSON object", r.Type, r.ID)
	}
	profile := fit(m)
	if profile == "" {
		b, err := Render(r)
		return b, "", err
	}
	meta, _ := m["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	profiles, _ := meta["profile"].([]any)
	if !slices.Contains(profiles, any(profile)) {
		profiles = append(profiles, profile)
	}
	meta["profile"] = profiles
	m["meta"] = meta
	body, err := canonical(m)
	if err != nil {
		return nil, "", fmt.Errorf("summary %s/%s: %w", r.Type, r.ID, err)
	}
	r.Body = body
	b, err := Render(r)
	return b, profile, err
}

// conditionRender is ipsRender of a Condition, the commonest entry, without
// re-encoding it (a Condition gets no data-absent-reason): the profile goes
// into the meta Render writes. A body that has a meta.profile of its own
// takes the general path.
func conditionRender(r records.Resource) ([]byte, string, error) {
	var v struct {
		ClinicalStatus *docConcept   `json:"clinicalStatus"`
		Code           *docConcept   `json:"code"`
		Subject        *docReference `json:"subject"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return nil, "", fmt.Errorf("summary %s/%s: %w", r.Type, r.ID, err)
	}
	b, err := Render(r)
	if err != nil {
		return nil, "", err
	}
	filled := func(c *docConcept) bool { return c != nil && (len(c.Coding) > 0 || c.Text != "") }
	if !filled(v.ClinicalStatus) || !filled(v.Code) || v.Subject == nil || v.Subject.Reference == "" {
		return b, "", nil
	}
	const meta = `,"meta":{`
	head := `{"resourceType":"Condition","id":`
	i := bytes.Index(b, []byte(meta))
	// the meta Render writes comes right after the id (an id has no ',' or '{')
	if !bytes.HasPrefix(b, []byte(head)) || i < len(head) || bytes.ContainsAny(b[len(head):i], ",{") || bytes.Contains(r.Body, []byte(`"profile"`)) {
		return ipsRenderMap(r, fitCondition)
	}
	out := make([]byte, 0, len(b)+len(ProfileIPSCondition)+16)
	out = append(out, b[:i+len(meta)]...)
	out = append(out, `"profile":["`+ProfileIPSCondition+`"],`...)
	out = append(out, b[i+len(meta):]...)
	return out, ProfileIPSCondition, nil
}
