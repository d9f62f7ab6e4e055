package mongo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// auditIndex is the embedded engine's equivalent of the audit's person
// indexes: per person, the time and id of every entry that names it
// (person or persons). FerretDB on SQLite evaluates every filter but {_id}
// by decoding every document, so without it the audit of one patient reads
// the whole audit. Entries are insert-only, so the index never goes stale
// for an entry it holds; it is used only when this process holds the data
// directory (exclusive), loaded by one scan at the first use (or the
// warm-up after Open) and kept by AppendAudit. It is a cache of stored
// entries: the page is read back by _id.
type auditIndex struct {
	mu      sync.Mutex
	loading sync.Mutex
	ccs     map[records.Country]*auditRefs
}

type auditRefs struct {
	loaded bool
	by     map[string][]auditRef // person id -> entries naming it, any order
}

type auditRef struct {
	t  time.Time
	id string
}

func (ix *auditIndex) country(cc records.Country) *auditRefs {
	if ix.ccs == nil {
		ix.ccs = map[records.Country]*auditRefs{}
	}
	a := ix.ccs[cc]
	if a == nil {
		a = &auditRefs{by: map[string][]auditRef{}}
		ix.ccs[cc] = a
	}
	return a
}

// add records entry d (a loading scan and AppendAudit may both add one
// entry: refs are deduplicated when read).
func (ix *auditIndex) add(cc records.Country, d *auditDoc) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	a := ix.country(cc)
	ref := auditRef{t: d.Time.UTC(), id: d.ID}
	if d.PersonID != "" {
		a.by[d.PersonID] = append(a.by[d.PersonID], ref)
	}
	for _, p := range d.Persons {
		if p != d.PersonID {
			a.by[p] = append(a.by[p], ref)
		}
	}
}

// indexAudit records d in the audit index when the store is exclusive.
func (s *Store) indexAudit(cc records.Country, d *auditDoc) {
	if s.exclusive() {
		s.aindex.add(cc, d)
	}
}

// loadAuditIndex reads every audit entry of cc into the index once.
func (s *Store) loadAuditIndex(ctx context.Context, cc records.Country) error {
	isLoaded := func() bool {
		s.aindex.mu.Lock()
		defer s.aindex.mu.Unlock()
		return s.aindex.country(cc).loaded
	}
	if isLoaded() {
		return nil
	}
	s.aindex.loading.Lock()
	defer s.aindex.loading.Unlock()
	if isLoaded() {
		return nil
	}
	err := s.eachAuditRef(ctx, cc, func(d *auditDoc) error {
		s.aindex.add(cc, d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load audit index: %w", err)
	}
	s.aindex.mu.Lock()
	s.aindex.country(cc).loaded = true
	s.aindex.mu.Unlock()
	return nil
}

// indexedAudits returns the entries naming q.PersonID that q selects after
// the entry after (nil: from the newest), newest first, at most limit, from
// the index (exclusive stores only): the refs are filtered and sorted in
// memory, the entries read by _id.
func (s *Store) indexedAudits(ctx context.Context, cc records.Country, q records.AuditQuery, after *auditRef, limit int) ([]auditDoc, error) {
	if err := s.loadAuditIndex(ctx, cc); err != nil {
		return nil, err
	}
	s.aindex.mu.Lock()
	refs := slices.Clone(s.aindex.country(cc).by[q.PersonID])
	s.aindex.mu.Unlock()
	slices.SortFunc(refs, func(a, b auditRef) int { return cmp.Or(b.t.Compare(a.t), cmp.Compare(b.id, a.id)) })
	refs = slices.CompactFunc(refs, func(a, b auditRef) bool { return a.id == b.id })
	var ids []string
	for _, r := range refs {
		if len(ids) == limit {
			break
		}
		if !q.Since.IsZero() && r.t.Before(q.Since) || !q.Until.IsZero() && !r.t.Before(q.Until) {
			continue
		}
		if after != nil && !(r.t.Before(after.t) || r.t.Equal(after.t) && r.id < after.id) {
			continue
		}
		ids = append(ids, r.id)
	}
	docs, err := s.auditDocsByID(ctx, cc, ids)
	if err != nil {
		return nil, fmt.Errorf("audits: %w", err)
	}
	if len(docs) != len(ids) { // entries are never deleted
		return nil, fmt.Errorf("audits: %d of the %d entries indexed for the person found", len(docs), len(ids))
	}
	return docs, nil // Audits orders them
}

// auditFields are the fields of an audit entry, in the order
// auditDocOf reads them.
var auditFields = []string{"_id", "t", "actor", "role", "cc", "action", "interaction", "rtype", "rid", "person", "persons", "outcome", "req", "purpose"}

// auditDocOf decodes a row of auditFields.
func auditDocOf(r liteRow) (auditDoc, error) {
	persons, err := r.strings(10)
	if err != nil {
		return auditDoc{}, fmt.Errorf("audit entry %s: %w", r.str(0), err)
	}
	return auditDoc{ID: r.str(0), Time: r.millis(1), Actor: r.str(2), Role: r.str(3), Country: r.str(4),
		Action: r.str(5), Interaction: r.str(6), ResourceType: r.str(7), ResourceID: r.str(8),
		PersonID: r.str(9), Persons: persons, Outcome: int(r.int(11)), RequestID: r.str(12), Purpose: r.str(13)}, nil
}

// auditDocsByID returns the audit entries of cc with the given ids, in no
// particular order; an id with no entry is left out. On the embedded
// engine (lite) they are read in one SQLite query through the index on
// _id (embedded.go), instead of a FerretDB lookup per entry: a page of 50
// entries of one person took 51 round trips, 19 ms.
func (s *Store) auditDocsByID(ctx context.Context, cc records.Country, ids []string) ([]auditDoc, error) {
	var out []auditDoc
	var args []any
	for _, id := range ids {
		arg, ok := liteIDArg(id)
		if ok && s.lite() {
			args = append(args, arg)
			continue
		}
		var d auditDoc
		err := s.coll(cc, auditColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		if errors.Is(mapErr(err), records.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("audit entry %s: %w", id, mapErr(err))
		}
		out = append(out, d)
	}
	if len(args) == 0 {
		return out, nil
	}
	where := idExpr + ` IN (?` + strings.Repeat(`, ?`, len(args)-1) + `)`
	err := s.liteQuery(ctx, cc, auditColl, auditFields, where, args, func(r liteRow) error {
		d, err := auditDocOf(r)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}
