package fhir

import (
	"errors"
	"net/url"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

var errTODO = errors.New("fhir: not implemented yet")

// ContentType is the media type of FHIR JSON.
const ContentType = "application/fhir+json"

// TimeFormat is how instants are written in Keys and compared in search:
// UTC, millisecond precision, so that they sort as strings. It matches the
// format records uses for "_lastUpdated".
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Parse reads one FHIR resource of type wantType ("" accepts any writable
// type) from body, validates it, and returns it with its Keys and canonical
// Body (no id or authoritative meta). ID is the body's id, if any. now is
// the clock for the future-date rules. Errors are *records.FieldError of
// kind records.ErrMalformed or records.ErrInvalid (see the package doc).
func Parse(body []byte, wantType string, now time.Time) (records.Resource, error) {
	return records.Resource{}, errTODO
}

// Render returns the FHIR JSON of r with id, meta.versionId and
// meta.lastUpdated set from r. It returns nil, nil for a deleted version.
func Render(r records.Resource) ([]byte, error) { return nil, errTODO }

// ETag returns the weak ETag of a version: W/"3".
func ETag(version int64) string { return "" }

// ParseETag reads an ETag or If-Match value (W/"3", "3" or 3) into a
// version; records.ErrMalformed if it is none of those.
func ParseETag(s string) (int64, error) { return 0, errTODO }

// Subject returns the id of the person r is about: r's own id for a
// Patient, the id in its subject or patient reference otherwise, "" if none.
func Subject(r records.Resource) string { return "" }

// References returns every literal reference in r's body ("Type/id"),
// sorted and without duplicates, for the caller to check that each points at
// something. urn:uuid references are left out.
func References(r records.Resource) []string { return nil }

// Writable reports whether resources of type typ can be created and updated.
func Writable(typ string) bool { return false }

// Readable reports whether resources of type typ are served (Writable types
// plus AuditEvent).
func Readable(typ string) bool { return false }

// SearchRequest is a parsed search: the records query plus what shapes the
// result Bundle.
type SearchRequest struct {
	Query   records.Query
	Summary string     // "count" for _summary=count, else ""
	Params  url.Values // the accepted parameters, normalised, without _cursor: the base of paging links
	prev    []string   // cursors of the pages before this one, for the previous link
}

// ParseSearch parses the query parameters of a search on typ. Unknown
// parameters, unsupported modifiers or prefixes and bad values are
// *records.FieldError of kind records.ErrMalformed with the parameter as
// Field. Values only ever become Cond values, never operators.
func ParseSearch(typ string, params url.Values) (SearchRequest, error) {
	return SearchRequest{}, errTODO
}

// Issue is one OperationOutcome issue, e.g. a warning placed in a searchset
// Bundle (search.mode = outcome).
type Issue struct {
	Severity    r4.IssueSeverity
	Code        r4.IssueType
	Expression  string // FHIRPath of the offending element, "" if none
	Diagnostics string
}

// SearchBundle returns a searchset Bundle for one page of req's results:
// total (when page.Total >= 0), self, first, next and previous links under
// base (e.g. "https://node/fhir"), one entry per resource with fullUrl and
// search.mode match, and one OperationOutcome entry (search.mode outcome)
// holding warnings, if any. For _summary=count it holds no entries.
func SearchBundle(base string, req SearchRequest, page records.Page, warnings ...Issue) ([]byte, error) {
	return nil, errTODO
}

// HistoryBundle returns a history Bundle of versions (newest first, as
// given), with request and response per entry; self is the link to this
// history relative to base (e.g. "Patient/123/_history").
func HistoryBundle(base, self string, versions []records.Resource) ([]byte, error) {
	return nil, errTODO
}

// EverythingBundle returns the searchset Bundle of Patient/personID/$everything:
// resources in the order given (Patient first, then by date).
func EverythingBundle(base, personID string, resources []records.Resource) ([]byte, error) {
	return nil, errTODO
}

// Bundle is a parsed batch or transaction Bundle.
type Bundle struct {
	Type       string // "batch" or "transaction"
	Identifier string // Bundle.identifier as "system|value", "" if none
	Entries    []Entry
	sum        string // sha256 of the body
}

// Entry is one entry of a batch or transaction Bundle.
type Entry struct {
	FullURL     string // e.g. "urn:uuid:..."
	Method      string // POST, PUT, DELETE or GET
	URL         string // request.url as sent
	Type        string // the target resource type, from URL
	ID          string // the target id: from URL for PUT/DELETE/GET, set by AssignIDs for POST
	IfNoneExist string // POST: the conditional-create query, "" if none
	IfMatch     int64  // PUT/DELETE: the version of request.ifMatch, 0 if none
	Resource    records.Resource
	PersonID    string // whose record the entry changes, set by AssignIDs
	Existing    string // "Type/id" when a conditional create matched an existing resource
}

// ParseBundle parses a batch or transaction Bundle and every resource in it
// (with Parse's rules; urn:uuid references to other entries are allowed).
// Errors are *records.FieldError located in the Bundle, e.g.
// "Bundle.entry[3].resource.subject".
func ParseBundle(body []byte, now time.Time) (*Bundle, error) { return nil, errTODO }

// TxnKey returns the idempotency key of b: "identifier:system|value" when the
// Bundle has an identifier, else "sha256:<hex of the body>".
func (b *Bundle) TxnKey() string { return "" }

// AssignIDs gives every POST entry a deterministic id derived from key and
// its fullUrl (so that a retried upload gets the same ids): 26 characters
// for a Patient, "<personID>.<12 characters>" for anything else. matched
// maps entry indexes whose conditional create (IfNoneExist) found an existing
// resource to that resource ("Type/id"): those entries create nothing.
// Then every reference to an entry's fullUrl is rewritten to "Type/id", in
// bodies and Keys, and each entry's PersonID is set. A reference to a
// urn:uuid that no entry has is a *records.FieldError.
func AssignIDs(b *Bundle, key string, matched map[int]string) error { return errTODO }

// TransactionResponse returns the transaction-response Bundle: applied holds
// the new versions of the entries that changed something (not GET, not
// Existing), in entry order.
func TransactionResponse(b *Bundle, applied []records.Resource) ([]byte, error) {
	return nil, errTODO
}

// EntryResult is the outcome of one batch entry.
type EntryResult struct {
	Status   int              // HTTP status of the entry
	Resource records.Resource // the version written or read; zero if none
	Err      error            // the failure, rendered as an OperationOutcome; nil on success
	Return   bool             // include the rendered resource (GET entries)
}

// BatchResponse returns the batch-response Bundle, one entry per result in
// entry order.
func BatchResponse(results []EntryResult) ([]byte, error) { return nil, errTODO }

// Outcome returns an OperationOutcome with one issue.
func Outcome(severity r4.IssueSeverity, code r4.IssueType, expression, diagnostics string) []byte {
	return nil
}

// Status returns the HTTP status and issue type for err by its records
// kind; 500 and exception for anything unknown.
func Status(err error) (int, r4.IssueType) { return 500, r4.IssueTypeException }

// OperationOutcome returns the status and OperationOutcome body for err: a
// FieldError's Reason as diagnostics and Field as expression; the error text
// for known kinds; "internal error (request <id>)" for anything else, so
// that internal details never leak.
func OperationOutcome(err error, requestID string) (int, []byte) { return 500, nil }

// CapabilityStatement returns the server's CapabilityStatement: exactly
// the resources, interactions and search parameters implemented here.
func CapabilityStatement(base string, now time.Time) []byte { return nil }
