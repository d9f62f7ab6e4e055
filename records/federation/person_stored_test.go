package federation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFromStoredPatientJSON: on every Patient FromPatientJSON accepts (the
// R4 examples of fhir/testdata that are Patients, and the bodies of the
// tests and fuzz seeds here, with contacts, "_family" parts and the
// mother, birthplace and nationality extensions),
// FromStoredPatientJSON gives the same Person.
func TestFromStoredPatientJSON(t *testing.T) {
	t.Parallel()
	bodies := map[string]string{
		"compound": `{"resourceType":"Patient","name":[{"family":"De la Cruz","given":["María José"]}],"birthDate":"2023-04"}`,
		"text":     `{"resourceType":"Patient","name":[{"text":"a b c d"}],"contact":[{"relationship":[{"text":"Madre"}],"name":{"given":["Ana"]}}]}`,
		"nation":   `{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality","extension":[{"url":"code","valueCodeableConcept":{"text":"VE"}}]}]}`,
		"contact-family-parts": `{"resourceType":"Patient","id":"x","gender":"male","birthDate":"2022-01-02",
		  "name":[{"_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-fathers-family","valueString":"Cruz"}]},"given":["Luis"]}],
		  "contact":[{"relationship":[{"coding":[{"code":"MTH"}]}],"name":{"family":"Peña","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-mothers-family","valueString":"Núñez"}]},"given":["Ana"]}}]}`,
		"full": `{
		  "resourceType": "Patient", "id": "p1",
		  "identifier": [{"system": "urn:contigo:id:ve-cedula", "value": "31234567"}, {"system": "urn:x"}, {"value": "v"}],
		  "name": [{"family": "De la Cruz Peña", "given": ["María José"]},
		           {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/humanname-fathers-family", "valueString": "Cruz"},
		                          {"url": "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family", "valueString": "Peña"}],
		            "given": ["Majo"]},
		           {"text": "Maria Jose Cruz Pena"}],
		  "gender": "female", "birthDate": "2023-04",
		  "contact": [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}], "name": {"family": "Otro"}},
		              {"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}],
		               "name": {"family": "Peña Núñez", "given": ["Ana"]}}],
		  "extension": [
		    {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Ignored"},
		    {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": {"city": "Maracaibo", "country": "VE"}},
		    {"url": "http://hl7.org/fhir/StructureDefinition/patient-nationality", "extension": [
		      {"url": "code", "valueCodeableConcept": {"coding": [{"system": "urn:iso:std:iso:3166", "code": "VE"}]}}]}]
		}`,
		"maiden": `{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName","valueString":"Pérez"}]}`,
	}
	files, err := filepath.Glob("../../fhir/testdata/r4/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"resourceType": "Patient"`) || strings.Contains(string(b), `"resourceType":"Patient"`) {
			bodies[filepath.Base(f)] = string(b)
		}
	}
	for name, body := range bodies {
		want, err := FromPatientJSON([]byte(body))
		if err != nil {
			continue // not a Patient FromPatientJSON reads: nothing to compare
		}
		got, err := FromStoredPatientJSON([]byte(body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-FromPatientJSON +FromStoredPatientJSON):\n%s", name, diff)
		}
	}
}
