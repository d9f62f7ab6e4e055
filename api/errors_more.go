package api

import (
	"errors"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// moreIssues returns an issue for every FieldError joined in err after the
// first (which classify reports), so that one answer lists every broken
// rule of a resource.
func moreIssues(err error, issue r4.IssueType) []r4.OperationOutcomeIssue {
	fes := fieldErrors(err)
	if len(fes) < 2 {
		return nil
	}
	out := make([]r4.OperationOutcomeIssue, 0, len(fes)-1)
	for _, fe := range fes[1:] {
		out = append(out, Outcome(issue, fe.Reason, fe.Field).Issue[0])
	}
	return out
}

// fieldErrors returns the FieldErrors in err, depth first, in the order
// errors.AsType finds the first one.
func fieldErrors(err error) []*records.FieldError {
	if fe, ok := err.(*records.FieldError); ok {
		return []*records.FieldError{fe}
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []*records.FieldError
		for _, e := range u.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		return fieldErrors(u.Unwrap())
	}
	if fe, ok := errors.AsType[*records.FieldError](err); ok {
		return []*records.FieldError{fe}
	}
	return nil
}
