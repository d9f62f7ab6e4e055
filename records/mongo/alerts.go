package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"contigo/fhir"
	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// alertsColl holds one small document per current nutrition alert Flag
// (a Flag of a projected person with the search key value
// fhir.KeyAlert = "1"): the alert list (GET /alerts) reads a page of them
// in the order of its sort key from an index, instead of every projection
// holding an alert (projection.go). Like the projection it is derived,
// last-writer-wins, written by project() after each commit (after the
// projection: see backfillAlerts), repaired by Reconcile and rebuilt by
// RebuildNutrition.
const alertsColl = "alerts"

// alertsMarkerKey names the claim that says the alert documents of a
// country were built from its projections (data sets from before them).
// Version 2 added alertDoc.Keys, version 3 fhir.KeyAlertUpdated in them:
// a data set marked with an older version is built again.
const alertsMarkerKey = "nutrition-alerts-v3"

// alertDoc is the stored form of one alert Flag (persistence contract:
// never rename a bson tag).
type alertDoc struct {
	ID      string `bson:"_id"` // the Flag's id
	Person  string `bson:"p"`
	Version int64  `bson:"v"` // the person's record version projected
	// Sort and Max are the smallest and the largest value of
	// fhir.KeyAlertCreated ("" if none): Sort orders the list (then _id),
	// as records.Paginate does; a range condition on that key holds for
	// "some value" exactly when Max (>, >=) or Sort (<, <=) satisfies it.
	Sort string `bson:"s"`
	Max  string `bson:"m"`
	// Fidx lists "key|value" of every search key value of the Flag.
	Fidx []string `bson:"fidx"`
	// Keys holds the value of each key of alertScalarKeys and
	// alertRangeKeys the Flag has, as a scalar that a btree can index
	// (pgalerts.go) and a range can compare on every engine.
	Keys map[string]string `bson:"k"`
	// Flag is the Flag resource, resourceDoc JSON.
	Flag string `bson:"f"`
}

// alertScalarKeys are the search keys of an alert Flag that the alert
// list filters on by equality (GET /alerts: kind, severity, status, age
// band, sex, area, site). Each holds one value (fhir.AlertKeys makes them
// so, and only the nutrition engine writes alert Flags), kept in the alert
// document also as a scalar (alertDoc.Keys): FerretDB-PostgreSQL indexes
// each with the sort key, so that a page and its total read index entries
// instead of every matching document (pgalerts.go).
var alertScalarKeys = []string{fhir.KeyAlertKind, fhir.KeyAlertSeverity, fhir.KeyAlertStatus, fhir.KeyAlertAgeBand,
	fhir.KeyAlertSex, fhir.KeyAlertAdminArea, fhir.KeyAlertSite}

// alertRangeKeys are the other single-valued keys of an alert Flag kept
// in alertDoc.Keys: those the alert list filters on by a range (GET
// /alerts?updated_since=), compared there as one scalar. A range on an
// array element ($elemMatch on fidx) is what FerretDB v1.24 does not
// apply to an array of strings, so no engine is asked for one.
var alertRangeKeys = []string{fhir.KeyAlertUpdated}

// isAlertScalar reports whether key is kept in alertDoc.Keys.
func isAlertScalar(key string) bool {
	return slices.Contains(alertScalarKeys, key) || slices.Contains(alertRangeKeys, key)
}

// isAlert reports whether Flag r is a nutrition alert.
func isAlert(r records.Resource) bool { return slices.Contains(r.Keys[fhir.KeyAlert], "1") }

// alertDocsOf returns the alert documents of version v of person pid,
// whose current Flags are flags (resourceDoc JSON, as projDoc.Flags).
func alertDocsOf(pid string, v int64, flags []string) ([]alertDoc, error) {
	var out []alertDoc
	for _, raw := range flags {
		r, err := decodeResource(raw)
		if err != nil {
			return nil, fmt.Errorf("alert of %s: %w", pid, err)
		}
		if r.Type != "Flag" || !isAlert(r) {
			continue
		}
		d := alertDoc{ID: r.ID, Person: pid, Version: v, Fidx: []string{}, Keys: map[string]string{}, Flag: raw}
		for _, k := range slices.Concat(alertScalarKeys, alertRangeKeys) {
			switch vs := r.Keys[k]; len(vs) {
			case 0:
			case 1:
				d.Keys[k] = vs[0]
			default:
				return nil, fmt.Errorf("alert %s of %s: %d values of %s, where an alert has one", r.ID, pid, len(vs), k)
			}
		}
		if vs := r.Keys[fhir.KeyAlertCreated]; len(vs) > 0 {
			d.Sort, d.Max = slices.Min(vs), slices.Max(vs)
		}
		for _, k := range sortedKeys(r.Keys) {
			for _, val := range r.Keys[k] {
				d.Fidx = append(d.Fidx, k+"|"+val)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// writeAlerts makes the alert documents of person pid those of docs:
// each replaced by _id, then the person's others deleted: by _id those of
// stale, the other Flag ids of the record (staleAlerts), or with stale nil
// all the person's others, found by person (an index on MongoDB and
// FerretDB-PostgreSQL, a scan of the collection on FerretDB-SQLite: for
// builds, not for each write). Last writer wins, as for the projection
// (project writes again after a newer commit).
func (s *Store) writeAlerts(ctx context.Context, cc records.Country, pid string, docs []alertDoc, stale []string) error {
	c := s.coll(cc, alertsColl)
	ids := bson.A{}
	for _, d := range docs {
		if err := replaceByID(ctx, c, d.ID, d); err != nil {
			return fmt.Errorf("alert %s: %w", d.ID, err)
		}
		ids = append(ids, d.ID)
	}
	if stale != nil {
		for _, id := range stale {
			if _, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
				return fmt.Errorf("alerts of %s: %w", pid, mapErr(err))
			}
		}
		return nil
	}
	if _, err := c.DeleteMany(ctx, bson.D{{Key: "p", Value: pid}, {Key: "_id", Value: bson.D{{Key: "$nin", Value: ids}}}}); err != nil {
		return fmt.Errorf("alerts of %s: %w", pid, mapErr(err))
	}
	return nil
}

// staleAlerts returns the ids of the Flags in p's record (any version)
// without a document in docs: every alert document of p that may exist
// besides docs, since each was written from a Flag of the record.
func staleAlerts(p *records.Person, docs []alertDoc) []string {
	stale := []string{}
	for _, r := range p.Resources {
		if r.Type != "Flag" || slices.Contains(stale, r.ID) || slices.ContainsFunc(docs, func(d alertDoc) bool { return d.ID == r.ID }) {
			continue
		}
		stale = append(stale, r.ID)
	}
	return stale
}

// alertsMany writes the alert documents of new records in batches
// (seeding), as projectMany does the projections.
func (s *Store) alertsMany(ctx context.Context, cc records.Country, docs []projDoc) {
	var models []mongo.WriteModel
	for _, p := range docs {
		ds, err := alertDocsOf(p.ID, p.Version, p.Flags)
		if err != nil {
			continue
		}
		for _, d := range ds {
			models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: d.ID}}).SetReplacement(d).SetUpsert(true))
		}
	}
	const batch = 32 // FerretDB can hang on an update of 100 statements or more
	for lo := 0; lo < len(models); lo += batch {
		_, _ = s.coll(cc, alertsColl).BulkWrite(ctx, models[lo:min(lo+batch, len(models))], options.BulkWrite().SetOrdered(false))
	}
}

// setupAlerts builds the alert documents of cc from its projections once
// (marked by a claim), for data sets written before them.
func (s *Store) setupAlerts(ctx context.Context, cc records.Country) error {
	_, err := s.Owner(ctx, cc, projMarkerNS, alertsMarkerKey)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, records.ErrNotFound):
		return fmt.Errorf("alerts marker: %w", err)
	}
	if err := s.backfillAlerts(ctx, cc); err != nil {
		return err
	}
	if _, err := s.Claim(ctx, cc, projMarkerNS, alertsMarkerKey, "built"); err != nil {
		return fmt.Errorf("alerts marker: %w", err)
	}
	return nil
}

// backfillAlerts writes the alert documents of every projection and
// deletes those of persons without one. A writer of another replica may
// project a newer version meanwhile and write its alerts before ours: so
// the projections' versions are read again afterwards, and the alerts of
// those that changed are written again (each writer writes the projection
// before the alerts, so a projection seen at the version we wrote was not
// yet followed by newer alerts), as backfillDigests does.
func (s *Store) backfillAlerts(ctx context.Context, cc records.Country) error {
	done := map[string]int64{}
	proj := bson.D{{Key: "version", Value: 1}, {Key: "flags", Value: 1}}
	for round := 0; ; round++ {
		// The alert documents there are, by person: each person's others
		// are deleted by _id (a DeleteMany by person and $nin reads the
		// whole collection on FerretDB-SQLite, once per person).
		existing, err := s.alertIDsByPerson(ctx, cc)
		if err != nil {
			return err
		}
		again := 0
		err = s.eachProjection(ctx, cc, bson.D{}, proj, func(d *projDoc) error {
			if v, ok := done[d.ID]; ok && v == d.Version {
				return nil
			}
			if round > 0 {
				again++
			}
			docs, err := alertDocsOf(d.ID, d.Version, d.Flags)
			if err != nil {
				return err
			}
			stale := []string{}
			for _, id := range existing[d.ID] {
				if !slices.ContainsFunc(docs, func(a alertDoc) bool { return a.ID == id }) {
					stale = append(stale, id)
				}
			}
			if err := s.writeAlerts(ctx, cc, d.ID, docs, stale); err != nil {
				return err
			}
			done[d.ID] = d.Version
			return nil
		})
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		if round == 0 {
			if err := s.dropOrphanAlerts(ctx, cc, done); err != nil {
				return err
			}
		}
		if round > 0 && again == 0 {
			return nil
		}
		if round > 8 {
			return errors.New("alerts: the projections keep changing")
		}
	}
}

// alertIDsByPerson returns the ids of the alert documents of cc by person.
func (s *Store) alertIDsByPerson(ctx context.Context, cc records.Country) (map[string][]string, error) {
	out := map[string][]string{}
	err := eachDoc(ctx, s.coll(cc, alertsColl), bson.D{}, bson.D{{Key: "p", Value: 1}}, func(d *alertDoc) error {
		out[d.Person] = append(out[d.Person], d.ID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return out, nil
}

// dropOrphanAlerts deletes the alert documents of persons not in have
// (persons without a projection). A person projected meanwhile gets its
// alerts back from the next round of backfillAlerts.
func (s *Store) dropOrphanAlerts(ctx context.Context, cc records.Country, have map[string]int64) error {
	cur, err := s.coll(cc, alertsColl).Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "p", Value: 1}}))
	if err != nil {
		return fmt.Errorf("alerts: %w", mapErr(err))
	}
	var docs []alertDoc
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("alerts: %w", mapErr(err))
	}
	for _, d := range docs {
		if _, ok := have[d.Person]; ok {
			continue
		}
		if _, err := s.coll(cc, alertsColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}}); err != nil {
			return fmt.Errorf("alerts: %w", mapErr(err))
		}
	}
	return nil
}

// alertSort is the order of the alert list (then id): the alert
// documents' sort field and the embedded engine's flagCache.alerts keep it.
var alertSort = []records.SortKey{{Key: fhir.KeyAlertCreated}}

// alertQuery is a Flag query the alert documents can answer: it asks for
// nutrition alerts only (fhir.KeyAlert = "1"), is sorted by
// fhir.KeyAlertCreated ascending (then id), and its other conditions are
// on search keys (not _id or _lastUpdated) without "|".
type alertQuery struct {
	conds []records.Cond // without the fhir.KeyAlert condition
	after *records.Cursor
	size  int
	none  bool // a condition without values: nothing matches
}

// alertQueryOf returns the alertQuery of q; ok is false if the alert
// documents cannot answer q (SearchFlags then reads the projections).
func alertQueryOf(q records.Query) (aq alertQuery, ok bool, err error) {
	if !slices.Equal(q.Sort, alertSort) {
		return alertQuery{}, false, nil
	}
	alert := false
	for _, c := range q.Conds {
		if c.Key == fhir.KeyAlert && c.Op == records.OpEq && len(c.Values) > 0 && !slices.ContainsFunc(c.Values, func(v string) bool { return v != "1" }) {
			alert = true
			continue
		}
		if c.Key == "_id" || c.Key == "_lastUpdated" || strings.Contains(c.Key, "|") {
			return alertQuery{}, false, nil
		}
		switch c.Op {
		case records.OpEq, records.OpPrefix:
		case records.OpGe, records.OpGt, records.OpLe, records.OpLt:
			if c.Key != fhir.KeyAlertCreated && !isAlertScalar(c.Key) {
				return alertQuery{}, false, nil // only the projections have its values
			}
		default:
			return alertQuery{}, false, nil
		}
		if len(c.Values) == 0 {
			aq.none = true
		}
		aq.conds = append(aq.conds, c)
	}
	if !alert {
		return alertQuery{}, false, nil
	}
	if q.After != "" {
		c, err := records.ParseCursor(q.After)
		if err != nil {
			return alertQuery{}, false, err
		}
		aq.after = &c
	}
	aq.size = q.PageSize()
	return aq, true, nil
}

// cursorOf returns the position of the cursor: the sort value and the id.
func (aq alertQuery) cursorOf() (string, string) {
	if len(aq.after.Values) == 0 {
		return "", aq.after.ID
	}
	return aq.after.Values[0], aq.after.ID
}

// createdField returns the field of alertDoc on which a range op on
// fhir.KeyAlertCreated holds for some value exactly when it holds: the
// largest value for > and >=, the smallest for < and <=.
func createdField(op records.Op) string {
	if op == records.OpGe || op == records.OpGt {
		return "m"
	}
	return "s"
}

// mongoAlertFilter returns the filter of aq on the alert documents
// without the cursor. The indexes of createCountry serve it on MongoDB.
func mongoAlertFilter(aq alertQuery) bson.D {
	ops := map[records.Op]string{records.OpGe: "$gte", records.OpGt: "$gt", records.OpLe: "$lte", records.OpLt: "$lt"}
	and := bson.A{}
	for _, c := range aq.conds {
		or := bson.A{}
		for _, v := range c.Values {
			switch {
			case c.Op == records.OpEq:
				or = append(or, bson.D{{Key: "fidx", Value: c.Key + "|" + v}})
			case c.Op == records.OpPrefix:
				or = append(or, bson.D{{Key: "fidx", Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(c.Key+"|"+v)}}})
			case c.Key == fhir.KeyAlertCreated:
				or = append(or, bson.D{{Key: createdField(c.Op), Value: bson.D{{Key: ops[c.Op], Value: v}}}})
			default: // a range on a key of alertDoc.Keys (alertQueryOf)
				or = append(or, bson.D{{Key: "k." + c.Key, Value: bson.D{{Key: ops[c.Op], Value: v}}}})
			}
		}
		if len(or) == 1 {
			and = append(and, or[0])
		} else {
			and = append(and, bson.D{{Key: "$or", Value: or}})
		}
	}
	if len(and) == 0 {
		return bson.D{}
	}
	return bson.D{{Key: "$and", Value: and}}
}

// searchAlertsMongo answers aq from the alert documents with a MongoDB
// query: the filter, after the cursor, sorted by {s, _id}, count+1
// documents; Total by a count of the same filter. On MongoDB the index
// {fidx: 1, s: 1, _id: 1} serves an equality on one key value with the
// sort (the equality, sort, range rule:
// https://www.mongodb.com/docs/manual/tutorial/equality-sort-range-guideline/),
// and {s: 1, _id: 1} the list without filters and the cursor
// (https://www.mongodb.com/docs/manual/tutorial/sort-results-with-indexes/).
func (s *Store) searchAlertsMongo(ctx context.Context, cc records.Country, aq alertQuery) (records.Page, error) {
	filter := mongoAlertFilter(aq)
	c := s.coll(cc, alertsColl)
	total, err := c.CountDocuments(ctx, filter)
	if err != nil {
		return records.Page{}, fmt.Errorf("count alerts: %w", mapErr(err))
	}
	find := filter
	if aq.after != nil {
		sv, id := aq.cursorOf()
		after := bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "s", Value: bson.D{{Key: "$gt", Value: sv}}}},
			bson.D{{Key: "s", Value: sv}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: id}}}},
		}}}
		if len(filter) == 0 {
			find = after
		} else {
			find = bson.D{{Key: "$and", Value: bson.A{filter, after}}}
		}
	}
	cur, err := c.Find(ctx, find, options.Find().SetSort(bson.D{{Key: "s", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(aq.size+1)).SetProjection(bson.D{{Key: "s", Value: 1}, {Key: "f", Value: 1}}))
	if err != nil {
		return records.Page{}, fmt.Errorf("read alerts: %w", mapErr(err))
	}
	var docs []alertDoc
	if err := cur.All(ctx, &docs); err != nil {
		return records.Page{}, fmt.Errorf("read alerts: %w", mapErr(err))
	}
	rows := make([]alertRow, len(docs))
	for i, d := range docs {
		rows[i] = alertRow{sort: d.Sort, id: d.ID, flag: d.Flag}
	}
	return alertPage(rows, aq.size, total)
}

// alertRow is one alert read for a page: its sort value, id and Flag.
type alertRow struct{ sort, id, flag string }

// alertPage returns the page of the first size of rows (read in order,
// up to size+1 of them) with total, as records.Paginate pages.
func alertPage(rows []alertRow, size int, total int64) (records.Page, error) {
	page := records.Page{Total: total, Resources: []records.Resource{}}
	for i, r := range rows {
		if i == size {
			last := rows[size-1]
			page.Next = records.Cursor{Values: []string{last.sort}, ID: last.id}.String()
			break
		}
		res, err := decodeResource(r.flag)
		if err != nil {
			return records.Page{}, fmt.Errorf("alert %s: %w", r.id, err)
		}
		page.Resources = append(page.Resources, res)
	}
	return page, nil
}

// searchAlerts answers aq from the alert documents: with SQL on
// FerretDB-PostgreSQL (pgalerts.go), else with a MongoDB query.
func (s *Store) searchAlerts(ctx context.Context, cc records.Country, aq alertQuery) (records.Page, error) {
	if aq.none {
		return records.Page{Resources: []records.Resource{}}, nil
	}
	if s.pg != nil && s.pg.alertsTable(cc) != "" {
		return s.pg.searchAlerts(ctx, cc, aq)
	}
	return s.searchAlertsMongo(ctx, cc, aq)
}
