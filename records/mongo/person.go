package mongo

import (
	"context"
	"fmt"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// seedDoc is the log document that stores a whole record p at once: one
// commit document c:<id>:1 covering versions 1 to p.Version.
func seedDoc(p *records.Person) (commitDoc, error) {
	d := commitDoc{ID: commitID(p.ID, 1), Person: p.ID, First: 1, Last: max(p.Version, 1), At: p.Updated.UTC(), Created: p.Created.UTC(),
		Resources: make([]string, len(p.Resources))}
	for i, r := range p.Resources {
		raw, err := encodeResource(r)
		if err != nil {
			return commitDoc{}, err
		}
		d.Resources[i] = raw
		d.Bytes += int64(len(raw))
	}
	for _, t := range p.Txns {
		d.Txns = append(d.Txns, txnDoc{Key: t.Key, At: t.At.UTC(), Response: t.Response})
	}
	if p.Nutrition != nil {
		d.Nutrition, d.HasNutrition = string(p.Nutrition), true
	}
	return d, nil
}

// Insert stores a whole new record in one commit (imports, tests and
// benchmark seeding; the Service appends commits instead); ErrConflict if
// the record exists.
func (s *Store) Insert(ctx context.Context, cc records.Country, p *records.Person) (err error) {
	defer s.observe("insert", time.Now(), &err)
	d, err := seedDoc(p)
	if err != nil {
		return fmt.Errorf("insert person %s: %w", p.ID, err)
	}
	if err := s.intend(ctx, cc, p.ID, d.Last); err != nil {
		return fmt.Errorf("insert person %s: %w", p.ID, err)
	}
	if _, err := s.coll(cc, commitsColl).InsertOne(ctx, d); err != nil {
		s.done(ctx, cc, p.ID, d.Last)
		return fmt.Errorf("insert person %s: %w", p.ID, mapErr(err))
	}
	s.afterCommit(ctx, cc, p.ID, nil, nil)
	return nil
}

// InsertMany stores new whole records in unordered batches, for imports and
// benchmark seeding; ErrConflict if some record exists (the others are
// stored). Their projections are written in batches too.
func (s *Store) InsertMany(ctx context.Context, cc records.Country, ps []*records.Person) (err error) {
	defer s.observe("insert_many", time.Now(), &err)
	docs := make([]any, len(ps))
	heads := make([]any, len(ps))
	for i, p := range ps {
		d, err := seedDoc(p)
		if err != nil {
			return fmt.Errorf("insert person %s: %w", p.ID, err)
		}
		docs[i] = d
		h, err := headOf(p, p.Latest())
		if err != nil {
			return fmt.Errorf("insert person %s: %w", p.ID, err)
		}
		heads[i] = h
	}
	const batch = 64 // FerretDB hangs on very large batches
	for lo := 0; lo < len(docs); lo += batch {
		hi := min(lo+batch, len(docs))
		if _, err := s.coll(cc, commitsColl).InsertMany(ctx, docs[lo:hi], options.InsertMany().SetOrdered(false)); err != nil {
			return fmt.Errorf("insert %d persons: %w", len(ps), mapErr(err))
		}
		if _, err := s.coll(cc, personsColl).InsertMany(ctx, heads[lo:hi], options.InsertMany().SetOrdered(false)); err != nil {
			return fmt.Errorf("insert %d persons: heads: %w", len(ps), mapErr(err))
		}
	}
	for _, h := range heads {
		h := h.(headDoc)
		s.indexHead(cc, &h)
	}
	s.projectMany(ctx, cc, ps)
	return nil
}
