package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"contigo/records"
)

// Subset is what _summary and _elements ask of a returned resource
// (http://hl7.org/fhir/R4/search.html#summary, #elements). The zero value
// asks for the whole resource.
type Subset struct {
	Summary  string   // "true", "text", "data", or "" (false)
	Elements []string // top-level element names; nil if not given
}

// subsettedTag is the meta.tag R4 requires on a subsetted resource.
var subsettedTag = map[string]any{
	"system":  "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
	"code":    "SUBSETTED",
	"display": "Resource encoded in summary mode",
}

// summaryElements are the top-level elements marked isSummary in the R4
// definitions of each served type (choice elements by their base name).
var summaryElements = map[string][]string{
	"Patient": {"identifier", "active", "name", "telecom", "gender", "birthDate", "deceased",
		"address", "managingOrganization", "link"},
	"Observation": {"identifier", "basedOn", "partOf", "status", "code", "subject", "focus", "encounter",
		"effective", "issued", "performer", "value", "hasMember", "derivedFrom", "component"},
	"Encounter": {"identifier", "status", "class", "type", "serviceType", "priority", "subject", "episodeOfCare",
		"basedOn", "participant", "appointment", "period", "length", "reasonCode", "reasonReference",
		"diagnosis", "account", "serviceProvider", "partOf"},
	"Condition": {"identifier", "clinicalStatus", "verificationStatus", "severity", "code", "bodySite",
		"subject", "encounter", "onset", "abatement", "recordedDate", "recorder", "asserter"},
	"EpisodeOfCare": {"identifier", "status", "type", "diagnosis", "patient", "managingOrganization", "period"},
	"Procedure": {"identifier", "instantiatesCanonical", "instantiatesUri", "basedOn", "partOf", "status",
		"statusReason", "category", "code", "subject", "encounter", "performed", "recorder", "asserter",
		"performer", "location", "reasonCode", "reasonReference", "bodySite", "outcome"},
	"MedicationAdministration": {"identifier", "instantiates", "partOf", "status", "medication", "subject",
		"context", "effective", "performer"},
	"Flag":    {"identifier", "status", "category", "code", "subject", "period", "encounter", "author"},
	"Consent": {"identifier", "status", "scope", "category", "patient", "dateTime", "performer", "organization", "source", "policyRule", "provision"},
}

// mandatoryElements are the top-level elements with a minimum cardinality
// of 1 in R4: kept by _elements and _summary=text so that the subset is
// still a valid resource.
var mandatoryElements = map[string][]string{
	"Observation":              {"status", "code"},
	"Encounter":                {"status", "class"},
	"Condition":                {"subject"},
	"EpisodeOfCare":            {"status", "patient"},
	"Procedure":                {"status", "subject"},
	"MedicationAdministration": {"status", "medication", "subject", "effective"},
	"Flag":                     {"status", "code", "subject"},
	"Consent":                  {"status", "scope", "category"},
}

func (s *Subset) setSummary(typ, v string) error {
	if v == "false" {
		s.Summary = ""
		return nil
	}
	if summaryElements[typ] == nil {
		return searchErr("_summary", "_summary is not supported on %s", typ)
	}
	s.Summary = v
	return nil
}

func (s *Subset) setElements(typ string, values []string) error {
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if t, rest, ok := strings.Cut(e, "."); ok && t == typ {
				e = rest // Patient.name is name
			}
			if !isElementName(e) {
				return searchErr("_elements", "want top-level element names such as identifier,name: %q", e)
			}
			s.Elements = append(s.Elements, e)
		}
	}
	return nil
}

func isElementName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ParseSubset reads _summary and _elements for a read of typ (_summary=count
// is for searches only). *records.FieldError of kind ErrMalformed on a bad
// value.
func ParseSubset(typ, summary string, elements []string) (Subset, error) {
	var s Subset
	switch summary {
	case "", "false":
	case "true", "text", "data":
		if err := s.setSummary(typ, summary); err != nil {
			return Subset{}, err
		}
	default:
		return Subset{}, searchErr("_summary", "want true, text, data or false")
	}
	if err := s.setElements(typ, slices.DeleteFunc(slices.Clone(elements), func(v string) bool { return v == "" })); err != nil {
		return Subset{}, err
	}
	return s, nil
}

// Active reports whether s asks for less than the whole resource.
func (s Subset) Active() bool { return s.Summary != "" || s.Elements != nil }

// keeps reports whether top-level element name of typ stays in s: an
// element of a choice (valueQuantity) by its base name (value), and a
// primitive's extension (_birthDate) with its primitive.
func (s Subset) keeps(typ, name string) bool {
	switch name {
	case "resourceType", "id", "meta", "implicitRules":
		return true
	case "text":
		return s.Summary == "text" || (s.Summary == "" && slices.Contains(s.Elements, "text"))
	}
	name = strings.TrimPrefix(name, "_")
	in := func(list []string) bool {
		for _, e := range list {
			if name == e || (strings.HasPrefix(name, e) && len(name) > len(e) && name[len(e)] >= 'A' && name[len(e)] <= 'Z' && slices.Contains(choiceBases, e)) {
				return true
			}
		}
		return false
	}
	switch s.Summary {
	case "true":
		return in(summaryElements[typ])
	case "text":
		return in(mandatoryElements[typ])
	case "data":
		return true
	}
	return in(s.Elements) || in(mandatoryElements[typ])
}

// choiceBases are the base names of the choice elements of the served
// types.
var choiceBases = []string{"deceased", "multipleBirth", "effective", "value", "onset", "abatement", "performed", "medication", "source"}

// Apply returns r's rendered JSON with only what s keeps, tagged SUBSETTED
// in meta.tag; the whole rendering when s is not Active.
func (s Subset) Apply(r records.Resource) ([]byte, error) {
	if !s.Active() || r.Deleted {
		return Render(r)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("subset %s/%s: body is not a JSON object", r.Type, r.ID)
	}
	for k := range m {
		if !s.keeps(r.Type, k) {
			delete(m, k)
		}
	}
	meta, _ := m["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	tags, _ := meta["tag"].([]any)
	meta["tag"] = append(tags, subsettedTag)
	m["meta"] = meta
	body, err := canonical(m)
	if err != nil {
		return nil, fmt.Errorf("subset %s/%s: %w", r.Type, r.ID, err)
	}
	r.Body = body
	return Render(r)
}

// ForIncluded is the subset for resources _include and _revinclude add:
// _summary applies to them, _elements (named for the searched type) not.
func (s Subset) ForIncluded() Subset { return Subset{Summary: s.Summary} }
