package api

import (
	"cmp"
	"errors"
	"slices"

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
	case issueList:
		var out []*records.FieldError
		for _, e := range u {
			out = append(out, fieldErrors(e)...)
		}
		return out
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

// issueList is several errors answered together whose status and issue
// code are the first one's (errors.Is and errors.As see only the first),
// e.g. a 403 and a 422 in one transaction: the answer is 403 and names
// both.
type issueList []error

func (l issueList) Error() string { return errors.Join(l...).Error() }

// Unwrap returns the first error, which decides the answer's status.
func (l issueList) Unwrap() error { return l[0] }

// issues returns errs as one error: nil, the error itself, or an
// issueList led by the most severe (a refusal before a broken rule).
func issues(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	l := issueList(slices.Clone(errs))
	slices.SortStableFunc(l, func(a, b error) int {
		return cmp.Compare(severity(a), severity(b))
	})
	return l
}

// severity orders errors for issues: refusals first.
func severity(err error) int {
	if errors.Is(err, records.ErrForbidden) {
		return 0
	}
	return 1
}
