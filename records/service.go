package records

import (
	"context"
	"fmt"
	"time"
)

// Change is one resource-level change inside a Write.
type Change struct {
	Method   string   // "create", "update" or "delete"
	Resource Resource // Type, ID, Body and Keys; Version and Updated are set by the Service
	IfMatch  int64    // update/delete: the version the client saw; 0 = no precondition
}

// Write is one atomic change to one person's record: a single create or
// update, or a whole visit uploaded as a transaction Bundle.
type Write struct {
	PersonID  string   // whose record; for a new person, the new Patient's id
	NewPerson bool     // the record does not exist yet; Changes must create its Patient
	Changes   []Change // applied in order, all or nothing
	// TxnKey makes the write idempotent: if a write with the same key was
	// already applied to this record, nothing changes and the stored
	// Response is returned. "" means not idempotent.
	TxnKey string
	// Respond renders the response for the applied resources (with their
	// versions and times set). It runs before the commit so that the
	// response is stored in the same atomic write as the data. Optional.
	Respond func(applied []Resource) ([]byte, error)
}

// WriteResult is the outcome of a Write.
type WriteResult struct {
	Person   *Person    // the record after the write
	Applied  []Resource // the new versions, in the order of Changes
	Response []byte     // from Respond, or the stored one on a replay
	Replayed bool       // the TxnKey had been applied before: nothing was written
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	Now func() time.Time // the clock; time.Now if nil
	// MaxRetries bounds how often a write is retried after losing an
	// optimistic-concurrency race to another writer (default 20).
	MaxRetries int
}

// Service is the records write and read path over a Store: versions,
// optimistic concurrency, identifier uniqueness, idempotent transactions.
type Service struct {
	store Store
	opts  ServiceOptions
}

// NewService returns a Service on store.
func NewService(store Store, opts ServiceOptions) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 20
	}
	return &Service{store: store, opts: opts}
}

// Store returns the underlying store.
func (s *Service) Store() Store { return s.store }

var errTODO = fmt.Errorf("records service: %w", ErrNotSupported)

// Person returns the whole record of person id.
func (s *Service) Person(ctx context.Context, cc Country, id string) (*Person, error) {
	return nil, errTODO
}

// Read returns the current version of typ/id: ErrNotFound if it never
// existed, ErrGone if its current version is a deletion.
func (s *Service) Read(ctx context.Context, cc Country, typ, id string) (Resource, error) {
	return Resource{}, errTODO
}

// VRead returns version v of typ/id.
func (s *Service) VRead(ctx context.Context, cc Country, typ, id string, v int64) (Resource, error) {
	return Resource{}, errTODO
}

// History returns every version of typ/id, newest first.
func (s *Service) History(ctx context.Context, cc Country, typ, id string) ([]Resource, error) {
	return nil, errTODO
}

// Search returns one page of current resources matching q.
func (s *Service) Search(ctx context.Context, cc Country, q Query) (Page, error) {
	return Page{}, errTODO
}

// Count returns the number of current resources matching q.
func (s *Service) Count(ctx context.Context, cc Country, q Query) (int64, error) {
	return 0, errTODO
}

// Everything returns every current resource of person id, Patient first,
// then the rest in clinical date order (Keys["date"], then Updated).
func (s *Service) Everything(ctx context.Context, cc Country, id string) ([]Resource, error) {
	return nil, errTODO
}

// Write applies w atomically, retrying when another writer changed the
// record in between (If-Match preconditions are re-checked on each try).
func (s *Service) Write(ctx context.Context, cc Country, w Write) (WriteResult, error) {
	return WriteResult{}, errTODO
}
