package records

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
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
	// Derive marks a Write without Changes of its own whose changes the
	// OnWrite hook derives (an alert status change, a scheduled follow-up
	// check, carried to the hook in ctx). If the hook derives none and
	// leaves Person.Nutrition unchanged, nothing is written.
	Derive bool
	// Guard, if set, checks the record as read for each attempt, before
	// any change applies; its error aborts the write and nothing is stored
	// (e.g. a Patient is deleted only while its record holds nothing else).
	Guard func(before *Person) error
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
	// OnWrite, if set, runs inside every attempt of a Write, after the
	// Write's Changes were applied to after (a copy of before, the record as
	// read for this attempt) and before the commit. It may set
	// after.Nutrition, handing the bytes over: neither it nor anyone else
	// changes them afterwards (the commit and the record cache keep them
	// as they are). It returns further Changes (derived resources), which
	// are applied and committed in the same atomic write. An error aborts
	// the write; nothing is stored. It must depend only on its arguments and
	// ctx, as a lost optimistic race runs it again on the newer record.
	OnWrite func(ctx context.Context, before, after *Person, changes []Change, now time.Time) ([]Change, error)
	// CommitTimeout bounds a commit, which runs to its end even when the
	// request's deadline passes meanwhile (default 30s).
	CommitTimeout time.Duration
	// MaxVersionsPerMinute and MaxBytesPerMinute bound how fast one record
	// may grow: a write to a record that gained more resource versions, or
	// more bytes of them, in the last minute fails with ErrTooMany
	// (defaults 2,000 and 16 MiB: far above a busy clinic's visits).
	MaxVersionsPerMinute int
	MaxBytesPerMinute    int
}

// Service is the records write and read path over a Store: versions,
// optimistic concurrency, identifier uniqueness, idempotent transactions.
type Service struct {
	store Store
	opts  ServiceOptions
	// locks serialise writes to one record within this process (striped by
	// person), so that concurrent writers here queue instead of losing
	// optimistic races. Only a speed-up: the store's Append is what makes
	// one writer win, here and across processes.
	locks [256]sync.Mutex
}

// NewService returns a Service on store.
func NewService(store Store, opts ServiceOptions) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 20
	}
	if opts.CommitTimeout == 0 {
		opts.CommitTimeout = 30 * time.Second
	}
	if opts.MaxVersionsPerMinute == 0 {
		opts.MaxVersionsPerMinute = 2000
	}
	if opts.MaxBytesPerMinute == 0 {
		opts.MaxBytesPerMinute = 16 << 20
	}
	return &Service{store: store, opts: opts}
}

// Store returns the underlying store.
func (s *Service) Store() Store { return s.store }

// Person returns the whole record of person id; ErrNotFound if there is none.
func (s *Service) Person(ctx context.Context, cc Country, id string) (*Person, error) {
	p, err := s.store.Person(ctx, cc, id)
	if err != nil {
		return nil, fmt.Errorf("person %s: %w", id, err)
	}
	return p, nil
}

// record returns the record that holds typ/id; ErrNotFound if none.
func (s *Service) record(ctx context.Context, cc Country, typ, id string) (*Person, error) {
	pid := PersonOf(typ, id)
	if pid == "" {
		return nil, fmt.Errorf("%s/%s: %w", typ, id, ErrNotFound)
	}
	p, err := s.store.Person(ctx, cc, pid)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", typ, id, err)
	}
	return p, nil
}

// Read returns the current version of typ/id: ErrNotFound if it never
// existed, ErrGone if its current version is a deletion.
func (s *Service) Read(ctx context.Context, cc Country, typ, id string) (Resource, error) {
	r, ok, err := s.currentPatient(ctx, cc, typ, id)
	if err != nil {
		return Resource{}, fmt.Errorf("read: %w", err)
	}
	if !ok {
		p, err := s.record(ctx, cc, typ, id)
		if err != nil {
			return Resource{}, fmt.Errorf("read: %w", err)
		}
		r, ok = p.Current(typ, id)
	}
	switch {
	case !ok:
		return Resource{}, fmt.Errorf("read %s/%s: %w", typ, id, ErrNotFound)
	case r.Deleted:
		return Resource{}, fmt.Errorf("read %s/%s: %w", typ, id, ErrGone)
	}
	return r, nil
}

// currentPatient returns Patient typ/id from the store's PatientReader;
// ok is false if typ is another type, the store has none or it cannot
// tell.
func (s *Service) currentPatient(ctx context.Context, cc Country, typ, id string) (Resource, bool, error) {
	pr, can := s.store.(PatientReader)
	if typ != "Patient" || !can || id == "" {
		return Resource{}, false, nil
	}
	r, ok, err := pr.CurrentPatient(ctx, cc, id)
	if err != nil {
		return Resource{}, false, fmt.Errorf("read Patient/%s from its head: %w", id, err)
	}
	return r, ok, nil
}

// VRead returns version v of typ/id: ErrNotFound if there is no such
// version, ErrGone if that version is a deletion.
func (s *Service) VRead(ctx context.Context, cc Country, typ, id string, v int64) (Resource, error) {
	p, err := s.record(ctx, cc, typ, id)
	if err != nil {
		return Resource{}, fmt.Errorf("vread: %w", err)
	}
	for _, r := range p.Versions(typ, id) {
		if r.Version != v {
			continue
		}
		if r.Deleted {
			return Resource{}, fmt.Errorf("vread %s/%s version %d: %w", typ, id, v, ErrGone)
		}
		return r, nil
	}
	return Resource{}, fmt.Errorf("vread %s/%s version %d: %w", typ, id, v, ErrNotFound)
}

// History returns every version of typ/id, newest first, deletions
// included; ErrNotFound if it never existed.
func (s *Service) History(ctx context.Context, cc Country, typ, id string) ([]Resource, error) {
	p, err := s.record(ctx, cc, typ, id)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	vs := p.Versions(typ, id)
	if len(vs) == 0 {
		return nil, fmt.Errorf("history %s/%s: %w", typ, id, ErrNotFound)
	}
	slices.Reverse(vs)
	return vs, nil
}

// subjects returns the person ids that q is restricted to by a condition
// on "subject" or "patient" (equal to "Patient/<id>"), on "encounter"
// ("Encounter/<id>": the person whose record holds it) or on "_id" (the
// person of each id); ok is false if q has no such condition.
func subjects(q Query) (ids []string, ok bool) {
	for _, c := range q.Conds {
		if c.Op != OpEq {
			continue
		}
		var person func(v string) string
		switch c.Key {
		case "subject", "patient":
			person = func(v string) string {
				if id, found := strings.CutPrefix(v, "Patient/"); found {
					return id
				}
				return ""
			}
		case "encounter":
			person = func(v string) string {
				id, found := strings.CutPrefix(v, "Encounter/")
				if !found {
					return ""
				}
				return PersonOf("Encounter", id)
			}
		case "_id":
			person = func(v string) string { return PersonOf(q.Type, v) }
		default:
			continue
		}
		ids = []string{}
		for _, v := range c.Values {
			id := person(v)
			if id == "" || strings.Contains(id, "/") {
				ids = nil
				break
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if ids != nil {
			return ids, true
		}
	}
	return nil, false
}

// matchesOf returns the current resources of the persons in ids that match q.
func (s *Service) matchesOf(ctx context.Context, cc Country, q Query, ids []string) ([]Resource, error) {
	var out []Resource
	for _, id := range ids {
		p, err := s.store.Person(ctx, cc, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", q.Type, err)
		}
		for _, r := range p.Latest() {
			if r.Type == q.Type && Match(r, q.Conds) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// Search returns one page of current resources matching q. A search of
// another type than Patient restricted to some patients' records (subject
// or patient = "Patient/<id>") reads those records by id; anything else is
// the store's search. ErrMalformed if q.After is not a cursor.
func (s *Service) Search(ctx context.Context, cc Country, q Query) (Page, error) {
	if ids, ok := subjects(q); ok && q.Type != "Patient" {
		rs, err := s.matchesOf(ctx, cc, q, ids)
		if err != nil {
			return Page{}, err
		}
		page, err := Paginate(rs, q)
		if err != nil {
			return Page{}, fmt.Errorf("search %s: %w", q.Type, err)
		}
		return page, nil
	}
	page, err := s.store.Search(ctx, cc, q)
	if err != nil {
		return Page{}, fmt.Errorf("search %s: %w", q.Type, err)
	}
	return page, nil
}

// Count returns the number of current resources matching q.
func (s *Service) Count(ctx context.Context, cc Country, q Query) (int64, error) {
	if ids, ok := subjects(q); ok && q.Type != "Patient" {
		rs, err := s.matchesOf(ctx, cc, q, ids)
		return int64(len(rs)), err
	}
	n, err := s.store.Count(ctx, cc, q)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", q.Type, err)
	}
	return n, nil
}

// Everything returns every current resource of person id, Patient first,
// then the rest in clinical date order (Keys["date"], or Updated for a
// resource without one, then Updated). ErrNotFound if there is no record,
// ErrGone if its Patient was deleted.
func (s *Service) Everything(ctx context.Context, cc Country, id string) ([]Resource, error) {
	p, err := s.store.Person(ctx, cc, id)
	if err != nil {
		return nil, fmt.Errorf("everything %s: %w", id, err)
	}
	if pt, ok := p.Patient(); ok && pt.Deleted {
		return nil, fmt.Errorf("everything %s: %w", id, ErrGone)
	}
	rs := p.Latest()
	slices.SortStableFunc(rs, func(a, b Resource) int {
		if pa, pb := a.Type == "Patient", b.Type == "Patient"; pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(clinicalDate(a), clinicalDate(b)), a.Updated.Compare(b.Updated))
	})
	return rs, nil
}

func clinicalDate(r Resource) string {
	if d := r.Keys["date"]; len(d) > 0 {
		return d[0]
	}
	return r.Updated.UTC().Format(TimeFormat)
}

// FindByIdentifier returns the current Patient that has identifier ident
// ("system|value"), by its claim (an _id lookup on any engine), then the
// Patient read as Read does (from its head where the store can, not the
// whole record). ErrNotFound if no current Patient has it.
func (s *Service) FindByIdentifier(ctx context.Context, cc Country, ident string) (Resource, error) {
	owner, err := s.store.Owner(ctx, cc, identifierNS, ident)
	if err != nil {
		return Resource{}, fmt.Errorf("find by identifier: %w", err)
	}
	r, err := s.Read(ctx, cc, "Patient", owner)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrGone) || (err == nil && !slices.Contains(r.Keys["identifier"], ident)) {
		// A claim left behind by a failed or superseded write.
		return Resource{}, fmt.Errorf("find by identifier: %w", ErrNotFound)
	}
	if err != nil {
		return Resource{}, fmt.Errorf("find by identifier: %w", err)
	}
	return r, nil
}
