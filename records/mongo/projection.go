package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// nutritionColl holds one small projection document per person with a
// nutrition state (records.Person.Nutrition): the state and the person's
// current Flag resources, so that the sector-lead lists (alerts,
// indicators, the follow-up scan) read small documents instead of whole
// records. The log (log.go) stays the source of truth; the projection is
// written right after each commit (see project) and repaired from it (see
// Reconcile, RebuildNutrition).
const nutritionColl = "nutrition"

// projMarkerNS/projMarkerKey name the claim that says the projection of a
// country was built (RebuildNutrition ran once on its records).
const (
	projMarkerNS  = "meta"
	projMarkerKey = "nutrition-projection-v1"
)

// projDoc is the stored projection of one person (persistence contract:
// never rename a bson tag).
type projDoc struct {
	ID string `bson:"_id"`
	// Version is the person record version projected; 0 if none yet.
	Version int64 `bson:"version"`
	// Nutrition is records.Person.Nutrition (JSON text), without the
	// assessments kept in Pages (projection_pages.go), which go back in at
	// byte Splice (followed by a comma when Tail).
	Nutrition string   `bson:"nutrition"`
	Pages     []string `bson:"pages,omitempty"`
	Splice    int      `bson:"splice,omitempty"`
	Tail      bool     `bson:"tail,omitempty"`
	// Flags are the person's current Flag resources, resourceDoc JSON.
	Flags []string `bson:"flags"`
	// Fidx lists "key|value" of every search key value of those Flags
	// (indexed on MongoDB for the equality filters of the alert list).
	Fidx []string `bson:"fidx"`
}

// projected reports whether p has a projection: it has a nutrition state.
func projected(p *records.Person) bool { return len(p.Nutrition) > 0 }

// projectionOf returns the projection of p, whose current resources are
// latest (p.Latest()), without its state: the caller sets Nutrition (the
// whole state, or its head when the assessments are split into pages), so
// that a visit does not copy the whole state once more.
func projectionOf(p *records.Person, latest []records.Resource) (projDoc, error) {
	d := projDoc{ID: p.ID, Version: p.Version, Flags: []string{}, Fidx: []string{}}
	for _, r := range latest {
		if r.Type != "Flag" {
			continue
		}
		b, err := json.Marshal(resourceDoc{Type: r.Type, ID: r.ID, Version: r.Version, Updated: r.Updated.UTC(), Body: string(r.Body), Keys: r.Keys})
		if err != nil {
			return projDoc{}, fmt.Errorf("encode Flag/%s: %w", r.ID, err)
		}
		d.Flags = append(d.Flags, string(b))
		for _, k := range sortedKeys(r.Keys) {
			for _, v := range r.Keys[k] {
				d.Fidx = append(d.Fidx, k+"|"+v)
			}
		}
	}
	return d, nil
}

// projState is the flag cache of the embedded engine (projection_cache.go).
type projState struct {
	mu       sync.Mutex
	cache    map[records.Country]*flagCache
	loading  sync.Mutex
	stopWarm func()
	warmed   chan struct{} // closed when the warm-up has ended; nil: none ran
}

// writeProjection writes the projection of p (or deletes it if p has no
// nutrition state), last writer wins: project() writes again when a newer
// commit appeared meanwhile. latest is p.Latest().
func (s *Store) writeProjection(ctx context.Context, cc records.Country, p *records.Person, latest []records.Resource) error {
	c := s.coll(cc, nutritionColl)
	if !projected(p) {
		if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: p.ID}}); err != nil {
			return fmt.Errorf("nutrition projection of %s: %w", p.ID, mapErr(err))
		}
		s.cacheFlags(cc, p.ID, p.Version, nil)
		if err := s.writeAlerts(ctx, cc, p.ID, nil, staleAlerts(p, nil)); err != nil {
			return fmt.Errorf("nutrition projection: %w", err)
		}
		return s.writeDigest(ctx, cc, p)
	}
	d, err := projectionOf(p, latest)
	if err != nil {
		return err
	}
	ps, scan, ok := splitStateFrom(p.Nutrition, s.splits.get(cc, p.ID))
	if ok {
		if d.Pages, err = s.writePages(ctx, cc, p.ID, &ps); err != nil {
			return fmt.Errorf("nutrition projection: %w", err)
		}
		d.Nutrition, d.Splice, d.Tail = string(ps.head), ps.splice, ps.tail
		scan.ids = d.Pages
	} else {
		d.Nutrition = string(p.Nutrition)
	}
	s.splits.put(cc, p.ID, scan)
	if err := replaceByID(ctx, c, p.ID, d); err != nil {
		return fmt.Errorf("nutrition projection of %s: %w", p.ID, err)
	}
	s.cacheFlags(cc, p.ID, p.Version, flagsOf(latest))
	// The alerts after the projection (backfillAlerts relies on it).
	alerts, err := alertDocsOf(p.ID, p.Version, d.Flags)
	if err != nil {
		return fmt.Errorf("nutrition projection: %w", err)
	}
	if err := s.writeAlerts(ctx, cc, p.ID, alerts, staleAlerts(p, alerts)); err != nil {
		return fmt.Errorf("nutrition projection: %w", err)
	}
	return s.writeDigest(ctx, cc, p)
}

// ReconcileNutrition is Reconcile: kept for callers of the nutrition
// projection's own repair, which the log's intents now drive.
func (s *Store) ReconcileNutrition(ctx context.Context, cc records.Country) (int, error) {
	n, err := s.Reconcile(ctx, cc)
	if err != nil {
		return n, fmt.Errorf("reconcile nutrition projection: %w", err)
	}
	if n > 0 {
		s.dropFlagCache(cc)
	}
	return n, nil
}

// RebuildNutrition projects every record of cc again from the log and
// deletes projections without a record: after a restore or a change by
// hand. It returns how many projections it changed or deleted.
func (s *Store) RebuildNutrition(ctx context.Context, cc records.Country) (_ int, err error) {
	defer s.observe("rebuild_nutrition", time.Now(), &err)
	have := map[string]int64{}
	err = s.eachProjection(ctx, cc, bson.D{}, bson.D{{Key: "version", Value: 1}}, func(d *projDoc) error {
		have[d.ID] = d.Version
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rebuild nutrition projection: %w", err)
	}
	digests, err := s.digestVersions(ctx, cc)
	if err != nil {
		return 0, fmt.Errorf("rebuild nutrition projection: %w", err)
	}
	var ids []string
	if err := s.eachHead(ctx, cc, bson.D{}, func(h *headDoc) bool { ids = append(ids, h.ID); return true }); err != nil {
		return 0, fmt.Errorf("rebuild nutrition projection: %w", err)
	}
	n := 0
	for _, id := range ids {
		e, err := s.load(ctx, cc, id)
		if err != nil {
			return n, fmt.Errorf("rebuild nutrition projection: %w", err)
		}
		v, ok := have[id]
		dv, dok := digests[id]
		delete(have, id)
		delete(digests, id)
		digested := projected(e.p) == dok && (!dok || dv == e.p.Version)
		if projected(e.p) == ok && v == e.p.Version && digested {
			continue
		}
		if err := s.project(ctx, cc, e); err != nil {
			return n, fmt.Errorf("rebuild nutrition projection: %w", err)
		}
		n++
	}
	for id := range have { // no record: the projection goes
		if _, err := s.coll(cc, nutritionColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			return n, fmt.Errorf("rebuild nutrition projection: %w", mapErr(err))
		}
		n++
	}
	for id, v := range digests { // and so does the digest
		if err := s.dropDigest(ctx, cc, id, v); err != nil {
			return n, fmt.Errorf("rebuild nutrition projection: %w", err)
		}
	}
	if err := s.dropUnlistedPages(ctx, cc); err != nil {
		return n, fmt.Errorf("rebuild nutrition projection: %w", err)
	}
	if err := s.backfillAlerts(ctx, cc); err != nil {
		return n, fmt.Errorf("rebuild nutrition projection: %w", err)
	}
	s.dropFlagCache(cc)
	s.digests.reset(cc)
	return n, nil
}

// setupProjection builds the projection of cc once (marked by a claim),
// then finishes what crashed writers left.
func (s *Store) setupProjection(ctx context.Context, cc records.Country) error {
	_, err := s.Owner(ctx, cc, projMarkerNS, projMarkerKey)
	switch {
	case errors.Is(err, records.ErrNotFound):
		if _, err := s.RebuildNutrition(ctx, cc); err != nil {
			return err
		}
		// RebuildNutrition wrote every digest and alert too: setupDigests
		// and setupAlerts need not read every projection again.
		for _, key := range []string{digestMarkerKey, alertsMarkerKey, projMarkerKey} {
			if _, err := s.Claim(ctx, cc, projMarkerNS, key, "built"); err != nil {
				return fmt.Errorf("nutrition projection marker %s: %w", key, err)
			}
		}
	case err != nil:
		return fmt.Errorf("nutrition projection marker: %w", err)
	}
	if err := s.setupDigests(ctx, cc); err != nil {
		return err
	}
	if err := s.setupAlerts(ctx, cc); err != nil {
		return err
	}
	_, err = s.ReconcileNutrition(ctx, cc)
	return err
}

// eachProjection calls fn with every projection document matching filter.
func (s *Store) eachProjection(ctx context.Context, cc records.Country, filter bson.D, proj bson.D, fn func(*projDoc) error) error {
	if err := eachDoc(ctx, s.coll(cc, nutritionColl), filter, proj, fn); err != nil {
		return fmt.Errorf("nutrition projections: %w", err)
	}
	return nil
}

// SearchFlags returns one page of current Flags matching q, read from the
// projections (and on the embedded engine from its in-process cache of
// them): the same results as Search, without reading records. Equality
// conditions select projections by fidx; every condition is then checked.
func (s *Store) SearchFlags(ctx context.Context, cc records.Country, q records.Query) (_ records.Page, err error) {
	defer s.observe("search_flags", time.Now(), &err)
	if q.Type != "Flag" {
		return records.Page{}, fmt.Errorf("search flags: %w", &records.FieldError{Field: "type", Reason: "want Flag"})
	}
	if s.exclusive() {
		page, err := s.searchFlagCache(ctx, cc, q)
		if err != nil {
			return records.Page{}, fmt.Errorf("search flags: %w", err)
		}
		return page, nil
	}
	aq, ok, err := alertQueryOf(q)
	if err != nil {
		return records.Page{}, fmt.Errorf("search flags: %w", err)
	}
	if ok {
		page, err := s.searchAlerts(ctx, cc, aq)
		if err != nil {
			return records.Page{}, fmt.Errorf("search flags: %w", err)
		}
		return page, nil
	}
	var conds []bson.E
	for _, c := range q.Conds {
		if c.Op != records.OpEq || len(c.Values) == 0 {
			continue
		}
		if len(c.Values) == 1 {
			conds = append(conds, bson.E{Key: "fidx", Value: c.Key + "|" + c.Values[0]})
			continue
		}
		vals := bson.A{}
		for _, v := range c.Values {
			vals = append(vals, c.Key+"|"+v)
		}
		conds = append(conds, bson.E{Key: "fidx", Value: bson.D{{Key: "$in", Value: vals}}})
	}
	filter := pushdown(conds)
	var matches []records.Resource
	err = s.eachProjection(ctx, cc, filter, bson.D{{Key: "version", Value: 1}, {Key: "flags", Value: 1}}, func(d *projDoc) error {
		for i, raw := range d.Flags {
			r, err := decodeResource(raw)
			if err != nil {
				return fmt.Errorf("decode flag %d of %s: %w", i, d.ID, err)
			}
			if records.Match(r, q.Conds) {
				matches = append(matches, r)
			}
		}
		return nil
	})
	if err != nil {
		return records.Page{}, fmt.Errorf("search flags: %w", err)
	}
	page, err := records.Paginate(matches, q)
	if err != nil {
		return records.Page{}, fmt.Errorf("search flags: %w", err)
	}
	return page, nil
}

// projectMany writes the projections of new records in batches (seeding).
func (s *Store) projectMany(ctx context.Context, cc records.Country, ps []*records.Person) {
	var models []mongo.WriteModel
	var docs []projDoc
	for _, p := range ps {
		if !projected(p) {
			continue
		}
		d, err := projectionOf(p, p.Latest())
		if err != nil {
			continue
		}
		docs = append(docs, d)
		if ps, ok := splitState(p.Nutrition); ok {
			if d.Pages, err = s.writePages(ctx, cc, p.ID, &ps); err != nil {
				continue
			}
			d.Nutrition, d.Splice, d.Tail = string(ps.head), ps.splice, ps.tail
		} else {
			d.Nutrition = string(p.Nutrition)
		}
		models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: p.ID}}).SetReplacement(d).SetUpsert(true))
	}
	const batch = 32 // FerretDB can hang on an update of 100 statements or more
	for lo := 0; lo < len(models); lo += batch {
		_, _ = s.coll(cc, nutritionColl).BulkWrite(ctx, models[lo:min(lo+batch, len(models))], options.BulkWrite().SetOrdered(false))
	}
	s.alertsMany(ctx, cc, docs)
	s.digestMany(ctx, cc, ps)
	for _, p := range ps {
		if projected(p) {
			s.cacheFlags(cc, p.ID, p.Version, flagsOf(p.Latest()))
		}
	}
}
