package records

import (
	"context"
	"time"
)

// Store keeps person records per country as an append-only log of commits.
// Every method that changes data is atomic on its own; the Service builds
// the write path on top. Implementations: records/mongo.
type Store interface {
	// Person returns the record of person id as of its latest commit;
	// ErrNotFound if there is none. The returned record is shared: callers
	// must not modify it (append to clones, as the Service does).
	Person(ctx context.Context, cc Country, id string) (*Person, error)
	// Append stores c as version c.Version of its record, atomically: it
	// succeeds for exactly one writer of that version. ErrVersionMismatch if
	// the version exists already or is not the one after the record's last
	// (ErrConflict for version 1: the record exists). A returned nil means committed and durable; an error other
	// than those two may or may not have committed, and the writer must read
	// the record to find out.
	Append(ctx context.Context, cc Country, c *Commit) error
	// Search returns current resources of q.Type that match q, one page.
	Search(ctx context.Context, cc Country, q Query) (Page, error)
	// Count returns how many current resources match q.
	Count(ctx context.Context, cc Country, q Query) (int64, error)

	// Claim makes key (in a namespace such as "identifier" or "txn") belong
	// to owner unless it belongs to someone else already; it returns the
	// owner after the call. Keys are unique per country and namespace.
	Claim(ctx context.Context, cc Country, namespace, key, owner string) (string, error)
	// Owner returns who holds key; ErrNotFound if nobody.
	Owner(ctx context.Context, cc Country, namespace, key string) (string, error)
	// Takeover moves key from owner from to owner to if from still holds it
	// and claimed it before olderThan; it returns the owner after the call.
	Takeover(ctx context.Context, cc Country, namespace, key, from, to string, olderThan time.Time) (string, error)
	// Release frees key if owner holds it.
	Release(ctx context.Context, cc Country, namespace, key, owner string) error

	// AppendAudit stores an audit entry.
	AppendAudit(ctx context.Context, cc Country, e AuditEntry) error
	// Audit returns one audit entry; ErrNotFound if none.
	Audit(ctx context.Context, cc Country, id string) (AuditEntry, error)
	// Audits returns audit entries, newest first, one page.
	Audits(ctx context.Context, cc Country, q AuditQuery) ([]AuditEntry, string, error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// PatientReader is implemented by stores that can return the current
// version of a Patient without reading its whole record (records/mongo:
// from the record's head). ok false means the store cannot tell from
// there: read the record.
type PatientReader interface {
	CurrentPatient(ctx context.Context, cc Country, id string) (r Resource, ok bool, err error)
}
