package federation

import (
	"encoding/json"
	"fmt"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
)

// Extension URLs read from a Patient. Source: the FHIR R4 core extensions
// registry, http://hl7.org/fhir/R4/extensibility-registry.html.
const (
	ExtMothersMaidenName = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
	ExtBirthPlace        = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
	ExtNationality       = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
	ExtFathersFamily     = "http://hl7.org/fhir/StructureDefinition/humanname-fathers-family"
	ExtMothersFamily     = "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family"
	// ExtMatchGrade is the extension a $match answer puts on each entry's
	// search element, with valueCode certain, probable or possible (Grade).
	ExtMatchGrade = "http://hl7.org/fhir/StructureDefinition/match-grade"
	// ExtMatchEvidence is Contigo's extension on a $match entry's search
	// element saying why: one per field compared, with sub-extensions
	// field (valueCode: given, family, birthdate, sex, birthplace,
	// nationality, mother, identifier, or rule), level (valueCode: the
	// agreement level, Evidence.Level) and weight (valueDecimal: log2 m/u).
	ExtMatchEvidence = "https://contigo.example/fhir/StructureDefinition/match-evidence"
)

// Person is what matching needs to know of a Patient, as written in the
// record: nothing is normalised here, Score does that.
type Person struct {
	Country     records.Country // the country whose node holds the record; empty for a query
	ID          string          // the Patient's logical id; empty for a query
	Identifiers []string        // "system|value"
	Names       []Name          // every name the Patient has
	BirthDate   string          // YYYY, YYYY-MM or YYYY-MM-DD; empty if unknown
	Sex         string          // FHIR administrative gender: male, female, other, unknown or ""
	BirthPlace  string          // country code or place, as written; empty if unknown
	Nationality []string        // country codes or names, as written
	Mother      Name            // the mother's name; zero if unknown
}

// Name is one human name: given names and surnames as written, e.g.
// Given ["María José"], Family ["García", "Pérez"] or Family ["García Pérez"].
type Name struct {
	Given  []string
	Family []string
}

// IsZero reports whether n has no given name and no surname.
func (n Name) IsZero() bool { return len(n.Given) == 0 && len(n.Family) == 0 }

// FromPatientJSON reads a FHIR R4 Patient. The mother's name comes from a
// contact whose relationship is the mother (v3 RoleCode MTH or "mother"),
// else from the mothersMaidenName extension; birthplace and nationality
// from their standard extensions. It returns an error matching
// records.ErrMalformed if body is not a Patient.
func FromPatientJSON(body []byte) (Person, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return Person{}, fmt.Errorf("read patient: %w: %v", records.ErrMalformed, err)
	}
	if head.ResourceType != "Patient" {
		return Person{}, fmt.Errorf("read patient: %w: resourceType is %q, want Patient", records.ErrMalformed, head.ResourceType)
	}
	var pt r4.Patient
	if err := json.Unmarshal(body, &pt); err != nil {
		return Person{}, fmt.Errorf("read patient: %w: %v", records.ErrMalformed, err)
	}
	// samply's HumanName has no "_family": read the surname-part
	// extensions that it may hold separately.
	var parts struct {
		Name []struct {
			Family any `json:"_family"`
		} `json:"name"`
	}
	if err := json.Unmarshal(body, &parts); err != nil {
		return Person{}, fmt.Errorf("read patient: %w: %v", records.ErrMalformed, err)
	}
	for i := range min(len(parts.Name), len(pt.Name)) {
		for _, s := range fhir.FamilyParts(parts.Name[i].Family) {
			pt.Name[i].Extension = append(pt.Name[i].Extension, r4.Extension{Url: ExtFathersFamily, ValueString: &s})
		}
		if len(fhir.FamilyParts(parts.Name[i].Family)) > 0 {
			pt.Name[i].Family = nil // the parts say the same, split
		}
	}
	return FromPatient(&pt), nil
}

// FromPatient summarises an R4 Patient for matching.
func FromPatient(pt *r4.Patient) Person {
	var p Person
	if pt.Id != nil {
		p.ID = *pt.Id
	}
	for _, id := range pt.Identifier {
		if id.Value != nil && *id.Value != "" {
			p.Identifiers = append(p.Identifiers, deref(id.System)+"|"+*id.Value)
		}
	}
	for _, n := range pt.Name {
		if name := nameOf(n); !name.IsZero() {
			p.Names = append(p.Names, name)
		}
	}
	p.BirthDate = deref(pt.BirthDate)
	if pt.Gender != nil {
		p.Sex = pt.Gender.Code()
	}
	for _, c := range pt.Contact {
		if c.Name != nil && isMother(c.Relationship) {
			p.Mother = nameOf(*c.Name)
			break
		}
	}
	for _, e := range pt.Extension {
		switch e.Url {
		case ExtMothersMaidenName:
			if p.Mother.IsZero() && e.ValueString != nil {
				p.Mother = Name{Family: []string{*e.ValueString}}
			}
		case ExtBirthPlace:
			if a := e.ValueAddress; a != nil {
				p.BirthPlace = firstNonEmpty(deref(a.Country), deref(a.City), deref(a.Text))
			}
		case ExtNationality:
			for _, sub := range e.Extension {
				if sub.Url == "code" && sub.ValueCodeableConcept != nil {
					if s := conceptText(*sub.ValueCodeableConcept); s != "" {
						p.Nationality = append(p.Nationality, s)
					}
				}
			}
		}
	}
	return p
}

// nameOf reads a HumanName: the family string, or the father's and
// mother's family extensions when family is absent (FromPatientJSON moves
// those of "_family" there); text if nothing else.
func nameOf(n r4.HumanName) Name {
	var out Name
	out.Given = append(out.Given, n.Given...)
	if n.Family != nil && *n.Family != "" {
		out.Family = []string{*n.Family}
	} else {
		for _, e := range n.Extension {
			if (e.Url == ExtFathersFamily || e.Url == ExtMothersFamily) && e.ValueString != nil {
				out.Family = append(out.Family, *e.ValueString)
			}
		}
	}
	if out.IsZero() && n.Text != nil {
		// Only free text: guess the Spanish order, given names first and the
		// last two words as surnames. Matching compares token sets, so a
		// wrong guess costs little.
		w := strings.Fields(*n.Text)
		k := max(len(w)-2, min(len(w), 1))
		out.Given, out.Family = w[:k], w[k:]
	}
	return out
}

// isMother reports whether a contact relationship names the mother: v3
// RoleCode MTH (or NMTH, natural mother) or a text saying so.
func isMother(rel []r4.CodeableConcept) bool {
	for _, cc := range rel {
		for _, c := range cc.Coding {
			switch strings.ToUpper(deref(c.Code)) {
			case "MTH", "NMTH", "MOTHER":
				return true
			}
		}
		if t := fold(deref(cc.Text)); t == "mother" || t == "madre" || t == "mae" {
			return true
		}
	}
	return false
}

func conceptText(cc r4.CodeableConcept) string {
	for _, c := range cc.Coding {
		if s := deref(c.Code); s != "" {
			return s
		}
	}
	return deref(cc.Text)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
