package fhir

import (
	"contigo/records/namekey"
)

// Surname-part extensions of HumanName.family. Source: the FHIR R4 core
// extensions registry, http://hl7.org/fhir/R4/extensibility-registry.html.
const (
	extFathersFamily = "http://hl7.org/fhir/StructureDefinition/humanname-fathers-family"
	extMothersFamily = "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family"
)

// patientKeys adds the blocking key of the decoded Patient m
// (namekey.Match) and, for a name whose family is given only by its
// fathers-family and mothers-family extensions (in "_family"), the family
// keys of those parts.
func (p *parser) patientKeys(m map[string]any) {
	var given, family []string
	names, _ := m["name"].([]any)
	for _, n := range names {
		name, _ := n.(map[string]any)
		for _, g := range asList(name["given"]) {
			if s, ok := g.(string); ok {
				given = append(given, s)
			}
		}
		if f, ok := name["family"].(string); ok {
			family = append(family, f)
			continue
		}
		for _, part := range FamilyParts(name["_family"]) {
			family = append(family, part)
			p.add("family", normalize(part))
			p.add("family", words(part)...)
			p.add("name", words(part)...)
		}
	}
	birth, _ := m["birthDate"].(string)
	p.add(namekey.Match, namekey.Blocks(namekey.PartsOf(given, family, birth))...)
}

// FamilyParts returns the fathers-family and mothers-family surnames held
// by the decoded "_family" element e of a HumanName, in that order; nil if
// it has neither.
func FamilyParts(e any) []string {
	el, _ := e.(map[string]any)
	exts, _ := el["extension"].([]any)
	var fathers, mothers []string
	for _, x := range exts {
		ext, _ := x.(map[string]any)
		v, ok := ext["valueString"].(string)
		if !ok {
			continue
		}
		switch ext["url"] {
		case extFathersFamily:
			fathers = append(fathers, v)
		case extMothersFamily:
			mothers = append(mothers, v)
		}
	}
	return append(fathers, mothers...)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
