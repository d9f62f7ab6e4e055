package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// headFilter selects the heads that may hold a match of q: the term groups
// of a Patient query (terms.go: equalities, prefixes, a range within one
// day, month or year) become conditions on idx (indexed on MongoDB, and on
// FerretDB-PostgreSQL by pgindex.go), other types select by types. Every
// condition is checked again on the resources themselves, so the filter
// only narrows.
func headFilter(q records.Query) bson.D {
	if q.Type != "Patient" {
		return bson.D{{Key: "types", Value: q.Type}}
	}
	return idxFilter(queryTerms(q))
}

// idxFilter is the conjunction of groups as conditions on idx: a term
// itself, or an $in of several.
func idxFilter(groups []termGroup) bson.D {
	var conds []bson.E
	for _, g := range groups {
		if len(g.Terms) == 1 {
			conds = append(conds, bson.E{Key: "idx", Value: "Patient|" + g.Terms[0]})
			continue
		}
		vals := bson.A{}
		for _, t := range g.Terms {
			vals = append(vals, "Patient|"+t)
		}
		conds = append(conds, bson.E{Key: "idx", Value: bson.D{{Key: "$in", Value: vals}}})
	}
	return pushdown(conds)
}

// headFilters returns the filters whose union selects the heads that may
// hold a match of q. On FerretDB, which evaluates only top-level
// equalities in SQL (never $in), a Patient query whose term groups all have
// several terms (the candidate search of $match: one condition, dozens of
// blocking keys) would read every head; it becomes one filter per term of
// the group with the fewest, each a top-level equality that an index
// serves. Elsewhere it is headFilter(q) alone.
func headFilters(q records.Query, ferret bool) []bson.D {
	if q.Type != "Patient" || !ferret {
		return []bson.D{headFilter(q)}
	}
	groups := queryTerms(q)
	split := -1
	for i, g := range groups {
		if len(g.Terms) == 1 {
			return []bson.D{idxFilter(groups)} // already one indexed equality
		}
		if split < 0 || len(g.Terms) < len(groups[split].Terms) {
			split = i
		}
	}
	if split < 0 {
		return []bson.D{idxFilter(groups)}
	}
	var out []bson.D
	for _, t := range groups[split].Terms {
		one := slices.Clone(groups)
		one[split].Terms = []string{t}
		out = append(out, idxFilter(one))
	}
	return out
}

// pushdown returns the conjunction of conds as a filter whose first
// single-value equality, if any, is a top-level field: FerretDB evaluates
// only top-level equalities in SQL, where an index can serve them (a
// condition inside $and is evaluated in Go, after reading every document).
func pushdown(conds []bson.E) bson.D {
	first := slices.IndexFunc(conds, func(e bson.E) bool {
		_, op := e.Value.(bson.D)
		return !op
	})
	var filter bson.D
	if first >= 0 {
		filter = bson.D{conds[first]}
		conds = slices.Delete(slices.Clone(conds), first, first+1)
	}
	switch len(conds) {
	case 0:
	case 1:
		if filter == nil {
			return bson.D{conds[0]}
		}
		fallthrough
	default:
		and := bson.A{}
		for _, c := range conds {
			and = append(and, bson.D{c})
		}
		filter = append(filter, bson.E{Key: "$and", Value: and})
	}
	if filter == nil {
		return bson.D{}
	}
	return filter
}

// Search returns current resources of q.Type that match q, one page.
// Patient searches read the heads alone, and an exact one (exactTerms, in
// id order) only its page and total, from the server's indexes
// (exactSearch) or the embedded engine's (indexedPage); other types read
// the records of the heads that hold that type (through the record cache).
func (s *Store) Search(ctx context.Context, cc records.Country, q records.Query) (_ records.Page, err error) {
	defer s.observe("search", time.Now(), &err)
	if q.Type == "" {
		return records.Page{}, fmt.Errorf("search: %w", &records.FieldError{Field: "type", Reason: "a search needs a resource type"})
	}
	if page, ok, err := s.exactSearch(ctx, cc, q, q.PageSize()); err != nil || ok {
		return page, err
	}
	var matches []records.Resource
	if s.indexedSearch(q) {
		if page, ok, err := s.indexedPage(ctx, cc, q); err != nil || ok {
			return page, err // an exact search: its page alone read
		}
		matches, err = s.indexedPatients(ctx, cc, q) // one slice, no copy of every match
	} else {
		err = s.eachMatch(ctx, cc, q, func(r records.Resource) { matches = append(matches, r) })
	}
	if err != nil {
		return records.Page{}, err
	}
	page, err := records.Paginate(matches, q)
	if err != nil {
		return records.Page{}, fmt.Errorf("search %s: %w", q.Type, err)
	}
	return page, nil
}

// Count returns how many current resources match q.
func (s *Store) Count(ctx context.Context, cc records.Country, q records.Query) (_ int64, err error) {
	defer s.observe("count", time.Now(), &err)
	if page, ok, err := s.exactSearch(ctx, cc, q, 0); err != nil || ok {
		return page.Total, err
	}
	if s.indexedSearch(q) {
		rs, err := s.indexedPatients(ctx, cc, q)
		return int64(len(rs)), err
	}
	var n int64
	if err := s.eachMatch(ctx, cc, q, func(records.Resource) { n++ }); err != nil {
		return 0, err
	}
	return n, nil
}

// indexedSearch reports whether q is answered from the embedded engine's
// Patient index (patient_index.go) rather than by eachMatch.
func (s *Store) indexedSearch(q records.Query) bool { return q.Type == "Patient" && s.exclusive() }

// eachMatch calls fn with every current resource matching q, for a query
// the Patient index does not answer.
func (s *Store) eachMatch(ctx context.Context, cc records.Country, q records.Query, fn func(records.Resource)) error {
	if required, anyOf, ok := pgTerms(q); ok && q.Type == "Patient" && s.pg != nil && s.pg.hosts(cc) {
		// As below: a head is checked on its Patient.
		err := s.pg.patients(ctx, cc, required, anyOf, func(raw string) {
			r, err := decodeResource(raw)
			if err == nil && !r.Deleted && records.Match(r, q.Conds) {
				fn(r)
			}
		})
		if err != nil {
			return fmt.Errorf("search Patient: %w", err)
		}
		return nil
	}
	var ids []string
	err := s.eachHeadOf(ctx, cc, headFilters(q, s.ferret), func(h *headDoc) bool {
		if q.Type != "Patient" {
			ids = append(ids, h.ID)
			return true
		}
		if h.Patient == "" {
			return true
		}
		r, err := decodeResource(h.Patient)
		if err == nil && !r.Deleted && records.Match(r, q.Conds) {
			fn(r)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("search %s: %w", q.Type, err)
	}
	for _, id := range ids {
		p, err := s.Person(ctx, cc, id)
		if err != nil {
			return fmt.Errorf("search %s: %w", q.Type, err)
		}
		for _, r := range p.Latest() {
			if r.Type == q.Type && records.Match(r, q.Conds) {
				fn(r)
			}
		}
	}
	return nil
}

// parallelFilters bounds the filters of one search that eachHeadOf runs
// at once: each is a round trip to the server, mostly spent waiting.
const parallelFilters = 8

// eachHeadOf calls fn once with every head matching any of filters, until
// it returns false. Several filters run in parallel (parallelFilters at a
// time), and fn sees their heads in the order of filters, from the
// calling goroutine.
func (s *Store) eachHeadOf(ctx context.Context, cc records.Country, filters []bson.D, fn func(*headDoc) bool) error {
	if len(filters) == 1 {
		return s.eachHead(ctx, cc, filters[0], fn)
	}
	heads := make([][]headDoc, len(filters))
	errs := make([]error, len(filters))
	sem := make(chan struct{}, parallelFilters)
	var wg sync.WaitGroup
	for i, f := range filters {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = s.eachHead(ctx, cc, f, func(h *headDoc) bool {
				heads[i] = append(heads[i], *h)
				return true
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	seen := map[string]bool{} // a head several filters select is seen once
	for i := range heads {
		for j := range heads[i] {
			h := &heads[i][j]
			if seen[h.ID] {
				continue
			}
			seen[h.ID] = true
			if !fn(h) {
				return nil
			}
		}
	}
	return nil
}

// eachHead calls fn with every head matching filter until it returns false.
func (s *Store) eachHead(ctx context.Context, cc records.Country, filter bson.D, fn func(*headDoc) bool) error {
	cur, err := s.coll(cc, personsColl).Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "idx", Value: 0}}))
	if err != nil {
		return mapErr(err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var h headDoc
		if err := cur.Decode(&h); err != nil {
			return fmt.Errorf("decode head: %w", err)
		}
		if !fn(&h) {
			return nil
		}
	}
	return mapErr(cur.Err())
}
