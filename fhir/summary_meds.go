package fhir

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"contigo/records"
)

// The resources the summary writes that the record does not hold: a
// MedicationStatement for each MedicationAdministration (the IPS medication
// section takes statements and requests, not administrations), and the
// "no information" entries of an empty required section. Their ids are
// name-based UUIDs, the same in every summary of the record.

// summaryNamespace is the UUID namespace of the generated ids.
var summaryNamespace = uuid.MustParse("6f1c5d3e-8a57-4c1e-9f0b-3b2f6a1d7c40")

// generatedID returns the stable id of a generated resource named name.
func generatedID(name string) string {
	return uuid.NewSHA1(summaryNamespace, []byte(name)).String()
}

// docMeta is the meta of a resource the summary writes.
type docMeta struct {
	Profile []string `json:"profile"`
}

// The JSON shapes of the generated resources.
type (
	medicationStatement struct {
		ResourceType              string            `json:"resourceType"`
		ID                        string            `json:"id"`
		Meta                      docMeta           `json:"meta"`
		Status                    string            `json:"status"`
		MedicationCodeableConcept json.RawMessage   `json:"medicationCodeableConcept"`
		Subject                   docReference      `json:"subject"`
		Context                   *docReference     `json:"context,omitempty"`
		EffectiveDateTime         json.RawMessage   `json:"effectiveDateTime,omitempty"`
		EffectivePeriod           json.RawMessage   `json:"effectivePeriod,omitempty"`
		DateAsserted              string            `json:"dateAsserted,omitempty"`
		DerivedFrom               []docReference    `json:"derivedFrom,omitempty"`
		Dosage                    []statementDosage `json:"dosage,omitempty"`
	}
	statementDosage struct {
		Text        string          `json:"text,omitempty"`
		Site        json.RawMessage `json:"site,omitempty"`
		Route       json.RawMessage `json:"route,omitempty"`
		Method      json.RawMessage `json:"method,omitempty"`
		DoseAndRate []doseAndRate   `json:"doseAndRate,omitempty"`
	}
	doseAndRate struct {
		DoseQuantity json.RawMessage `json:"doseQuantity,omitempty"`
		RateRatio    json.RawMessage `json:"rateRatio,omitempty"`
		RateQuantity json.RawMessage `json:"rateQuantity,omitempty"`
	}
	// absentEntry is the one entry of a required section without data:
	// a MedicationStatement, AllergyIntolerance or Condition coded from
	// AbsentUnknownSystem.
	absentEntry struct {
		ResourceType              string          `json:"resourceType"`
		ID                        string          `json:"id"`
		Meta                      docMeta         `json:"meta"`
		ClinicalStatus            *docConcept     `json:"clinicalStatus,omitempty"`
		Status                    string          `json:"status,omitempty"`
		Code                      *docConcept     `json:"code,omitempty"`
		MedicationCodeableConcept *docConcept     `json:"medicationCodeableConcept,omitempty"`
		Subject                   *docReference   `json:"subject,omitempty"`
		Patient                   *docReference   `json:"patient,omitempty"`
		EffectivePeriod           json.RawMessage `json:"effectivePeriod,omitempty"`
	}
)

// statementStatus maps MedicationAdministration.status to
// MedicationStatement.status (entered-in-error is left out of the summary).
var statementStatus = map[string]string{
	"in-progress": "active", "not-done": "not-taken", "on-hold": "on-hold",
	"completed": "completed", "stopped": "stopped", "unknown": "unknown",
}

// generated is a resource the summary writes: its fullUrl and JSON.
type generated struct {
	fullURL, profile string
	body             []byte
}

// statementOf returns the MedicationStatement-uv-ips the summary writes for
// the MedicationAdministration ma: its status, medication (the code, else
// the display of a medicationReference as text, else data-absent-reason
// "unknown" as the IPS says for a coded element without a value), subject,
// effective[x] (data-absent-reason "unknown" when the record has none),
// the Encounter, dosage, derivedFrom the administration. url resolves a
// relative reference of the record to its fullUrl ("" if not in the
// document); now is dateAsserted.
func statementOf(ma records.Resource, patientURL, now string, url func(ref string) string) (generated, error) {
	var v struct {
		Status                    string          `json:"status"`
		MedicationCodeableConcept json.RawMessage `json:"medicationCodeableConcept"`
		MedicationReference       *struct {
			Display string `json:"display"`
		} `json:"medicationReference"`
		Context           *docReference   `json:"context"`
		EffectiveDateTime json.RawMessage `json:"effectiveDateTime"`
		EffectivePeriod   json.RawMessage `json:"effectivePeriod"`
		Dosage            *struct {
			Text         string          `json:"text"`
			Site         json.RawMessage `json:"site"`
			Route        json.RawMessage `json:"route"`
			Method       json.RawMessage `json:"method"`
			Dose         json.RawMessage `json:"dose"`
			RateRatio    json.RawMessage `json:"rateRatio"`
			RateQuantity json.RawMessage `json:"rateQuantity"`
		} `json:"dosage"`
	}
	if err := json.Unmarshal(ma.Body, &v); err != nil {
		return generated{}, fmt.Errorf("read %s/%s: %w", ma.Type, ma.ID, err)
	}
	id := generatedID("MedicationStatement/" + ma.ID)
	ms := medicationStatement{
		ResourceType:              "MedicationStatement",
		ID:                        id,
		Meta:                      docMeta{Profile: []string{ProfileIPSMedicationStatement}},
		Status:                    statementStatus[v.Status],
		MedicationCodeableConcept: v.MedicationCodeableConcept,
		Subject:                   docReference{Reference: patientURL},
		EffectiveDateTime:         v.EffectiveDateTime,
		EffectivePeriod:           v.EffectivePeriod,
		DateAsserted:              now,
		DerivedFrom:               []docReference{{Reference: url(ma.Type + "/" + ma.ID)}},
	}
	if ms.Status == "" {
		ms.Status = "unknown"
	}
	if len(ms.MedicationCodeableConcept) == 0 {
		c := docConcept{Coding: []docCoding{{System: "http://terminology.hl7.org/CodeSystem/data-absent-reason", Code: "unknown", Display: "Unknown"}}}
		if v.MedicationReference != nil && v.MedicationReference.Display != "" {
			c = docConcept{Text: v.MedicationReference.Display}
		}
		b, err := json.Marshal(c)
		if err != nil {
			return generated{}, err
		}
		ms.MedicationCodeableConcept = b
	}
	if len(ms.EffectiveDateTime) == 0 && len(ms.EffectivePeriod) == 0 {
		b, err := json.Marshal(dataAbsent("unknown"))
		if err != nil {
			return generated{}, err
		}
		ms.EffectivePeriod = b
	}
	if v.Context != nil {
		if u := url(v.Context.Reference); u != "" {
			ms.Context = &docReference{Reference: u}
		}
	}
	if d := v.Dosage; d != nil {
		sd := statementDosage{Text: d.Text, Site: d.Site, Route: d.Route, Method: d.Method}
		if len(d.Dose) > 0 || len(d.RateRatio) > 0 || len(d.RateQuantity) > 0 {
			sd.DoseAndRate = []doseAndRate{{DoseQuantity: d.Dose, RateRatio: d.RateRatio, RateQuantity: d.RateQuantity}}
		}
		if sd.Text != "" || len(sd.Site) > 0 || len(sd.Route) > 0 || len(sd.Method) > 0 || sd.DoseAndRate != nil {
			ms.Dosage = []statementDosage{sd}
		}
	}
	b, err := marshalDoc(ms)
	if err != nil {
		return generated{}, fmt.Errorf("statement of %s/%s: %w", ma.Type, ma.ID, err)
	}
	return generated{"urn:uuid:" + id, ProfileIPSMedicationStatement, b}, nil
}

// absentOf returns the "no information" entry of the required section
// code (SectionMedications, SectionAllergies or SectionProblems) of person
// personID, as the IPS example bundle-no-info-required-sections writes it.
func absentOf(code, personID, patientURL string) (generated, error) {
	subject := &docReference{Reference: patientURL}
	var e absentEntry
	switch code {
	case SectionMedications:
		e = absentEntry{ResourceType: "MedicationStatement", Meta: docMeta{Profile: []string{ProfileIPSMedicationStatement}}, Status: "unknown",
			MedicationCodeableConcept: absentConcept("no-medication-info", "No information about medications"), Subject: subject}
		b, err := json.Marshal(dataAbsent("not-applicable"))
		if err != nil {
			return generated{}, err
		}
		e.EffectivePeriod = b
	case SectionAllergies:
		e = absentEntry{ResourceType: "AllergyIntolerance", Meta: docMeta{Profile: []string{ProfileIPSAllergyIntolerance}},
			ClinicalStatus: &docConcept{Coding: []docCoding{{System: "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", Code: "active", Display: "Active"}}},
			Code:           absentConcept("no-allergy-info", "No information about allergies"), Patient: subject}
	case SectionProblems:
		e = absentEntry{ResourceType: "Condition", Meta: docMeta{Profile: []string{ProfileIPSCondition}},
			ClinicalStatus: &docConcept{Coding: []docCoding{{System: "http://terminology.hl7.org/CodeSystem/condition-clinical", Code: "active", Display: "Active"}}},
			Code:           absentConcept("no-problem-info", "No information about problems"), Subject: subject}
	default:
		return generated{}, fmt.Errorf("no absent entry for section %s", code)
	}
	e.ID = generatedID(e.ResourceType + "/absent/" + personID)
	b, err := marshalDoc(e)
	if err != nil {
		return generated{}, err
	}
	return generated{"urn:uuid:" + e.ID, e.Meta.Profile[0], b}, nil
}

func absentConcept(code, display string) *docConcept {
	return &docConcept{Coding: []docCoding{{System: AbsentUnknownSystem, Code: code, Display: display}}}
}
