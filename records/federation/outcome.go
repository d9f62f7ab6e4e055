package federation

import (
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// countrySystem is the code system of ISO 3166-1 country codes in FHIR.
const countrySystem = "urn:iso:std:iso:3166"

// Issue returns the OperationOutcome issue that tells the user this
// country is missing from a federated answer: severity warning (the answer
// is partial, not failed), code timeout or transient, the country as a
// coding in details, and a diagnostics text that names it and the reason
// but never the peer's error text (which might hold data of the peer).
func (f *Failure) Issue() r4.OperationOutcomeIssue {
	code := r4.IssueTypeTransient
	text := "country " + string(f.Country) + " did not answer"
	switch f.Reason {
	case FailTimeout:
		code = r4.IssueTypeTimeout
		text = "country " + string(f.Country) + " did not answer in time"
	case FailCircuitOpen:
		text = "country " + string(f.Country) + " skipped: its node failed repeatedly and is paused"
	case FailCanceled:
		text = "country " + string(f.Country) + ": request canceled"
	case FailError:
		text = "country " + string(f.Country) + " answered with an error"
	}
	sys, cc := countrySystem, string(f.Country)
	return r4.OperationOutcomeIssue{
		Severity:    r4.IssueSeverityWarning,
		Code:        code,
		Details:     &r4.CodeableConcept{Coding: []r4.Coding{{System: &sys, Code: &cc}}, Text: &text},
		Diagnostics: &text,
	}
}
