package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// outcomes maps each error kind to its HTTP status and FHIR issue type; the
// first row whose kind matches (errors.Is) wins.
var outcomes = []struct {
	kind   error
	status int
	issue  r4.IssueType
}{
	{records.ErrMalformed, http.StatusBadRequest, r4.IssueTypeStructure},
	{records.ErrInvalid, http.StatusUnprocessableEntity, r4.IssueTypeInvalid},
	{records.ErrNotFound, http.StatusNotFound, r4.IssueTypeNotFound},
	{records.ErrGone, http.StatusGone, r4.IssueTypeDeleted},
	{records.ErrConflict, http.StatusConflict, r4.IssueTypeConflict},
	{records.ErrVersionMismatch, http.StatusPreconditionFailed, r4.IssueTypeConflict},
	{records.ErrPeerUnavailable, http.StatusBadGateway, r4.IssueTypeTransient},
	{records.ErrUnauthorized, http.StatusUnauthorized, r4.IssueTypeLogin},
	{records.ErrForbidden, http.StatusForbidden, r4.IssueTypeForbidden},
	{records.ErrNotSupported, http.StatusNotImplemented, r4.IssueTypeNotSupported},
	{records.ErrUnavailable, http.StatusServiceUnavailable, r4.IssueTypeTransient},
	{records.ErrTooMany, http.StatusTooManyRequests, r4.IssueTypeThrottled},
	{errBusy, http.StatusServiceUnavailable, r4.IssueTypeThrottled},
	{errUnsupportedMedia, http.StatusUnsupportedMediaType, r4.IssueTypeNotSupported},
	{errNotAcceptable, http.StatusNotAcceptable, r4.IssueTypeNotSupported},
	{errPreconditionFailed, http.StatusPreconditionFailed, r4.IssueTypeMultipleMatches},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, r4.IssueTypeTimeout},
}

var (
	// errUnsupportedMedia: the request is not FHIR JSON (e.g. XML): 415.
	errUnsupportedMedia = errors.New("unsupported media type")
	// errPreconditionFailed: a conditional create matched several resources: 412.
	errPreconditionFailed = errors.New("precondition failed")
	// errBusy: a search waited for a slot of the search lane until its
	// deadline (searchlane.go): 503 with Retry-After.
	errBusy = errors.New("busy")
)

// echoIssues maps the statuses Echo itself produces (unknown route, wrong
// method, body too large, timeout) to issue types.
var echoIssues = map[int]r4.IssueType{
	http.StatusBadRequest:            r4.IssueTypeStructure,
	http.StatusNotFound:              r4.IssueTypeNotFound,
	http.StatusMethodNotAllowed:      r4.IssueTypeNotSupported,
	http.StatusRequestEntityTooLarge: r4.IssueTypeTooLong,
	http.StatusUnsupportedMediaType:  r4.IssueTypeNotSupported,
	http.StatusUnauthorized:          r4.IssueTypeLogin,
	http.StatusForbidden:             r4.IssueTypeForbidden,
	http.StatusServiceUnavailable:    r4.IssueTypeTimeout,
}

// classify returns the HTTP status, issue type, diagnostics and FHIRPath
// expression for err. Unknown errors are 500 "internal error".
func classify(err error) (status int, issue r4.IssueType, diag, expr string) {
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		// A ContextTimeout 503 wraps context.DeadlineExceeded; a read past
		// the body limit comes back as Echo's 413 wrapped by our handler.
		issue, ok := echoIssues[he.Code]
		if !ok {
			issue = r4.IssueTypeProcessing
		}
		msg, _ := he.Message.(string)
		if msg == "" {
			msg = http.StatusText(he.Code)
		}
		return he.Code, issue, msg, ""
	}
	for _, o := range outcomes {
		if errors.Is(err, o.kind) {
			if fe, ok := errors.AsType[*records.FieldError](err); ok {
				return o.status, o.issue, fe.Reason, fe.Field
			}
			// The kind is in the status and issue code already.
			return o.status, o.issue, strings.TrimSuffix(err.Error(), ": "+o.kind.Error()), ""
		}
	}
	return http.StatusInternalServerError, r4.IssueTypeException, "internal error", ""
}

// statusOf returns the HTTP status err will be answered with; 200 for nil.
func statusOf(c echo.Context, err error) int {
	if err == nil {
		if s := c.Response().Status; s != 0 {
			return s
		}
		return http.StatusOK
	}
	s, _, _, _ := classify(err)
	return s
}

// handleError is the Echo HTTPErrorHandler: it answers every error with an
// OperationOutcome, logging internal errors once with the request id.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, issue, diag, expr := classify(err)
	rid := requestID(c)
	if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusNotImplemented && status != http.StatusBadGateway {
		s.log.ErrorContext(c.Request().Context(), "internal error", "request_id", rid, "route", c.Path(), "err", err)
		diag = "internal error; request id " + rid
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="contigo"`)
	}
	oo := Outcome(issue, diag, expr)
	if status < 500 {
		oo.Issue = append(oo.Issue, moreIssues(err, issue)...)
	}
	localizeOutcome(c, &oo)
	if err := writeJSON(c, status, oo); err != nil {
		s.log.ErrorContext(c.Request().Context(), "write error response", "request_id", rid, "err", err)
	}
}

// Outcome returns an OperationOutcome with one error issue.
func Outcome(issue r4.IssueType, diagnostics, expression string) r4.OperationOutcome {
	is := r4.OperationOutcomeIssue{Severity: r4.IssueSeverityError, Code: issue}
	if diagnostics != "" {
		is.Diagnostics = &diagnostics
	}
	if expression != "" {
		is.Expression = []string{expression}
	}
	return r4.OperationOutcome{Issue: []r4.OperationOutcomeIssue{is}}
}

// fhirJSON is the content type of every response.
const fhirJSON = "application/fhir+json; charset=utf-8"

// writeJSON marshals v fully, then writes it with status as FHIR JSON.
func writeJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(status, fhirJSON, b)
}
