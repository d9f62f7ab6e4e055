package records

import "context"

// Store keeps person records, one document each, per country. Every method
// that changes data is atomic on its own; the Service builds the write path
// on top. Implementations: records/mongo.
type Store interface {
	// Person returns the record of person id; ErrNotFound if there is none.
	Person(ctx context.Context, cc Country, id string) (*Person, error)
	// Insert stores a new record; ErrConflict if the id exists.
	Insert(ctx context.Context, cc Country, p *Person) error
	// Replace stores p if the stored record's version is prev, atomically;
	// ErrVersionMismatch otherwise, ErrNotFound if there is no record.
	Replace(ctx context.Context, cc Country, p *Person, prev int64) error
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
