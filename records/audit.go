package records

import "time"

// AuditEntry records one read or write of the records, as the FHIR
// AuditEvent will show it. It never holds personal data: ids are opaque.
type AuditEntry struct {
	ID           string
	Time         time.Time
	Actor        string // the token's subject
	Role         string
	Country      Country // the country whose records were touched
	Action       string  // C, R, U, D or E (FHIR AuditEvent.action)
	Interaction  string  // read, vread, search, create, update, history, transaction, everything...
	ResourceType string
	ResourceID   string
	PersonID     string
	// Persons are the other persons whose data the request disclosed: every
	// patient of a search page, $match candidate, federated answer or list
	// (IHE Basic Audit Log Patterns: one event naming every patient).
	Persons   []string
	Outcome   int    // HTTP status returned
	RequestID string // correlates with logs
	Purpose   string // e.g. treatment, emergency
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	PersonID string // matches PersonID or any of Persons
	Since    time.Time
	Until    time.Time
	Count    int
	After    string // cursor
}
