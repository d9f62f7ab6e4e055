package mongo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// auditDoc is the stored form of a records.AuditEntry (persistence contract).
type auditDoc struct {
	ID           string    `bson:"_id"`
	Time         time.Time `bson:"t"`
	Actor        string    `bson:"actor"`
	Role         string    `bson:"role"`
	Country      string    `bson:"cc"`
	Action       string    `bson:"action"`
	Interaction  string    `bson:"interaction"`
	ResourceType string    `bson:"rtype,omitempty"`
	ResourceID   string    `bson:"rid,omitempty"`
	PersonID     string    `bson:"person,omitempty"`
	Persons      []string  `bson:"persons,omitempty"`
	Outcome      int       `bson:"outcome"`
	RequestID    string    `bson:"req,omitempty"`
	Purpose      string    `bson:"purpose,omitempty"`
}

// AppendAudit stores an audit entry. An empty ID gets a new one and a zero
// Time the current time; times are kept to the millisecond.
func (s *Store) AppendAudit(ctx context.Context, cc records.Country, e records.AuditEntry) (err error) {
	defer s.observe("audit_append", time.Now(), &err)
	if e.ID == "" {
		e.ID = records.NewID()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	d := auditDoc{ID: e.ID, Time: e.Time.UTC().Truncate(time.Millisecond), Actor: e.Actor, Role: e.Role, Country: string(e.Country),
		Action: e.Action, Interaction: e.Interaction, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		PersonID: e.PersonID, Persons: e.Persons, Outcome: e.Outcome, RequestID: e.RequestID, Purpose: e.Purpose}
	if _, err := s.coll(cc, auditColl).InsertOne(ctx, d); err != nil {
		return fmt.Errorf("append audit %s: %w", e.ID, mapErr(err))
	}
	s.indexAudit(cc, &d)
	return nil
}

func fromAuditDoc(d auditDoc) records.AuditEntry {
	return records.AuditEntry{ID: d.ID, Time: d.Time.UTC(), Actor: d.Actor, Role: d.Role, Country: records.Country(d.Country),
		Action: d.Action, Interaction: d.Interaction, ResourceType: d.ResourceType, ResourceID: d.ResourceID,
		PersonID: d.PersonID, Persons: d.Persons, Outcome: d.Outcome, RequestID: d.RequestID, Purpose: d.Purpose}
}

// Audit returns one audit entry; ErrNotFound if none.
func (s *Store) Audit(ctx context.Context, cc records.Country, id string) (_ records.AuditEntry, err error) {
	defer s.observe("audit", time.Now(), &err)
	var d auditDoc
	if err := s.coll(cc, auditColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return records.AuditEntry{}, fmt.Errorf("read audit %s: %w", id, mapErr(err))
	}
	return fromAuditDoc(d), nil
}

// Audits returns audit entries matching q, newest first (ties by id,
// descending), one page of q.Count (default 50, at most 1000), and the
// cursor of the next page ("" on the last). Since is inclusive, Until
// exclusive. ErrMalformed if q.After is not a cursor.
//
// By patient, the entries that name the person (person) and those among
// whose disclosed persons it is (persons) are two queries, each a
// top-level equality that FerretDB pushes down to SQL (an $or of both is
// evaluated in Go over the whole table) and an index serves: on MongoDB
// person_1_t_-1__id_-1 and persons_1_t_-1, on FerretDB-PostgreSQL the GIN
// indexes of pgindex.go. Each returns its newest page; the union of the
// two, newest first, holds the page. On the embedded engine, which pushes
// down only _id, the in-process audit index (audit_index.go) finds them.
func (s *Store) Audits(ctx context.Context, cc records.Country, q records.AuditQuery) (_ []records.AuditEntry, _ string, err error) {
	defer s.observe("audits", time.Now(), &err)
	var rest []bson.E
	if !q.Since.IsZero() {
		rest = append(rest, bson.E{Key: "t", Value: bson.D{{Key: "$gte", Value: q.Since.UTC()}}})
	}
	if !q.Until.IsZero() {
		rest = append(rest, bson.E{Key: "t", Value: bson.D{{Key: "$lt", Value: q.Until.UTC()}}})
	}
	var after *auditRef // the cursor's entry: the page starts after it
	if q.After != "" {
		c, err := records.ParseCursor(q.After)
		if err != nil || len(c.Values) != 1 {
			return nil, "", fmt.Errorf("audits: bad cursor: %w", records.ErrMalformed)
		}
		t, err := time.Parse(records.TimeFormat, c.Values[0])
		if err != nil {
			return nil, "", fmt.Errorf("audits: bad cursor: %w", records.ErrMalformed)
		}
		after = &auditRef{t: t, id: c.ID}
		rest = append(rest, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "t", Value: bson.D{{Key: "$lt", Value: t}}}},
			bson.D{{Key: "t", Value: bson.D{{Key: "$eq", Value: t}}}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: c.ID}}}},
		}})
	}
	filters := []bson.D{pushdown(rest)}
	if q.PersonID != "" {
		filters = []bson.D{
			pushdown(append([]bson.E{{Key: "person", Value: q.PersonID}}, rest...)),
			pushdown(append([]bson.E{{Key: "persons", Value: q.PersonID}}, rest...)),
		}
	}
	n := records.Query{Count: q.Count}.PageSize()
	var docs []auditDoc
	if q.PersonID != "" && s.exclusive() {
		filters = nil // the embedded engine's audit index (audit_index.go)
		if docs, err = s.indexedAudits(ctx, cc, q, after, n+1); err != nil {
			return nil, "", err
		}
	}
	seen := map[string]bool{}
	for _, f := range filters {
		got, err := s.findAudits(ctx, cc, f, n+1)
		if err != nil {
			return nil, "", err
		}
		for _, d := range got {
			if !seen[d.ID] {
				seen[d.ID] = true
				docs = append(docs, d)
			}
		}
	}
	slices.SortFunc(docs, func(a, b auditDoc) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.ID, a.ID))
	})
	out := make([]records.AuditEntry, 0, min(n, len(docs)))
	for i := 0; i < len(docs) && i < n; i++ {
		out = append(out, fromAuditDoc(docs[i]))
	}
	next := ""
	if len(docs) > n {
		last := docs[n-1]
		next = records.Cursor{Values: []string{last.Time.UTC().Format(records.TimeFormat)}, ID: last.ID}.String()
	}
	return out, next, nil
}

// findAudits returns the newest limit audit entries matching filter.
func (s *Store) findAudits(ctx context.Context, cc records.Country, filter bson.D, limit int) ([]auditDoc, error) {
	opts := options.Find().SetSort(bson.D{{Key: "t", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit))
	cur, err := s.coll(cc, auditColl).Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("audits: %w", mapErr(err))
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("audits: %w", mapErr(err))
	}
	return docs, nil
}
