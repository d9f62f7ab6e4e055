package mongo

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// personFilter selects the persons that hold a current resource of q.Type
// satisfying each condition of q. Every condition becomes a filter on the
// top-level idx array built only with explicit operators, so that a value is
// never read as an operator and MongoDB's index on idx serves it. For a
// Patient query the filter is exact (a person has one Patient); for other
// types two conditions may hold on different resources of one person, so
// the results are matched again in Go.
// On FerretDB (ranges false) range conditions are left out: v1.24 evaluates
// $elemMatch with range operators on strings wrongly (every document matched
// in our tests), and the filter runs in Go over the whole collection there
// anyway; the Go match applies them.
func personFilter(q records.Query, ranges bool) bson.D {
	and := bson.A{bson.D{{Key: "types", Value: bson.D{{Key: "$eq", Value: q.Type}}}}}
	for _, c := range q.Conds {
		if !ranges && c.Op != records.OpEq && c.Op != records.OpPrefix {
			continue
		}
		and = append(and, condFilter(q.Type, c))
	}
	return bson.D{{Key: "$and", Value: and}}
}

func condFilter(typ string, c records.Cond) bson.D {
	prefix := idxEntry(typ, c.Key, "")
	// "}" follows "|": every entry of this key sorts below prefix end.
	end := prefix[:len(prefix)-1] + "}"
	if c.Op == records.OpEq {
		vals := bson.A{}
		for _, v := range c.Values {
			vals = append(vals, prefix+v)
		}
		return bson.D{{Key: "idx", Value: bson.D{{Key: "$in", Value: vals}}}}
	}
	or := bson.A{}
	for _, v := range c.Values {
		var m bson.D
		switch c.Op {
		case records.OpPrefix:
			m = bson.D{{Key: "$regex", Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(prefix+v)}}}
		case records.OpGe:
			m = bson.D{{Key: "$gte", Value: prefix + v}, {Key: "$lt", Value: end}}
		case records.OpGt:
			m = bson.D{{Key: "$gt", Value: prefix + v}, {Key: "$lt", Value: end}}
		case records.OpLe:
			m = bson.D{{Key: "$gte", Value: prefix}, {Key: "$lte", Value: prefix + v}}
		case records.OpLt:
			m = bson.D{{Key: "$gte", Value: prefix}, {Key: "$lt", Value: prefix + v}}
		default:
			continue
		}
		if c.Op != records.OpPrefix {
			m = bson.D{{Key: "$elemMatch", Value: m}}
		}
		or = append(or, bson.D{{Key: "idx", Value: m}})
	}
	if len(or) == 0 {
		// No value can satisfy the condition.
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}
	}
	return bson.D{{Key: "$or", Value: or}}
}

// recordProjection leaves out what search does not read.
var recordProjection = bson.D{{Key: "txns", Value: 0}, {Key: "idx", Value: 0}}

// Search returns current resources of q.Type that match q, one page, in
// q.Sort order with ties broken by id (by id alone when q.Sort is empty).
// A Patient search in id order pages in the database (keyset on _id, Total
// -1); any other search collects every match, sorts it and sets Total.
// ErrMalformed if q.After is not a cursor, ErrInvalid without q.Type.
func (s *Store) Search(ctx context.Context, cc records.Country, q records.Query) (_ records.Page, err error) {
	defer s.observe("search", time.Now(), &err)
	if q.Type == "" {
		return records.Page{}, fmt.Errorf("search: %w", &records.FieldError{Field: "type", Reason: "a search needs a resource type"})
	}
	if q.Type == "Patient" && len(q.Sort) == 0 {
		return s.searchPatients(ctx, cc, q)
	}
	var matches []records.Resource
	err = s.eachMatch(ctx, cc, q, func(r records.Resource) { matches = append(matches, r) })
	if err != nil {
		return records.Page{}, err
	}
	page, err := records.Paginate(matches, q)
	if err != nil {
		return records.Page{}, fmt.Errorf("search %s: %w", q.Type, err)
	}
	return page, nil
}

// searchPatients pages through Patients in id order in the database.
func (s *Store) searchPatients(ctx context.Context, cc records.Country, q records.Query) (records.Page, error) {
	filter := personFilter(q, !s.ferret)
	if q.After != "" {
		c, err := records.ParseCursor(q.After)
		if err != nil {
			return records.Page{}, fmt.Errorf("search Patient: %w", err)
		}
		filter = bson.D{{Key: "$and", Value: bson.A{filter, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: c.ID}}}}}}}
	}
	n := q.PageSize()
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetProjection(recordProjection)
	if !s.ferret {
		// The filter is exact on MongoDB; on FerretDB it may select more
		// than match, so the stream is cut in Go instead.
		opts.SetLimit(int64(n + 1))
	}
	page := records.Page{Total: -1, Resources: []records.Resource{}}
	err := s.each(ctx, cc, filter, opts, func(p *records.Person) bool {
		r, ok := p.Patient()
		if !ok || r.Deleted || !records.Match(r, q.Conds) {
			return true
		}
		if len(page.Resources) == n {
			page.Next = records.Cursor{ID: page.Resources[n-1].ID}.String()
			return false
		}
		page.Resources = append(page.Resources, r)
		return true
	})
	if err != nil {
		return records.Page{}, fmt.Errorf("search Patient: %w", err)
	}
	return page, nil
}

// Count returns how many current resources match q.
func (s *Store) Count(ctx context.Context, cc records.Country, q records.Query) (_ int64, err error) {
	defer s.observe("count", time.Now(), &err)
	if q.Type == "Patient" && !s.ferret {
		n, err := s.coll(cc, personsColl).CountDocuments(ctx, personFilter(q, !s.ferret))
		if err != nil {
			return 0, fmt.Errorf("count Patient: %w", mapErr(err))
		}
		return n, nil
	}
	var n int64
	if err := s.eachMatch(ctx, cc, q, func(records.Resource) { n++ }); err != nil {
		return 0, err
	}
	return n, nil
}

// eachMatch calls fn with every current resource that matches q.
func (s *Store) eachMatch(ctx context.Context, cc records.Country, q records.Query, fn func(records.Resource)) error {
	err := s.each(ctx, cc, personFilter(q, !s.ferret), options.Find().SetProjection(recordProjection), func(p *records.Person) bool {
		for _, r := range p.Latest() {
			if r.Type == q.Type && records.Match(r, q.Conds) {
				fn(r)
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("search %s: %w", q.Type, err)
	}
	return nil
}

// each streams the persons that filter selects to fn until it returns false.
func (s *Store) each(ctx context.Context, cc records.Country, filter bson.D, opts *options.FindOptionsBuilder, fn func(*records.Person) bool) error {
	cur, err := s.coll(cc, personsColl).Find(ctx, filter, opts)
	if err != nil {
		return mapErr(err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d personDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decode person: %w", err)
		}
		p, err := fromDoc(cc, &d)
		if err != nil {
			return fmt.Errorf("person %s: %w", d.ID, err)
		}
		if !fn(p) {
			return nil
		}
	}
	return mapErr(cur.Err())
}
