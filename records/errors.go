package records

import "errors"

// Error kinds. Adapters and the service wrap these with context; the API maps
// each kind to one HTTP status and FHIR issue type.
var (
	ErrMalformed       = errors.New("malformed")           // cannot parse: 400
	ErrInvalid         = errors.New("invalid")             // parses, breaks a rule: 422
	ErrNotFound        = errors.New("not found")           // 404
	ErrGone            = errors.New("deleted")             // the resource was deleted: 410
	ErrConflict        = errors.New("conflict")            // e.g. an identifier already belongs to another person: 409
	ErrVersionMismatch = errors.New("version mismatch")    // If-Match lost the race: 412
	ErrPeerUnavailable = errors.New("peer unavailable")    // the country's node failed: 502
	ErrUnauthorized    = errors.New("unauthorized")        // no or bad credentials: 401
	ErrForbidden       = errors.New("forbidden")           // role or country not allowed: 403
	ErrNotSupported    = errors.New("not supported")       // a valid request this server does not implement: 501/405
	ErrUnavailable     = errors.New("storage unavailable") // the database cannot be reached: 503
	ErrTooMany         = errors.New("too many changes")    // a record grows faster than allowed: 429
)

// A FieldError reports one field that breaks a rule. It matches ErrInvalid
// unless Kind says otherwise.
type FieldError struct {
	Field  string // FHIRPath-like location, e.g. "Observation.valueQuantity.unit"
	Reason string // shown to the user, so never personal data
	Kind   error  // the error kind; nil means ErrInvalid
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the error kind, ErrInvalid by default.
func (e *FieldError) Unwrap() error {
	if e.Kind != nil {
		return e.Kind
	}
	return ErrInvalid
}
