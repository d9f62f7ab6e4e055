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
// records. The person document stays the source of truth; the projection
// is written right after each committed write (see project) and repaired
// from it (see ReconcileNutrition, RebuildNutrition).
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
	// Pending, if greater than Version, is the version of a person write
	// that started and may have committed without its projection (a crash
	// in between): ReconcileNutrition re-projects such persons.
	Pending int64 `bson:"pending,omitempty"`
	// Nutrition is records.Person.Nutrition (JSON text).
	Nutrition string `bson:"nutrition"`
	// Flags are the person's current Flag resources, resourceDoc JSON.
	Flags []string `bson:"flags"`
	// Fidx lists "key|value" of every search key value of those Flags
	// (indexed on MongoDB for the equality filters of the alert list).
	Fidx []string `bson:"fidx"`
}

// projected reports whether p has a projection: it has a nutrition state.
func projected(p *records.Person) bool { return len(p.Nutrition) > 0 }

func projectionOf(p *records.Person) (projDoc, error) {
	d := projDoc{ID: p.ID, Version: p.Version, Nutrition: string(p.Nutrition), Flags: []string{}, Fidx: []string{}}
	for _, r := range p.Latest() {
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

// projState tracks, per store, the persons whose projection write failed
// after their record was committed: they are re-projected before the next
// projection read.
type projState struct {
	mu    sync.Mutex
	dirty map[records.Country]map[string]bool
	cache map[records.Country]*flagCache // embedded engine only (projection_cache.go)
	// loading serialises cache loads; stopWarm stops the warm-up of Open.
	loading  sync.Mutex
	stopWarm func()
}

func (s *Store) markDirty(cc records.Country, id string) {
	s.proj.mu.Lock()
	defer s.proj.mu.Unlock()
	if s.proj.dirty == nil {
		s.proj.dirty = map[records.Country]map[string]bool{}
	}
	if s.proj.dirty[cc] == nil {
		s.proj.dirty[cc] = map[string]bool{}
	}
	s.proj.dirty[cc][id] = true
}

// repairDirty re-projects the persons of cc whose projection write failed.
func (s *Store) repairDirty(ctx context.Context, cc records.Country) error {
	s.proj.mu.Lock()
	ids := s.proj.dirty[cc]
	delete(s.proj.dirty, cc)
	s.proj.mu.Unlock()
	var errs []error
	for id := range ids {
		if err := s.repairOne(ctx, cc, id); err != nil {
			s.markDirty(cc, id)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pendingUpdate raises the intent to v; a new document gets version 0, so
// that the version filter of writeProjection matches it.
func pendingUpdate(v int64) bson.D {
	return bson.D{{Key: "$max", Value: bson.D{{Key: "pending", Value: v}}}, {Key: "$setOnInsert", Value: bson.D{{Key: "version", Value: int64(0)}}}}
}

// markPending records, before a write of p, that version p.Version may be
// committed without its projection. On the embedded engine the caller holds
// the person's lock.
func (s *Store) markPending(ctx context.Context, cc records.Country, p *records.Person) error {
	if !projected(p) {
		return nil
	}
	_, err := s.coll(cc, nutritionColl).UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}},
		pendingUpdate(p.Version), options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("nutrition projection intent: %w", mapErr(err))
	}
	return nil
}

// project writes the projection of the committed record p unless a newer
// one is stored. A failure is not the write's (it is committed): the person
// is re-projected before the next read. On the embedded engine the caller
// holds the person's lock.
func (s *Store) project(ctx context.Context, cc records.Country, p *records.Person) {
	if !projected(p) {
		return
	}
	if err := s.writeProjection(ctx, cc, p); err != nil {
		s.markDirty(cc, p.ID)
	}
}

func (s *Store) writeProjection(ctx context.Context, cc records.Country, p *records.Person) error {
	d, err := projectionOf(p)
	if err != nil {
		return err
	}
	c := s.coll(cc, nutritionColl)
	if s.ferret {
		// Only {_id} filters are served by an index there: the version
		// check runs in Go under the person's lock held by the caller.
		var cur projDoc
		err := c.FindOne(ctx, bson.D{{Key: "_id", Value: p.ID}}, options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}, {Key: "pending", Value: 1}})).Decode(&cur)
		if err = mapErr(err); err != nil && !errors.Is(err, records.ErrNotFound) {
			return fmt.Errorf("nutrition projection of %s: %w", p.ID, err)
		}
		if err == nil && cur.Version >= p.Version {
			return nil
		}
		if cur.Pending > p.Version {
			d.Pending = cur.Pending
		}
		if _, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: p.ID}}, d, options.Replace().SetUpsert(true)); err != nil {
			return fmt.Errorf("nutrition projection of %s: %w", p.ID, mapErr(err))
		}
		s.cacheFlags(cc, p.ID, p.Version, flagsOf(p))
		return nil
	}
	set := bson.D{{Key: "version", Value: d.Version}, {Key: "nutrition", Value: d.Nutrition}, {Key: "flags", Value: d.Flags}, {Key: "fidx", Value: d.Fidx}}
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}, {Key: "version", Value: bson.D{{Key: "$lt", Value: p.Version}}}},
		bson.D{{Key: "$set", Value: set}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) { // duplicate: a newer version is stored
		return fmt.Errorf("nutrition projection of %s: %w", p.ID, mapErr(err))
	}
	if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}, {Key: "pending", Value: bson.D{{Key: "$lte", Value: p.Version}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "pending", Value: ""}}}}); err != nil {
		return fmt.Errorf("nutrition projection of %s: clear intent: %w", p.ID, mapErr(err))
	}
	return nil
}

// repairOne re-projects person id from its record, under its lock on the
// embedded engine, and clears the intent up to the record's version; it
// deletes the projection if there is no record.
func (s *Store) repairOne(ctx context.Context, cc records.Country, id string) error {
	defer s.lock(cc, "person\x00"+id)()
	c := s.coll(cc, nutritionColl)
	p, err := s.Person(ctx, cc, id)
	if errors.Is(err, records.ErrNotFound) {
		// A write that never committed its record left only its intent.
		if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			return fmt.Errorf("nutrition projection of %s: %w", id, mapErr(err))
		}
		s.cacheFlags(cc, id, -1, nil)
		return nil
	}
	if err != nil {
		return fmt.Errorf("nutrition projection of %s: %w", id, err)
	}
	if !projected(p) {
		if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			return fmt.Errorf("nutrition projection of %s: %w", id, mapErr(err))
		}
		s.cacheFlags(cc, id, -1, nil)
		return nil
	}
	if err := s.writeProjection(ctx, cc, p); err != nil {
		return err
	}
	// On the embedded engine (under the lock) an intent newer than the
	// record is a write that did not commit. On MongoDB it may be one in
	// flight in another process: only intents up to the record's version
	// are cleared (a failed write's intent stays until the next write).
	filter := bson.D{{Key: "_id", Value: id}}
	if !s.ferret {
		filter = append(filter, bson.E{Key: "pending", Value: bson.D{{Key: "$lte", Value: p.Version}}})
	}
	if _, err := c.UpdateOne(ctx, filter, bson.D{{Key: "$unset", Value: bson.D{{Key: "pending", Value: ""}}}}); err != nil {
		return fmt.Errorf("nutrition projection of %s: clear intent: %w", id, mapErr(err))
	}
	return nil
}

// ReconcileNutrition re-projects the persons of cc whose last write
// recorded an intent that its projection does not reflect (a crash between
// the record write and the projection write), and those whose projection
// write failed in this process. It scans the small projection documents
// once; Open runs it for every country. It returns how many it repaired.
func (s *Store) ReconcileNutrition(ctx context.Context, cc records.Country) (_ int, err error) {
	defer s.observe("reconcile_nutrition", time.Now(), &err)
	if err := s.repairDirty(ctx, cc); err != nil {
		return 0, fmt.Errorf("reconcile nutrition projection: %w", err)
	}
	cur, err := s.coll(cc, nutritionColl).Find(ctx, bson.D{{Key: "pending", Value: bson.D{{Key: "$gt", Value: 0}}}},
		options.Find().SetProjection(bson.D{{Key: "version", Value: 1}, {Key: "pending", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("reconcile nutrition projection: %w", mapErr(err))
	}
	var ids []string
	for cur.Next(ctx) {
		var d projDoc
		if err := cur.Decode(&d); err != nil {
			cur.Close(context.WithoutCancel(ctx))
			return 0, fmt.Errorf("reconcile nutrition projection: decode: %w", err)
		}
		if d.Pending > 0 {
			ids = append(ids, d.ID)
		}
	}
	err = mapErr(cur.Err())
	cur.Close(context.WithoutCancel(ctx))
	if err != nil {
		return 0, fmt.Errorf("reconcile nutrition projection: %w", err)
	}
	for _, id := range ids {
		if err := s.repairOne(ctx, cc, id); err != nil {
			return 0, fmt.Errorf("reconcile nutrition projection: %w", err)
		}
	}
	if len(ids) > 0 {
		s.dropFlagCache(cc) // the database may have been repaired by hand
	}
	return len(ids), nil
}

// RebuildNutrition compares the projection of cc with every record holding
// a nutrition state and re-projects those missing or behind (and removes
// projections without a record). It reads every such record once (slow on
// the embedded engine at country scale): Open runs it once per country
// when the projection was never built; it is also the on-demand repair.
// It returns how many persons it re-projected.
func (s *Store) RebuildNutrition(ctx context.Context, cc records.Country) (_ int, err error) {
	defer s.observe("rebuild_nutrition", time.Now(), &err)
	have := map[string]int64{}
	c := s.coll(cc, nutritionColl)
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("rebuild nutrition projection: %w", mapErr(err))
	}
	for cur.Next(ctx) {
		var d projDoc
		if err := cur.Decode(&d); err != nil {
			cur.Close(context.WithoutCancel(ctx))
			return 0, fmt.Errorf("rebuild nutrition projection: decode: %w", err)
		}
		have[d.ID] = d.Version
	}
	err = mapErr(cur.Err())
	cur.Close(context.WithoutCancel(ctx))
	if err != nil {
		return 0, fmt.Errorf("rebuild nutrition projection: %w", err)
	}
	var stale []string
	err = s.each(ctx, cc, bson.D{{Key: "nutrition", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.Find().SetProjection(bson.D{{Key: "txns", Value: 0}, {Key: "idx", Value: 0}}), func(p *records.Person) bool {
			v, ok := have[p.ID]
			delete(have, p.ID)
			if projected(p) && (!ok || v != p.Version) {
				stale = append(stale, p.ID)
			}
			return true
		})
	if err != nil {
		return 0, fmt.Errorf("rebuild nutrition projection: %w", err)
	}
	for id := range have {
		stale = append(stale, id) // no record with a state: repairOne deletes it
	}
	for _, id := range stale {
		if err := s.repairOne(ctx, cc, id); err != nil {
			return 0, fmt.Errorf("rebuild nutrition projection: %w", err)
		}
	}
	s.dropFlagCache(cc) // the database may have been changed by hand
	return len(stale), nil
}

// setupProjection builds the projection of cc if it never was, and repairs
// it after a crash.
func (s *Store) setupProjection(ctx context.Context, cc records.Country) error {
	_, err := s.Owner(ctx, cc, projMarkerNS, projMarkerKey)
	switch {
	case errors.Is(err, records.ErrNotFound):
		if _, err := s.RebuildNutrition(ctx, cc); err != nil {
			return err
		}
		if _, err := s.Claim(ctx, cc, projMarkerNS, projMarkerKey, "built"); err != nil {
			return fmt.Errorf("nutrition projection marker: %w", err)
		}
	case err != nil:
		return fmt.Errorf("nutrition projection marker: %w", err)
	}
	_, err = s.ReconcileNutrition(ctx, cc)
	return err
}

// eachProjection streams the projection documents filter selects, with the
// fields of proj, to fn until it returns an error.
func (s *Store) eachProjection(ctx context.Context, cc records.Country, filter bson.D, proj bson.D, fn func(*projDoc) error) error {
	if err := s.repairDirty(ctx, cc); err != nil {
		return err
	}
	cur, err := s.coll(cc, nutritionColl).Find(ctx, filter, options.Find().SetProjection(proj))
	if err != nil {
		return mapErr(err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d projDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decode nutrition projection: %w", err)
		}
		if d.Version == 0 {
			continue // an intent whose record was never projected: not committed yet
		}
		if err := fn(&d); err != nil {
			return err
		}
	}
	return mapErr(cur.Err())
}

// SearchFlags is Search for q.Type "Flag" over the persons that have a
// nutrition state, read from their small projection documents instead of
// their records: same matching, order, paging and Total as Search.
// Equality conditions select the documents on MongoDB (index on fidx).
func (s *Store) SearchFlags(ctx context.Context, cc records.Country, q records.Query) (_ records.Page, err error) {
	defer s.observe("search_flags", time.Now(), &err)
	if q.Type != "Flag" {
		return records.Page{}, fmt.Errorf("search flags: %w", &records.FieldError{Field: "type", Reason: "want Flag"})
	}
	if s.ferret {
		page, err := s.searchFlagCache(ctx, cc, q)
		if err != nil {
			return records.Page{}, fmt.Errorf("search flags: %w", err)
		}
		return page, nil
	}
	and := bson.A{}
	for _, c := range q.Conds {
		if c.Op != records.OpEq {
			continue
		}
		vals := bson.A{}
		for _, v := range c.Values {
			vals = append(vals, c.Key+"|"+v)
		}
		and = append(and, bson.D{{Key: "fidx", Value: bson.D{{Key: "$in", Value: vals}}}})
	}
	filter := bson.D{}
	if len(and) > 0 {
		filter = bson.D{{Key: "$and", Value: and}}
	}
	var matches []records.Resource
	err = s.eachProjection(ctx, cc, filter, bson.D{{Key: "version", Value: 1}, {Key: "flags", Value: 1}}, func(d *projDoc) error {
		for i, raw := range d.Flags {
			var rd resourceDoc
			if err := json.Unmarshal([]byte(raw), &rd); err != nil {
				return fmt.Errorf("decode flag %d of %s: %w", i, d.ID, err)
			}
			r := records.Resource{Type: rd.Type, ID: rd.ID, Version: rd.Version, Updated: rd.Updated.UTC(), Keys: rd.Keys, Body: []byte(rd.Body)}
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

// markPendingMany is markPending for the records of one InsertMany, in one
// bulk of {_id} updates.
func (s *Store) markPendingMany(ctx context.Context, cc records.Country, ps []*records.Person) error {
	var models []mongo.WriteModel
	for _, p := range ps {
		if projected(p) {
			models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: p.ID}}).
				SetUpdate(pendingUpdate(p.Version)).SetUpsert(true))
		}
	}
	if len(models) == 0 {
		return nil
	}
	if err := s.bulk(ctx, s.coll(cc, nutritionColl), models); err != nil {
		return fmt.Errorf("nutrition projection intents: %w", mapErr(err))
	}
	return nil
}

// ferretBulk bounds the statements of one update command on the embedded
// engine: FerretDB v1.24 keeps each statement's query (an SQLite
// connection of a pool of 100) open until the whole command ends, so a
// command of 100 statements or more waits for a connection forever.
const ferretBulk = 32

// bulk runs models as unordered bulk writes, in chunks on the embedded engine.
func (s *Store) bulk(ctx context.Context, c *mongo.Collection, models []mongo.WriteModel) error {
	n := len(models)
	if s.ferret {
		n = ferretBulk
	}
	var errs []error
	for lo := 0; lo < len(models); lo += n {
		if _, err := c.BulkWrite(ctx, models[lo:min(lo+n, len(models))], options.BulkWrite().SetOrdered(false)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// projectMany writes the projections of records InsertMany just created,
// in one bulk. On MongoDB the version filter keeps a newer projection
// written meanwhile; on the embedded engine InsertMany holds every person
// lock (lockAll) from the intents to the projections, so no write of these
// records can interleave.
func (s *Store) projectMany(ctx context.Context, cc records.Country, ps []*records.Person) {
	var models []mongo.WriteModel
	var ids []string
	for _, p := range ps {
		if !projected(p) {
			continue
		}
		d, err := projectionOf(p)
		if err != nil {
			s.markDirty(cc, p.ID)
			continue
		}
		ids = append(ids, p.ID)
		if s.ferret {
			models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: p.ID}}).SetReplacement(d).SetUpsert(true))
			continue
		}
		set := bson.D{{Key: "version", Value: d.Version}, {Key: "nutrition", Value: d.Nutrition}, {Key: "flags", Value: d.Flags}, {Key: "fidx", Value: d.Fidx}}
		models = append(models,
			mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: p.ID}, {Key: "version", Value: bson.D{{Key: "$lt", Value: p.Version}}}}).
				SetUpdate(bson.D{{Key: "$set", Value: set}}).SetUpsert(true),
			mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: p.ID}, {Key: "pending", Value: bson.D{{Key: "$lte", Value: p.Version}}}}).
				SetUpdate(bson.D{{Key: "$unset", Value: bson.D{{Key: "pending", Value: ""}}}}))
	}
	if len(models) == 0 {
		return
	}
	err := s.bulk(ctx, s.coll(cc, nutritionColl), models)
	if err != nil && !allDuplicates(err) {
		for _, id := range ids {
			s.markDirty(cc, id)
		}
		return
	}
	for _, p := range ps {
		if projected(p) {
			s.cacheFlags(cc, p.ID, p.Version, flagsOf(p))
		}
	}
}

// allDuplicates reports whether err holds only duplicate-key write errors
// (a newer projection is stored).
func allDuplicates(err error) bool {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var bwe mongo.BulkWriteException
		if !errors.As(e, &bwe) || bwe.WriteConcernError != nil {
			return false
		}
		for _, we := range bwe.WriteErrors {
			if we.Code != 11000 {
				return false
			}
		}
	}
	return true
}

// lockAll takes every lock of Store.locks, in order, on the embedded
// engine (nothing else holds two at once, so this cannot deadlock), and
// returns the function that releases them. InsertMany uses it so that its
// batch is ordered with every other write like a single-person write.
func (s *Store) lockAll() func() {
	if !s.ferret {
		return func() {}
	}
	for i := range s.locks {
		s.locks[i].Lock()
	}
	return func() {
		for i := range s.locks {
			s.locks[i].Unlock()
		}
	}
}
