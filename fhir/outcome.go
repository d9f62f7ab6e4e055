package fhir

import (
	"context"
	"encoding/json"
	"errors"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// outcomes maps error kinds to HTTP status and issue type (STYLE.md §3).
// The first match wins, so FieldError kinds come before ErrInvalid.
var outcomes = []struct {
	kind   error
	status int
	issue  r4.IssueType
}{
	{records.ErrMalformed, 400, r4.IssueTypeStructure},
	{records.ErrInvalid, 422, r4.IssueTypeInvalid},
	{records.ErrNotFound, 404, r4.IssueTypeNotFound},
	{records.ErrGone, 410, r4.IssueTypeDeleted},
	{records.ErrConflict, 409, r4.IssueTypeDuplicate},
	{records.ErrVersionMismatch, 412, r4.IssueTypeConflict},
	{records.ErrUnauthorized, 401, r4.IssueTypeLogin},
	{records.ErrForbidden, 403, r4.IssueTypeForbidden},
	{records.ErrNotSupported, 501, r4.IssueTypeNotSupported},
	{records.ErrPeerUnavailable, 502, r4.IssueTypeTransient},
	{records.ErrUnavailable, 503, r4.IssueTypeTransient},
	{context.DeadlineExceeded, 503, r4.IssueTypeTimeout},
}

// Status returns the HTTP status and issue type for err by its kind; 500
// and exception for anything else.
func Status(err error) (int, r4.IssueType) {
	for _, o := range outcomes {
		if errors.Is(err, o.kind) {
			return o.status, o.issue
		}
	}
	return 500, r4.IssueTypeException
}

// IssueTypeFor returns the issue type that fits an HTTP status the caller
// chose itself (for errors that are not records kinds, such as Echo's):
// 413 too-costly, 415 and 405 not-supported, 429 throttled, and the Status
// table otherwise; exception for unknown statuses.
func IssueTypeFor(status int) r4.IssueType {
	switch status {
	case 405, 406, 415:
		return r4.IssueTypeNotSupported
	case 413:
		return r4.IssueTypeTooCostly
	case 429:
		return r4.IssueTypeThrottled
	}
	for _, o := range outcomes {
		if o.status == status {
			return o.issue
		}
	}
	if status >= 400 && status < 500 {
		return r4.IssueTypeInvalid
	}
	return r4.IssueTypeException
}

// Outcome returns an OperationOutcome with one issue; expression and
// diagnostics are left out when empty.
func Outcome(severity r4.IssueSeverity, code r4.IssueType, expression, diagnostics string) []byte {
	return outcomeOf(Issue{Severity: severity, Code: code, Expression: expression, Diagnostics: diagnostics})
}

// outcomeOf returns the OperationOutcome holding issues.
func outcomeOf(issues ...Issue) []byte {
	oo := r4.OperationOutcome{Issue: make([]r4.OperationOutcomeIssue, len(issues))}
	for i, is := range issues {
		oi := &oo.Issue[i]
		oi.Severity, oi.Code = is.Severity, is.Code
		if is.Diagnostics != "" {
			oi.Diagnostics = &is.Diagnostics
		}
		if is.Expression != "" {
			oi.Expression = []string{is.Expression}
		}
	}
	b, err := json.Marshal(oo)
	if err != nil {
		panic("fhir: encode OperationOutcome: " + err.Error()) // only strings and codes: cannot fail
	}
	return b
}

// OperationOutcome returns the status and OperationOutcome body for err: a
// FieldError's Reason as diagnostics and Field as expression, one issue per
// FieldError when err joins several; the error text
// for known kinds (errors carry opaque ids only); "internal error (request
// <id>)" for anything else, so that internal details never leak. The caller
// logs the full error of a 500.
func OperationOutcome(err error, requestID string) (int, []byte) {
	status, code := Status(err)
	is := Issue{Severity: r4.IssueSeverityError, Code: code, Diagnostics: err.Error()}
	if fe, ok := errors.AsType[*records.FieldError](err); ok {
		is.Expression, is.Diagnostics = fe.Field, fe.Reason
	}
	if status == 500 {
		is.Severity, is.Expression = r4.IssueSeverityFatal, ""
		is.Diagnostics = "internal error (request " + requestID + ")"
		if requestID == "" {
			is.Diagnostics = "internal error"
		}
		return status, outcomeOf(is)
	}
	var fes []*records.FieldError
	collect(err, &fes)
	if len(fes) < 2 {
		return status, outcomeOf(is)
	}
	// One issue per broken rule, the first leading.
	issues := []Issue{is}
	for _, fe := range fes[1:] {
		issues = append(issues, Issue{Severity: r4.IssueSeverityError, Code: code, Diagnostics: fe.Reason, Expression: fe.Field})
	}
	return status, outcomeOf(issues...)
}
