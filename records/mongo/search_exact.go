package mongo

import (
	"context"
	"fmt"
	"slices"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// exactSearch answers Patient query q in cc, one page of n (0: the total
// alone), from the server's indexes, when the query's terms say exactly
// which Patients match (exactTerms: equalities, and prefixes as long as a
// kept term) and it is in id order (no _sort): the total is counted and
// the page read there, and a search of 8,300 matches at 100,000 persons
// no longer reads them all. On FerretDB-PostgreSQL with the heads read
// from PostgreSQL, from the terms a trigger keeps (pgpatientterms.go); on
// MongoDB, from the index idx_1__id_1 (mongoExact). ok is false when it
// cannot (the embedded engine, whose in-process index answers instead;
// FerretDB without the PostgreSQL URL; another query; the terms not kept
// yet; a page that disagrees with its query): the search then takes the
// general path.
func (s *Store) exactSearch(ctx context.Context, cc records.Country, q records.Query, n int) (page records.Page, ok bool, err error) {
	if q.Type != "Patient" || len(q.Sort) > 0 || !exactTerms(q) {
		return records.Page{}, false, nil
	}
	groups := queryTerms(q)
	if len(groups) == 0 || slices.ContainsFunc(groups, func(g termGroup) bool { return len(g.Terms) == 0 }) {
		return records.Page{}, false, nil
	}
	after := ""
	if q.After != "" {
		c, err := records.ParseCursor(q.After)
		if err != nil {
			return records.Page{}, false, fmt.Errorf("search Patient: %w", err)
		}
		after = c.ID
	}
	var ep exactPage
	switch {
	case s.pg != nil && s.pg.hosts(cc):
		terms := make([][]string, len(groups))
		for i, g := range groups {
			terms[i] = g.Terms
		}
		var kept bool
		if ep, kept, err = s.pg.exactPatients(ctx, cc, terms, after, n); err != nil || !kept {
			return records.Page{}, false, err
		}
	case !s.ferret:
		if ep, err = s.mongoExact(ctx, cc, groups, after, n); err != nil {
			return records.Page{}, false, fmt.Errorf("search Patient: %w", err)
		}
	default:
		return records.Page{}, false, nil
	}
	return exactAnswer(q, n, ep)
}

// exactAnswer is the page of q (n resources at most) that ep holds; ok is
// false if one of its Patients is missing, deleted, under another id or
// does not match q.
func exactAnswer(q records.Query, n int, ep exactPage) (page records.Page, ok bool, err error) {
	k := min(n, len(ep.ids))
	page = records.Page{Total: ep.total, Resources: make([]records.Resource, 0, k)}
	for i := range k {
		if ep.raws[i] == "" {
			return records.Page{}, false, nil
		}
		r, err := decodeResource(ep.raws[i])
		if err != nil || r.Deleted || r.ID != ep.ids[i] || !records.Match(r, q.Conds) {
			return records.Page{}, false, nil
		}
		page.Resources = append(page.Resources, r)
	}
	if n > 0 && len(ep.ids) > n {
		page.Next = records.Cursor{ID: ep.ids[n-1]}.String()
	}
	return page, true, nil
}

// mongoExact reads the total of the heads of cc holding a term of every
// group, and the first n+1 of them after id after in _id order, on
// MongoDB: a count of the documents matching the filter
// (https://www.mongodb.com/docs/manual/reference/method/db.collection.countDocuments/),
// and a find sorted by _id with a limit, which the index idx_1__id_1
// serves in order after an equality on idx
// (https://www.mongodb.com/docs/manual/tutorial/sort-results-with-indexes/#sort-and-non-prefix-subset-of-an-index).
// MongoDB compares strings byte by byte under the default (simple)
// collation (https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/#strings),
// Go's order. The count and the page are two reads: a write between them
// may make the total differ from the pages by that write, as it may
// between two pages.
func (s *Store) mongoExact(ctx context.Context, cc records.Country, groups []termGroup, after string, n int) (exactPage, error) {
	coll := s.coll(cc, personsColl)
	filter := idxFilter(groups)
	total, err := coll.CountDocuments(ctx, filter)
	if err != nil {
		return exactPage{}, mapErr(err)
	}
	ep := exactPage{total: total}
	if n == 0 {
		return ep, nil
	}
	paged := append(slices.Clone(filter), bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(n + 1)).SetProjection(bson.D{{Key: "patient", Value: 1}})
	err = eachDocOpts(ctx, coll, paged, opts, func(h *headDoc) error {
		ep.ids = append(ep.ids, h.ID)
		ep.raws = append(ep.raws, h.Patient)
		return nil
	})
	if err != nil {
		return exactPage{}, err
	}
	return ep, nil
}
