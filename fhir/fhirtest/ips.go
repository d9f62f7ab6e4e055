package fhirtest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// The International Patient Summary, IPS 1.1.0 (STU1 update 1,
// http://hl7.org/fhir/uv/ips): what IPSProblems checks beyond the R4 JSON
// schema, from the profiles' differentials (input/profiles of HL7/fhir-ips
// at the 1.1.0 publication).
const (
	ipsBase           = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
	ipsAbsentUnknown  = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
	dataAbsentReason  = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
	loincSystem       = "http://loinc.org"
	ipsBundle         = ipsBase + "Bundle-uv-ips"
	ipsComposition    = ipsBase + "Composition-uv-ips"
	ipsPatient        = ipsBase + "Patient-uv-ips"
	ipsCondition      = ipsBase + "Condition-uv-ips"
	ipsAllergy        = ipsBase + "AllergyIntolerance-uv-ips"
	ipsProcedure      = ipsBase + "Procedure-uv-ips"
	ipsImmunization   = ipsBase + "Immunization-uv-ips"
	ipsMedStatement   = ipsBase + "MedicationStatement-uv-ips"
	ipsResults        = ipsBase + "Observation-results-uv-ips"
	ipsPregnancyState = ipsBase + "Observation-pregnancy-status-uv-ips"
)

// ipsRequired are the sections Composition-uv-ips requires (1..1):
// medications, allergies, problems.
var ipsRequired = []string{"10160-0", "48765-2", "11450-4"}

// ipsSectionTypes are the resource types a section's entries may be
// (Composition-uv-ips section slices' entry types).
var ipsSectionTypes = map[string][]string{
	"10160-0": {"MedicationStatement", "MedicationRequest", "MedicationAdministration", "MedicationDispense", "DocumentReference"},
	"48765-2": {"AllergyIntolerance", "DocumentReference"},
	"11450-4": {"Condition", "DocumentReference"},
	"11348-0": {"Condition", "DocumentReference"},
	"47519-4": {"Procedure", "DocumentReference"},
	"11369-6": {"Immunization", "DocumentReference"},
	"8716-3":  {"Observation", "DocumentReference"},
	"30954-2": {"Observation", "DiagnosticReport", "DocumentReference"},
	"10162-6": {"Observation", "DocumentReference"},
}

// ipsSectionProfiles are the profiles of which a section needs at least
// one entry (its 1..* entry slice) in Composition-uv-ips.
var ipsSectionProfiles = map[string]string{
	"48765-2": ipsAllergy,
	"11450-4": ipsCondition,
	"11348-0": ipsCondition,
	"47519-4": ipsProcedure,
	"11369-6": ipsImmunization,
}

// ipsAbsentCodes are the codes of absent-unknown-uv-ips each required
// section's "no information"/"known absent" entry may carry (the value sets
// absent-or-unknown-medications/allergies/problems-uv-ips).
var ipsAbsentCodes = map[string][]string{
	"10160-0": {"no-medication-info", "no-known-medications"},
	"48765-2": {"no-allergy-info", "no-known-allergies", "no-known-medication-allergies", "no-known-environmental-allergies", "no-known-food-allergies"},
	"11450-4": {"no-problem-info", "no-known-problems"},
}

// CheckIPS fails tb for every problem IPSProblems finds in body.
func CheckIPS(tb testing.TB, body []byte) {
	tb.Helper()
	for _, p := range IPSProblems(body) {
		tb.Errorf("IPS: %s", p)
	}
}

type ipsRef struct {
	Reference string `json:"reference"`
}

type ipsConcept struct {
	Coding []struct{ System, Code string } `json:"coding"`
}

func (c *ipsConcept) has(system, code string) bool {
	return c != nil && slices.ContainsFunc(c.Coding, func(cd struct{ System, Code string }) bool { return cd.System == system && cd.Code == code })
}

// obj is a decoded JSON object.
type obj = map[string]any

// present reports whether m holds key with a value or, for a primitive,
// its _key (a value or extensions: e.g. a data-absent-reason).
func present(m obj, key string) bool {
	if v, ok := m[key]; ok && v != nil && v != "" {
		return true
	}
	_, ok := m["_"+key]
	return ok
}

// choice returns the names of base[x] that m holds (with or without a value).
func choice(m obj, base string) []string {
	var out []string
	for k := range m {
		name := strings.TrimPrefix(k, "_")
		if rest, ok := strings.CutPrefix(name, base); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' && !slices.Contains(out, rest) {
			out = append(out, rest)
		}
	}
	return out
}

// concept reports whether v is a CodeableConcept with a coding or text.
func concept(v any) bool {
	c, _ := v.(obj)
	codings, _ := c["coding"].([]any)
	text, _ := c["text"].(string)
	return len(codings) > 0 || text != ""
}

// codes returns "system|code" of each coding of the CodeableConcept v.
func codes(v any) []string {
	c, _ := v.(obj)
	codings, _ := c["coding"].([]any)
	var out []string
	for _, cd := range codings {
		m, _ := cd.(obj)
		sys, _ := m["system"].(string)
		code, _ := m["code"].(string)
		out = append(out, sys+"|"+code)
	}
	return out
}

// ref returns the reference of the Reference v, "" if none.
func ref(v any) string {
	r, _ := v.(obj)
	s, _ := r["reference"].(string)
	return s
}

// profiles returns meta.profile of a resource.
func profiles(m obj) []string {
	meta, _ := m["meta"].(obj)
	ps, _ := meta["profile"].([]any)
	var out []string
	for _, p := range ps {
		if s, ok := p.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// IPSProblems returns what keeps body from being an International Patient
// Summary document conforming to the IPS 1.1.0 profiles it claims (the
// rules FHIR R4's JSON schema does not check). The Bundle must claim
// Bundle-uv-ips: identifier (system and value), timestamp, type document,
// no link, every entry with a unique fullUrl and no search, request or
// response, one Composition, first, claiming Composition-uv-ips, one
// Patient claiming Patient-uv-ips. The Composition: final, of type LOINC
// 60591-5, subject (the Patient), date, author (in the Bundle), title; the
// required sections once each, with entries; every section with title,
// LOINC code, well-formed XHTML narrative, no emptyReason and no
// subsection, every entry a resource in the Bundle of a type the section
// takes, at least one entry of the profile the section requires (e.g. a
// Condition-uv-ips among the problems), "no information" codes only those
// of the section. Every entry that claims an IPS profile has its required
// elements and fixed values (see ipsEntryProblems). Nil if none.
func IPSProblems(body []byte) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var b struct {
		ResourceType string
		Type         string
		Timestamp    string
		Meta         *struct{ Profile []string }
		Identifier   *struct{ System, Value string }
		Link         []any
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Search   any             `json:"search"`
			Request  any             `json:"request"`
			Response any             `json:"response"`
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	if b.ResourceType != "Bundle" || b.Type != "document" {
		bad("resourceType %q type %q, want a document Bundle", b.ResourceType, b.Type)
	}
	if b.Meta == nil || !slices.Contains(b.Meta.Profile, ipsBundle) {
		bad("Bundle.meta.profile does not claim %s", ipsBundle)
	}
	if b.Identifier == nil || b.Identifier.System == "" || b.Identifier.Value == "" {
		bad("Bundle.identifier needs a system and a value (bdl-9)")
	}
	if _, err := time.Parse(time.RFC3339, b.Timestamp); err != nil {
		bad("Bundle.timestamp %q is not an instant (bdl-10)", b.Timestamp)
	}
	if len(b.Link) > 0 {
		bad("Bundle.link present (Bundle-uv-ips: 0..0)")
	}
	types := map[string]string{} // fullUrl -> resourceType
	resources := make([]obj, len(b.Entry))
	patients, compositions := 0, 0
	for i, e := range b.Entry {
		var r obj
		if err := json.Unmarshal(e.Resource, &r); err != nil || r == nil {
			bad("entry[%d] has no resource", i)
			continue
		}
		resources[i] = r
		typ, _ := r["resourceType"].(string)
		id, _ := r["id"].(string)
		if typ == "" {
			bad("entry[%d] has no resourceType", i)
			continue
		}
		if e.Search != nil || e.Request != nil || e.Response != nil {
			bad("entry[%d] has search, request or response (Bundle-uv-ips: 0..0)", i)
		}
		if e.FullURL == "" {
			bad("entry[%d] has no fullUrl", i)
		} else if _, dup := types[e.FullURL]; dup {
			bad("entry[%d] repeats fullUrl %s (bdl-7)", i, e.FullURL)
		}
		if !strings.HasPrefix(e.FullURL, "urn:uuid:") && !strings.HasSuffix(e.FullURL, "/"+typ+"/"+id) {
			bad("entry[%d] fullUrl %s disagrees with %s/%s", i, e.FullURL, typ, id)
		}
		types[e.FullURL] = typ
		switch typ {
		case "Patient":
			patients++
		case "Composition":
			compositions++
		}
	}
	if patients != 1 {
		bad("%d Patients in the Bundle, want 1 (Bundle-uv-ips entry:patient 1..1)", patients)
	}
	if compositions > 1 {
		bad("%d Compositions in the Bundle, want 1 (bdl-ips-1)", compositions)
	}
	resolve := func(ref string) string {
		if u, ok := fullURLOf(ref, types); ok {
			return types[u]
		}
		return ""
	}
	if len(b.Entry) == 0 {
		return append(out, "no entries")
	}
	claimed := map[string][]string{} // fullUrl -> meta.profile
	for i, r := range resources {
		if r == nil {
			continue
		}
		claimed[b.Entry[i].FullURL] = profiles(r)
		for _, p := range ipsEntryProblems(r, resolve) {
			bad("entry[%d] %s", i, p)
		}
	}
	var comp struct {
		ResourceType string
		Status       string
		Type         *ipsConcept
		Subject      *ipsRef
		Date         string
		Author       []ipsRef
		Title        string
		Section      []struct {
			Title       string
			Code        *ipsConcept
			Text        *struct{ Status, Div string }
			Entry       []ipsRef
			EmptyReason *ipsConcept
			Section     []any
		}
	}
	if err := json.Unmarshal(b.Entry[0].Resource, &comp); err != nil || comp.ResourceType != "Composition" {
		return append(out, "the first entry is not a Composition (bdl-11)")
	}
	if !slices.Contains(claimed[b.Entry[0].FullURL], ipsComposition) {
		bad("the Composition does not claim %s", ipsComposition)
	}
	if comp.Status != "final" {
		bad("Composition.status %q, want final", comp.Status)
	}
	if !comp.Type.has(loincSystem, "60591-5") {
		bad("Composition.type is not LOINC 60591-5")
	}
	if comp.Subject == nil || resolve(comp.Subject.Reference) != "Patient" {
		bad("Composition.subject does not name a Patient in the Bundle")
	} else if u, _ := fullURLOf(comp.Subject.Reference, types); !slices.Contains(claimed[u], ipsPatient) {
		bad("Composition.subject %s does not claim %s", comp.Subject.Reference, ipsPatient)
	}
	if comp.Date == "" {
		bad("Composition.date missing")
	}
	if len(comp.Author) == 0 {
		bad("Composition.author missing")
	}
	for _, a := range comp.Author {
		if t := resolve(a.Reference); !slices.Contains([]string{"Practitioner", "PractitionerRole", "Device", "Patient", "RelatedPerson", "Organization"}, t) {
			bad("Composition.author %s is not an author in the Bundle", a.Reference)
		}
	}
	if comp.Title == "" {
		bad("Composition.title missing")
	}
	byURL := map[string]obj{}
	for i, r := range resources {
		byURL[b.Entry[i].FullURL] = r
	}
	var sectionCodes []string
	for i, s := range comp.Section {
		at := fmt.Sprintf("Composition.section[%d]", i)
		code := ""
		if s.Code != nil {
			for _, cd := range s.Code.Coding {
				if cd.System == loincSystem {
					code = cd.Code
				}
			}
		}
		if code == "" {
			bad("%s has no LOINC code", at)
		}
		if slices.Contains(ipsRequired, code) && slices.Contains(sectionCodes, code) {
			bad("%s repeats section %s", at, code)
		}
		sectionCodes = append(sectionCodes, code)
		if s.Title == "" {
			bad("%s has no title", at)
		}
		if s.Text == nil || s.Text.Status == "" || !wellFormedDiv(s.Text.Div) {
			bad("%s has no well-formed XHTML narrative", at)
		}
		if s.EmptyReason != nil {
			bad("%s has an emptyReason (Composition-uv-ips: 0..0; say \"no information\" with an entry)", at)
		}
		if len(s.Section) > 0 {
			bad("%s has subsections (Composition-uv-ips: 0..0)", at)
		}
		if len(s.Entry) == 0 && (slices.Contains(ipsRequired, code) || ipsSectionProfiles[code] != "") {
			bad("%s (%s) has no entry (1..*)", at, code)
		}
		hasProfile := false
		for _, e := range s.Entry {
			t := resolve(e.Reference)
			if t == "" {
				bad("%s entry %s is not in the Bundle", at, e.Reference)
				continue
			} else if want, ok := ipsSectionTypes[code]; ok && !slices.Contains(want, t) {
				bad("%s entry %s is a %s, want one of %v", at, e.Reference, t, want)
			}
			u, _ := fullURLOf(e.Reference, types)
			if slices.Contains(claimed[u], ipsSectionProfiles[code]) {
				hasProfile = true
			}
			for _, c := range entryCodes(byURL[u]) {
				if absent, ok := strings.CutPrefix(c, ipsAbsentUnknown+"|"); ok && !slices.Contains(ipsAbsentCodes[code], absent) {
					bad("%s entry %s says %s, which is not for section %s", at, e.Reference, absent, code)
				}
			}
		}
		if want := ipsSectionProfiles[code]; want != "" && len(s.Entry) > 0 && !hasProfile {
			bad("%s (%s) has no entry claiming %s", at, code, want)
		}
	}
	for _, r := range ipsRequired {
		if !slices.Contains(sectionCodes, r) {
			bad("required section %s missing", r)
		}
	}
	return out
}

// fullURLOf returns the fullUrl a reference resolves to in the Bundle
// (types: resourceType by fullUrl), false if it names no entry: the
// fullUrl itself, or a relative reference ending one.
func fullURLOf(ref string, types map[string]string) (string, bool) {
	if _, ok := types[ref]; ok {
		return ref, true
	}
	for u := range types {
		if !strings.Contains(ref, ":") && strings.HasSuffix(u, "/"+ref) {
			return u, true
		}
	}
	return "", false
}

// entryCodes returns "system|code" of the code, vaccineCode or
// medicationCodeableConcept of a resource.
func entryCodes(r obj) []string {
	var out []string
	for _, k := range []string{"code", "vaccineCode", "medicationCodeableConcept"} {
		out = append(out, codes(r[k])...)
	}
	return out
}

// ipsEntryProblems returns what breaks the IPS profiles r claims (its
// meta.profile): each profile's elements of minimum cardinality 1 (with a
// value or a data-absent-reason where the IPS allows one), fixed values,
// prohibited elements, and that the person it is about is a Patient in the
// Bundle (resolve gives a reference's resource type, "" if not in it).
// An IPS profile it does not know is a problem too: a claim it cannot check.
func ipsEntryProblems(r obj, resolve func(string) string) []string {
	var out []string
	typ, _ := r["resourceType"].(string)
	id, _ := r["id"].(string)
	for _, p := range profiles(r) {
		if !strings.HasPrefix(p, ipsBase) {
			continue
		}
		bad := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("%s/%s claims %s but ", typ, id, strings.TrimPrefix(p, ipsBase))+fmt.Sprintf(format, args...))
		}
		need := func(keys ...string) {
			for _, k := range keys {
				if !present(r, k) {
					bad("has no %s", k)
				}
			}
		}
		needConcept := func(keys ...string) {
			for _, k := range keys {
				if !concept(r[k]) {
					bad("has no %s (a CodeableConcept with a coding or text)", k)
				}
			}
		}
		patient := func(key string) {
			if s := ref(r[key]); s == "" {
				bad("has no %s.reference", key)
			} else if resolve(s) != "Patient" {
				bad("%s %s is not the Patient in the Bundle", key, s)
			}
		}
		choiceOf := func(base string, allowed ...string) {
			t := choice(r, base)
			switch {
			case len(t) == 0:
				bad("has no %s[x] (nor a data-absent-reason)", base)
			case len(t) > 1:
				bad("has %s[x] of several types %v", base, t)
			case allowed != nil && !slices.Contains(allowed, t[0]):
				bad("has %s%s, want one of %v", base, t[0], allowed)
			}
		}
		wantType := func(want string) bool {
			if typ != want {
				bad("is not a %s", want)
				return false
			}
			return true
		}
		switch p {
		case ipsComposition, ipsBundle:
			// checked by IPSProblems on the document as a whole
			if (p == ipsComposition && typ != "Composition") || (p == ipsBundle && typ != "Bundle") {
				bad("is not a %s", strings.TrimSuffix(strings.TrimPrefix(p, ipsBase), "-uv-ips"))
			}
		case ipsPatient:
			if !wantType("Patient") {
				continue
			}
			names, _ := r["name"].([]any)
			if len(names) == 0 {
				bad("has no name (1..*)")
			}
			for i, n := range names {
				nm, _ := n.(obj)
				if !present(nm, "family") && !present(nm, "given") && !present(nm, "text") {
					bad("name[%d] has no family, given or text (ips-pat-1)", i)
				}
			}
			need("birthDate")
			addrs, _ := r["address"].([]any)
			for i, a := range addrs {
				am, _ := a.(obj)
				if c, ok := am["country"].(string); ok && !isoCountryCode(c) {
					bad("address[%d].country %q is not an ISO 3166 code (pat-cnt-2or3-char)", i, c)
				}
			}
		case ipsCondition:
			if !wantType("Condition") {
				continue
			}
			needConcept("clinicalStatus", "code")
			patient("subject")
		case ipsAllergy:
			if !wantType("AllergyIntolerance") {
				continue
			}
			patient("patient")
			if !slices.Contains(codes(r["verificationStatus"]), "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification|entered-in-error") {
				needConcept("clinicalStatus") // ait-1 (R4)
			}
		case ipsProcedure:
			if !wantType("Procedure") {
				continue
			}
			need("status")
			needConcept("code")
			patient("subject")
			choiceOf("performed")
		case ipsImmunization:
			if !wantType("Immunization") {
				continue
			}
			need("status")
			needConcept("vaccineCode")
			patient("patient")
			choiceOf("occurrence")
		case ipsMedStatement:
			if !wantType("MedicationStatement") {
				continue
			}
			need("status")
			if s, _ := r["status"].(string); s == "entered-in-error" {
				bad("is entered-in-error (not allowed in the IPS)")
			}
			if !concept(r["medicationCodeableConcept"]) && ref(r["medicationReference"]) == "" {
				bad("has no medication[x]")
			}
			if mr := ref(r["medicationReference"]); mr != "" && resolve(mr) != "Medication" {
				bad("medicationReference %s is not a Medication in the Bundle", mr)
			}
			patient("subject")
			choiceOf("effective", "DateTime", "Period")
		case ipsResults:
			if !wantType("Observation") {
				continue
			}
			if s, _ := r["status"].(string); s != "final" {
				bad("status is %q, fixed final", s)
			}
			needConcept("code")
			patient("subject")
			choiceOf("effective", "DateTime", "Period")
		case ipsPregnancyState:
			if !wantType("Observation") {
				continue
			}
			if !slices.Contains(codes(r["code"]), loincSystem+"|82810-3") {
				bad("code is not LOINC 82810-3")
			}
			patient("subject")
			choiceOf("effective", "DateTime")
			for _, k := range []string{"bodySite", "specimen", "device", "referenceRange", "component"} {
				if present(r, k) {
					bad("has %s (0..0)", k)
				}
			}
			if v := choice(r, "value"); len(v) > 0 {
				ok := len(v) == 1 && v[0] == "CodeableConcept" && slices.ContainsFunc(codes(r["valueCodeableConcept"]), func(c string) bool {
					return slices.Contains([]string{loincSystem + "|LA15173-0", loincSystem + "|LA26683-5", loincSystem + "|LA4489-6"}, c)
				})
				if !ok {
					bad("value is not a code of pregnancy-status-uv-ips")
				}
			}
		default:
			bad("this checker does not know that profile")
		}
		if dar := darProblems(r); dar != "" {
			bad("%s", dar)
		}
	}
	return out
}

// darProblems returns what is wrong with the data-absent-reason extensions
// on r's top-level primitives (_x): each needs a valueCode.
func darProblems(r obj) string {
	for k, v := range r {
		if !strings.HasPrefix(k, "_") {
			continue
		}
		m, _ := v.(obj)
		exts, _ := m["extension"].([]any)
		for _, e := range exts {
			em, _ := e.(obj)
			if em["url"] == dataAbsentReason {
				if c, _ := em["valueCode"].(string); c == "" {
					return k + " has a data-absent-reason without valueCode"
				}
			}
		}
	}
	return ""
}

// isoCountryCode reports whether c has the shape of an ISO 3166-1 alpha-2
// or alpha-3 code (the code list itself is not checked).
func isoCountryCode(c string) bool {
	if len(c) < 2 || len(c) > 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// wellFormedDiv reports whether div is one well-formed XHTML div element.
func wellFormedDiv(div string) bool {
	if !strings.HasPrefix(div, `<div xmlns="http://www.w3.org/1999/xhtml">`) {
		return false
	}
	d := xml.NewDecoder(strings.NewReader(div))
	d.Strict = true
	depth, elems := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return depth == 0 && elems > 0
		}
		if err != nil {
			return false
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			elems++
		case xml.EndElement:
			depth--
		}
	}
}
