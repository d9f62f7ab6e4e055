package records

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Claim namespaces: Patient identifiers, and the transaction keys of writes
// that created a record.
const (
	identifierNS = "identifier"
	txnNS        = "txn"
)

// maxTxns is how many applied transactions a record remembers for replay.
const maxTxns = 50

// errRetry marks a write that lost an optimistic race and must start over.
var errRetry = errors.New("record changed concurrently")

// Write applies w atomically, retrying when another writer changed the
// record in between (If-Match preconditions are re-checked on each try).
// Writes to one record from this process queue for it; the store's version
// check arbitrates between processes. A write with a TxnKey already applied
// to the record returns the stored response with Replayed set; for a
// NewPerson write the key is also claimed, so that a retried upload given a
// new person id replays the record the first try created.
//
// It returns ErrNotFound if the record (or a resource to update or delete)
// does not exist, ErrVersionMismatch if an If-Match precondition fails, a
// *FieldError of kind ErrConflict if a Patient identifier belongs to another
// person or a created resource exists, ErrInvalid for a malformed Write, and
// ErrConflict if the record kept changing for MaxRetries tries.
func (s *Service) Write(ctx context.Context, cc Country, w Write) (WriteResult, error) {
	if w.PersonID == "" || (len(w.Changes) == 0 && (!w.Derive || s.opts.OnWrite == nil)) {
		return WriteResult{}, fmt.Errorf("write: %w", &FieldError{Field: "Bundle.entry", Reason: "a write needs a person and at least one change"})
	}
	mu := s.stripe(cc, w.PersonID)
	mu.Lock()
	defer mu.Unlock()
	if w.NewPerson && w.TxnKey != "" {
		owner, err := s.claimTxn(ctx, cc, w.PersonID, w.TxnKey)
		if err != nil {
			return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
		}
		if owner != w.PersonID {
			p, err := s.store.Person(ctx, cc, owner)
			if err != nil {
				return WriteResult{}, fmt.Errorf("write person %s: replay: %w", w.PersonID, err)
			}
			t, ok := findTxn(p, w.TxnKey)
			if !ok {
				return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID,
					&FieldError{Field: "Bundle", Reason: "this transaction was applied too long ago to replay", Kind: ErrConflict})
			}
			return WriteResult{Person: p, Response: t.Response, Replayed: true}, nil
		}
	}
	for try := 0; try <= s.opts.MaxRetries; try++ {
		if try > 0 {
			if err := backoff(ctx, try); err != nil {
				return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
			}
		}
		res, err := s.tryWrite(ctx, cc, w)
		if !errors.Is(err, errRetry) {
			return res, err
		}
	}
	return WriteResult{}, fmt.Errorf("write person %s: changed by others %d times in a row: %w", w.PersonID, s.opts.MaxRetries+1, ErrConflict)
}

func (s *Service) stripe(cc Country, id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(cc))
	h.Write([]byte(id))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// backoff waits a random time that grows with try, up to 50ms.
func backoff(ctx context.Context, try int) error {
	ceil := min(time.Millisecond<<min(try, 6), 50*time.Millisecond)
	return Sleep(ctx, time.Duration(rand.Int64N(int64(ceil)))+time.Millisecond)
}

// Sleep waits d, or until ctx ends (then its error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// tryWrite makes one attempt of w; errRetry if the record changed meanwhile.
func (s *Service) tryWrite(ctx context.Context, cc Country, w Write) (WriteResult, error) {
	cur, err := s.store.Person(ctx, cc, w.PersonID)
	exists := err == nil
	switch {
	case errors.Is(err, ErrNotFound):
		if !w.NewPerson {
			return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, ErrNotFound)
		}
		cur = &Person{ID: w.PersonID, Country: cc}
	case err != nil:
		return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
	}
	if t, ok := findTxn(cur, w.TxnKey); ok {
		return WriteResult{Person: cur, Response: t.Response, Replayed: true}, nil
	}
	if exists && w.NewPerson {
		return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID,
			&FieldError{Field: "Patient.id", Reason: "a record with this id already exists", Kind: ErrConflict})
	}

	if w.Guard != nil {
		if err := w.Guard(cur); err != nil {
			return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
		}
	}
	now := truncNow(s.opts.Now())
	if err := s.checkGrowth(cur, now); err != nil {
		return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
	}
	next := *cur
	next.Resources = slices.Clip(cur.Resources) // appends copy: cur is shared
	next.Txns = slices.Clip(cur.Txns)
	applied, err := applyChanges(&next, w.Changes, now)
	if err != nil {
		return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
	}
	if pt, ok := next.Patient(); !exists && (!ok || pt.Deleted) {
		return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID,
			&FieldError{Field: "Patient", Reason: "a new record must create its Patient"})
	}
	if s.opts.OnWrite != nil {
		extra, err := s.opts.OnWrite(ctx, cur, &next, w.Changes, now)
		if err != nil {
			return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
		}
		if len(w.Changes) == 0 && len(extra) == 0 && bytes.Equal(cur.Nutrition, next.Nutrition) {
			return WriteResult{Person: cur}, nil // a derived write that found nothing to do
		}
		if _, err := applyChanges(&next, extra, now); err != nil {
			return WriteResult{}, fmt.Errorf("write person %s: derived changes: %w", w.PersonID, err)
		}
	}
	added, removed := diff(cur.Identifiers(), next.Identifiers())
	var claimed []string
	release := func() {
		// Claims this attempt made for a write that did not commit: free them
		// at once instead of leaving them to the stale-claim rule.
		for _, ident := range claimed {
			_ = s.store.Release(context.WithoutCancel(ctx), cc, identifierNS, ident, next.ID)
		}
	}
	for _, ident := range added {
		fresh, err := s.claimIdentifier(ctx, cc, next.ID, ident)
		if fresh {
			claimed = append(claimed, ident)
		}
		if err != nil {
			release()
			return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
		}
	}
	var resp []byte
	if w.Respond != nil {
		if resp, err = w.Respond(applied); err != nil {
			release()
			return WriteResult{}, fmt.Errorf("write person %s: respond: %w", w.PersonID, err)
		}
	}
	c := &Commit{PersonID: next.ID, Version: cur.Version + 1, At: now, Resources: next.Resources[len(cur.Resources):]}
	if w.TxnKey != "" {
		c.Txn = &Txn{Key: w.TxnKey, At: now, Response: resp}
	}
	if !bytes.Equal(cur.Nutrition, next.Nutrition) {
		c.Nutrition = next.Nutrition // handed over by OnWrite, never changed (ServiceOptions)
		c.PrevNutrition = cur.Nutrition
		c.NutritionDigest = next.NutritionDigest
	}
	// Apply c to the record as read: its resources are next's first ones,
	// followed in next's own array (which cur does not share) by c's, which
	// Apply's append writes back in place instead of copying the history.
	next.Resources, next.Txns = next.Resources[:len(cur.Resources)], cur.Txns
	next.Version, next.Created, next.Updated = cur.Version, cur.Created, cur.Updated
	next.Apply(c)
	next.Resources = slices.Clip(next.Resources)
	// The commit must not race the request's deadline: once it starts, it
	// runs to its end on a context of its own, and a write that committed
	// is answered as such, late if need be.
	if err := ctx.Err(); err != nil {
		release()
		return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CommitTimeout)
	defer cancel()
	err = s.store.Append(cctx, cc, c)
	switch {
	case errors.Is(err, ErrVersionMismatch), errors.Is(err, ErrConflict) && c.Version == 1:
		release()
		return WriteResult{}, errRetry // changed meanwhile: maybe by a retry of this very write
	case err != nil:
		return WriteResult{}, fmt.Errorf("write person %s: %w", w.PersonID, err)
	}
	for _, ident := range removed {
		// A failed release only leaves a stale claim, which is harmless.
		_ = s.store.Release(cctx, cc, identifierNS, ident, next.ID)
	}
	return WriteResult{Person: &next, Applied: applied, Response: resp}, nil
}

// checkGrowth refuses a write to a record that grew by more than the
// allowed number of resource versions or bytes in the last minute.
func (s *Service) checkGrowth(p *Person, now time.Time) error {
	since := now.Add(-time.Minute)
	n, size := 0, 0
	for i := len(p.Resources) - 1; i >= 0 && p.Resources[i].Updated.After(since); i-- {
		n++
		size += len(p.Resources[i].Body)
	}
	if n >= s.opts.MaxVersionsPerMinute || size >= s.opts.MaxBytesPerMinute {
		return &FieldError{Field: "Patient", Kind: ErrTooMany,
			Reason: fmt.Sprintf("this record changed %d times (%d bytes) in the last minute; the limit is %d changes or %d bytes: retry later",
				n, size, s.opts.MaxVersionsPerMinute, s.opts.MaxBytesPerMinute)}
	}
	return nil
}

func findTxn(p *Person, key string) (Txn, bool) {
	if key == "" {
		return Txn{}, false
	}
	for _, t := range p.Txns {
		if t.Key == key {
			return t, true
		}
	}
	return Txn{}, false
}

// diff returns the values in b but not in a, and those in a but not in b.
func diff(a, b []string) (added, removed []string) {
	for _, v := range b {
		if !slices.Contains(a, v) && !slices.Contains(added, v) {
			added = append(added, v)
		}
	}
	for _, v := range a {
		if !slices.Contains(b, v) && !slices.Contains(removed, v) {
			removed = append(removed, v)
		}
	}
	return added, removed
}

// applyChanges appends the new version of each change to p.Resources and
// returns them in order.
func applyChanges(p *Person, changes []Change, now time.Time) ([]Resource, error) {
	applied := make([]Resource, 0, len(changes))
	for i, c := range changes {
		r := c.Resource
		if r.Type == "" || r.ID == "" {
			return nil, &FieldError{Field: fmt.Sprintf("Bundle.entry[%d].resource", i), Reason: "a change needs a resource type and id"}
		}
		if r.Type == "Patient" && r.ID != p.ID {
			return nil, &FieldError{Field: "Patient.id", Reason: "a record holds the Patient of its own id only"}
		}
		cur, ok := p.Current(r.Type, r.ID)
		switch c.Method {
		case "create":
			if ok && !cur.Deleted {
				return nil, &FieldError{Field: r.Type + ".id", Reason: "a resource with this id already exists", Kind: ErrConflict}
			}
		case "update", "delete":
			if !ok {
				return nil, fmt.Errorf("%s %s/%s: %w", c.Method, r.Type, r.ID, ErrNotFound)
			}
			if c.IfMatch != 0 && c.IfMatch != cur.Version {
				return nil, fmt.Errorf("%s %s/%s: version is %d, not %d: %w", c.Method, r.Type, r.ID, cur.Version, c.IfMatch, ErrVersionMismatch)
			}
		default:
			return nil, &FieldError{Field: fmt.Sprintf("Bundle.entry[%d].request.method", i), Reason: "unknown change method"}
		}
		if c.Method == "delete" {
			if cur.Deleted {
				applied = append(applied, cur) // deleting twice changes nothing
				continue
			}
			r = Resource{Type: r.Type, ID: r.ID, Deleted: true}
		}
		r.Version, r.Updated, r.Deleted = 1, now, c.Method == "delete"
		if ok {
			r.Version = cur.Version + 1
		}
		p.Resources = append(p.Resources, r)
		applied = append(applied, r)
	}
	return applied, nil
}

// StaleClaim is how old a claim must be before a writer may take it over
// from an owner whose record does not hold it: longer than any write can be
// in flight (request deadline plus commit timeout), so that a claim made by
// a write still running on another replica is never taken.
const StaleClaim = 2 * time.Minute

// claimTxn claims transaction key for a new record id, so that a retry of
// the upload that created a record (after a dropped connection, under a new
// id) replays instead of creating the person twice. It returns the id of the
// record that owns key: id, or the record an earlier try created. While an
// earlier try may still be writing (its record does not exist yet and its
// claim is younger than StaleClaim), it waits a little, then answers
// ErrUnavailable: the client retries later and gets the replay.
func (s *Service) claimTxn(ctx context.Context, cc Country, id, key string) (string, error) {
	owner, err := s.store.Claim(ctx, cc, txnNS, key, id)
	if err != nil || owner == id {
		return owner, err
	}
	for try := 0; ; try++ {
		_, err = s.store.Person(ctx, cc, owner)
		if !errors.Is(err, ErrNotFound) {
			return owner, err
		}
		got, err := s.store.Takeover(ctx, cc, txnNS, key, owner, id, s.opts.Now().Add(-StaleClaim))
		if err != nil || got == id {
			return got, err
		}
		if got != owner {
			owner = got
			continue
		}
		if try == 20 {
			return "", &FieldError{Field: "Bundle", Kind: ErrUnavailable,
				Reason: "an earlier try of this transaction is still being applied: retry in a minute"}
		}
		if err := backoff(ctx, 6); err != nil {
			return "", err
		}
	}
}

// claimIdentifier makes ident belong to person id, or fails with a
// conflict if another person's current Patient holds it; fresh reports
// whether this call made the claim. A claim whose owner's Patient does not
// have the identifier (released late, or left by a write that failed) is
// taken over once it is older than StaleClaim; a younger one may belong to
// a write in flight and is a conflict.
func (s *Service) claimIdentifier(ctx context.Context, cc Country, id, ident string) (fresh bool, err error) {
	conflict := &FieldError{Field: "Patient.identifier", Reason: "this identifier already belongs to another patient", Kind: ErrConflict}
	owner, err := s.store.Claim(ctx, cc, identifierNS, ident, id)
	if err != nil {
		return false, err
	}
	if owner == id {
		return true, nil // (or an earlier attempt of this write claimed it)
	}
	other, err := s.store.Person(ctx, cc, owner)
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		return false, fmt.Errorf("check owner of identifier: %w", err)
	case err == nil && slices.Contains(other.Identifiers(), ident):
		return false, conflict
	}
	got, err := s.store.Takeover(ctx, cc, identifierNS, ident, owner, id, s.opts.Now().Add(-StaleClaim))
	if err != nil {
		return false, err
	}
	if got != id {
		return false, conflict
	}
	return true, nil
}
