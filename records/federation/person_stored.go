package federation

import (
	"encoding/json"
	"fmt"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
)

// storedPatient holds the elements of a Patient that FromPatient reads,
// and nothing else: decoding a whole r4.Patient (three passes in
// FromPatientJSON) was a quarter of the CPU of a peer's $match at 100,000
// persons (docs/federation.md, "`$match` at scale").
type storedPatient struct {
	ResourceType string  `json:"resourceType"`
	ID           *string `json:"id"`
	Identifier   []struct {
		System *string `json:"system"`
		Value  *string `json:"value"`
	} `json:"identifier"`
	Name      []storedName             `json:"name"`
	BirthDate *string                  `json:"birthDate"`
	Gender    *r4.AdministrativeGender `json:"gender"`
	Contact   []struct {
		Name         *storedName          `json:"name"`
		Relationship []r4.CodeableConcept `json:"relationship"`
	} `json:"contact"`
	Extension []r4.Extension `json:"extension"`
}

// storedName is a HumanName with its "_family" element.
type storedName struct {
	Family    *string        `json:"family"`
	FamilyEl  any            `json:"_family"`
	Given     []string       `json:"given"`
	Text      *string        `json:"text"`
	Extension []r4.Extension `json:"extension"`
}

// human returns n as FromPatientJSON reads a Patient's name: with
// parts, the surname parts of "_family" (which FromPatientJSON reads on
// Patient.name only, not on a contact's name).
func (n storedName) human(parts bool) r4.HumanName {
	h := r4.HumanName{Family: n.Family, Given: n.Given, Text: n.Text, Extension: n.Extension}
	if !parts {
		return h
	}
	fp := fhir.FamilyParts(n.FamilyEl)
	for _, s := range fp {
		h.Extension = append(h.Extension, r4.Extension{Url: ExtFathersFamily, ValueString: &s})
	}
	if len(fp) > 0 {
		h.Family = nil // the parts say the same, split
	}
	return h
}

// FromStoredPatientJSON reads a Patient that the store holds (fhir.Parse
// checked it when it was written) as FromPatientJSON does, in one pass
// over only the elements matching reads. A body FromPatientJSON accepts
// gives the same Person (TestFromStoredPatientJSON); one it rejects may be
// accepted here, so read what a client sent with FromPatientJSON.
func FromStoredPatientJSON(body []byte) (Person, error) {
	var sp storedPatient
	if err := json.Unmarshal(body, &sp); err != nil {
		return Person{}, fmt.Errorf("read patient: %w: %v", records.ErrMalformed, err)
	}
	if sp.ResourceType != "Patient" {
		return Person{}, fmt.Errorf("read patient: %w: resourceType is %q, want Patient", records.ErrMalformed, sp.ResourceType)
	}
	pt := r4.Patient{Id: sp.ID, BirthDate: sp.BirthDate, Gender: sp.Gender, Extension: sp.Extension}
	for _, id := range sp.Identifier {
		pt.Identifier = append(pt.Identifier, r4.Identifier{System: id.System, Value: id.Value})
	}
	for _, n := range sp.Name {
		pt.Name = append(pt.Name, n.human(true))
	}
	for _, c := range sp.Contact {
		pc := r4.PatientContact{Relationship: c.Relationship}
		if c.Name != nil {
			h := c.Name.human(false)
			pc.Name = &h
		}
		pt.Contact = append(pt.Contact, pc)
	}
	return FromPatient(&pt), nil
}
