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

// IPS section codes (LOINC) that an International Patient Summary must
// have (IPS STU1, Composition-uv-ips: medications, allergies, problems).
var ipsRequired = []string{"10160-0", "48765-2", "11450-4"}

// ipsSectionTypes are the resource types a section's entries may be. The
// IPS names MedicationStatement and MedicationRequest for medications;
// MedicationAdministration is what Contigo holds.
var ipsSectionTypes = map[string][]string{
	"10160-0": {"MedicationStatement", "MedicationRequest", "MedicationAdministration"},
	"48765-2": {"AllergyIntolerance"},
	"11450-4": {"Condition"},
	"11348-0": {"Condition"},
	"47519-4": {"Procedure"},
	"8716-3":  {"Observation"},
	"30954-2": {"Observation", "DiagnosticReport"},
	"10162-6": {"Observation"},
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

// IPSProblems returns what keeps body from being an International Patient
// Summary document (the IPS STU1 elements that FHIR R4's JSON schema does
// not check): Bundle.identifier (system and value), timestamp, type
// document; every entry with a unique fullUrl; a Composition first, final,
// of type LOINC 60591-5, with subject (a Patient in the Bundle), date,
// author (in the Bundle), title; the required sections; every section with
// title, LOINC code, well-formed XHTML narrative, entries or else an
// emptyReason (not both), every entry a resource in the Bundle of a type
// the section takes. Nil if none.
func IPSProblems(body []byte) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var b struct {
		ResourceType string
		Type         string
		Timestamp    string
		Identifier   *struct{ System, Value string }
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	if b.ResourceType != "Bundle" || b.Type != "document" {
		bad("resourceType %q type %q, want a document Bundle", b.ResourceType, b.Type)
	}
	if b.Identifier == nil || b.Identifier.System == "" || b.Identifier.Value == "" {
		bad("Bundle.identifier needs a system and a value (bdl-9)")
	}
	if _, err := time.Parse(time.RFC3339, b.Timestamp); err != nil {
		bad("Bundle.timestamp %q is not an instant (bdl-10)", b.Timestamp)
	}
	types := map[string]string{} // fullUrl -> resourceType
	for i, e := range b.Entry {
		var r struct{ ResourceType, ID string }
		if err := json.Unmarshal(e.Resource, &r); err != nil || r.ResourceType == "" {
			bad("entry[%d] has no resource", i)
			continue
		}
		if e.FullURL == "" {
			bad("entry[%d] has no fullUrl", i)
		} else if _, dup := types[e.FullURL]; dup {
			bad("entry[%d] repeats fullUrl %s (bdl-7)", i, e.FullURL)
		}
		if !strings.HasPrefix(e.FullURL, "urn:uuid:") && !strings.HasSuffix(e.FullURL, "/"+r.ResourceType+"/"+r.ID) {
			bad("entry[%d] fullUrl %s disagrees with %s/%s", i, e.FullURL, r.ResourceType, r.ID)
		}
		types[e.FullURL] = r.ResourceType
	}
	resolve := func(ref string) string {
		if t, ok := types[ref]; ok {
			return t
		}
		for u, t := range types {
			if !strings.Contains(ref, ":") && strings.HasSuffix(u, "/"+ref) {
				return t
			}
		}
		return ""
	}
	if len(b.Entry) == 0 {
		return append(out, "no entries")
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
		}
	}
	if err := json.Unmarshal(b.Entry[0].Resource, &comp); err != nil || comp.ResourceType != "Composition" {
		return append(out, "the first entry is not a Composition (bdl-11)")
	}
	if comp.Status != "final" {
		bad("Composition.status %q, want final", comp.Status)
	}
	if !comp.Type.has("http://loinc.org", "60591-5") {
		bad("Composition.type is not LOINC 60591-5")
	}
	if comp.Subject == nil || resolve(comp.Subject.Reference) != "Patient" {
		bad("Composition.subject does not name a Patient in the Bundle")
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
	var codes []string
	for i, s := range comp.Section {
		at := fmt.Sprintf("Composition.section[%d]", i)
		code := ""
		if s.Code != nil {
			for _, cd := range s.Code.Coding {
				if cd.System == "http://loinc.org" {
					code = cd.Code
				}
			}
		}
		if code == "" {
			bad("%s has no LOINC code", at)
		}
		codes = append(codes, code)
		if s.Title == "" {
			bad("%s has no title", at)
		}
		if s.Text == nil || s.Text.Status == "" || !wellFormedDiv(s.Text.Div) {
			bad("%s has no well-formed XHTML narrative", at)
		}
		switch {
		case len(s.Entry) == 0 && s.EmptyReason == nil:
			bad("%s has neither entries nor an emptyReason", at)
		case len(s.Entry) > 0 && s.EmptyReason != nil:
			bad("%s has entries and an emptyReason (cmp-2)", at)
		}
		for _, e := range s.Entry {
			t := resolve(e.Reference)
			if t == "" {
				bad("%s entry %s is not in the Bundle", at, e.Reference)
			} else if want, ok := ipsSectionTypes[code]; ok && !slices.Contains(want, t) {
				bad("%s entry %s is a %s, want one of %v", at, e.Reference, t, want)
			}
		}
	}
	for _, r := range ipsRequired {
		if !slices.Contains(codes, r) {
			bad("required section %s missing", r)
		}
	}
	return out
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
