package mongo_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// alertFlag returns alert Flag n of person id: created at t0 plus n%7
// hours (ties on purpose), in area a<n%3>, status open or closed.
func alertFlag(id string, n int) records.Resource {
	at := t0.Add(time.Duration(n%7) * time.Hour).Format(records.TimeFormat)
	return records.Resource{Type: "Flag", ID: fmt.Sprintf("%s.nf%d", id, n), Version: 1, Updated: t0,
		Body: fmt.Appendf(nil, `{"resourceType":"Flag","id":"%s.nf%d"}`, id, n),
		Keys: records.Keys{"nutrition-alert": {"1"}, "alert-created": {at}, "alert-updated": {at},
			"alert-admin-area": {fmt.Sprintf("a%d", n%3)}, "alert-status": {[]string{"open", "closed"}[n%2]},
			"alert-id": {fmt.Sprintf("x%02d", n)}}}
}

// alerted returns a record with a nutrition state, n alert Flags and a
// Flag that is not an alert.
func alerted(id string, n int) *records.Person {
	p := assessed(id, 1)
	p.Resources = p.Resources[:1]
	for i := range n {
		p.Resources = append(p.Resources, alertFlag(id, i))
	}
	p.Resources = append(p.Resources, records.Resource{Type: "Flag", ID: id + ".other", Version: 1, Updated: t0,
		Body: []byte(`{"resourceType":"Flag"}`), Keys: records.Keys{"alert-created": {t0.Format(records.TimeFormat)}}})
	return p
}

// insertAlerted stores n alerted persons of CO at once, prefix00,
// prefix01..., the i-th with flags(i) alert Flags.
func insertAlerted(t *testing.T, s *recmongo.Store, prefix string, n int, flags func(i int) int) {
	t.Helper()
	var ps []*records.Person
	for i := range n {
		ps = append(ps, alerted(fmt.Sprintf("%s%02d", prefix, i), flags(i)))
	}
	if err := s.InsertMany(t.Context(), "CO", ps); err != nil {
		t.Fatal(err)
	}
}

// postgresStore returns a store on the external FerretDB-PostgreSQL server
// for a test that reads PostgreSQL itself (plans, tables, triggers), run
// in parallel; on the other engines it skips the test.
func postgresStore(t *testing.T, countries ...records.Country) *recmongo.Store {
	t.Helper()
	t.Parallel()
	if mongotest.Engine() != mongotest.EnginePostgres {
		t.Skip("reads PostgreSQL: postgres engine only")
	}
	return mongotest.NewStore(t, countries...)
}

// alertQueries are the alert list's queries, as GET /alerts builds them.
func alertQueries() map[string]records.Query {
	alert := records.Cond{Key: "nutrition-alert", Op: records.OpEq, Values: []string{"1"}}
	q := func(count int, conds ...records.Cond) records.Query {
		return records.Query{Type: "Flag", Conds: append([]records.Cond{alert}, conds...), Sort: []records.SortKey{{Key: "alert-created"}}, Count: count}
	}
	h := func(n int) string { return t0.Add(time.Duration(n) * time.Hour).Format(records.TimeFormat) }
	return map[string]records.Query{
		"all":             q(7),
		"area":            q(5, records.Cond{Key: "alert-admin-area", Op: records.OpEq, Values: []string{"a1"}}),
		"areas and open":  q(4, records.Cond{Key: "alert-admin-area", Op: records.OpEq, Values: []string{"a0", "a2"}}, records.Cond{Key: "alert-status", Op: records.OpEq, Values: []string{"open"}}),
		"created range":   q(6, records.Cond{Key: "alert-created", Op: records.OpGe, Values: []string{h(2)}}, records.Cond{Key: "alert-created", Op: records.OpLt, Values: []string{h(5)}}),
		"updated range":   q(6, records.Cond{Key: "alert-updated", Op: records.OpGt, Values: []string{h(1)}}, records.Cond{Key: "alert-updated", Op: records.OpLe, Values: []string{h(4)}}),
		"area range":      q(4, records.Cond{Key: "alert-admin-area", Op: records.OpGe, Values: []string{"a1"}}),
		"id range":        q(4, records.Cond{Key: "alert-id", Op: records.OpLt, Values: []string{"x03"}}), // not in alertDoc.Keys: the projections answer
		"area prefix":     q(50, records.Cond{Key: "alert-admin-area", Op: records.OpPrefix, Values: []string{"a"}}),
		"no such area":    q(5, records.Cond{Key: "alert-admin-area", Op: records.OpEq, Values: []string{"zz"}}),
		"no values":       q(5, records.Cond{Key: "alert-status", Op: records.OpEq}),
		"default count":   q(0),
		"quote in value":  q(5, records.Cond{Key: "alert-status", Op: records.OpEq, Values: []string{`o"pen\`}}),
		"created, sorted": q(3, records.Cond{Key: "alert-created", Op: records.OpLe, Values: []string{h(3)}}),
	}
}

// checkAlertList pages through every alert query on s with SearchFlags
// and with Search (the records themselves) and wants the same pages.
func checkAlertList(t *testing.T, s *recmongo.Store) {
	t.Helper()
	ctx := t.Context()
	for name, q := range alertQueries() {
		for page := 0; ; page++ {
			got, err := s.SearchFlags(ctx, "CO", q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want, err := s.Search(ctx, "CO", q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if diff := cmp.Diff(ids(want.Resources), ids(got.Resources)); diff != "" || got.Total != want.Total || got.Next != want.Next {
				t.Fatalf("%s, page %d: total %d next %q, want %d %q (-Search +SearchFlags):\n%s", name, page, got.Total, got.Next, want.Total, want.Next, diff)
			}
			for i := range got.Resources {
				if string(got.Resources[i].Body) != string(want.Resources[i].Body) || !cmp.Equal(got.Resources[i].Keys, want.Resources[i].Keys) {
					t.Fatalf("%s: %s differs", name, got.Resources[i].ID)
				}
			}
			if got.Next == "" {
				break
			}
			q.After = got.Next
		}
	}
}

// TestAlertList: the alert list read from the alert documents (SQL on
// FerretDB-PostgreSQL, a MongoDB query elsewhere) pages exactly as Search
// over the records does: same order, totals, cursors and filters. A Flag
// that stops being current (deleted, or its record's state gone) leaves
// the list; a second store on the same database (another replica) sees
// the same list, also through FerretDB's own queries.
func TestAlertList(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	insertAlerted(t, s, "al", 40, func(i int) int { return i % 4 })
	if err := s.Insert(ctx, "CO", alerted("al99", 3)); err != nil {
		t.Fatal(err)
	}
	checkAlertList(t, s)
	b := secondStore(t, s, recmongo.Config{PostgreSQLURL: mongotest.PostgreSQLURL()})
	checkAlertList(t, b)
	all := alertQueries()["all"]
	all.Count = records.MaxCount
	count := func(st *recmongo.Store) (int64, []string) {
		t.Helper()
		p, err := st.SearchFlags(ctx, "CO", all)
		if err != nil {
			t.Fatal(err)
		}
		return p.Total, ids(p.Resources)
	}
	n0, _ := count(s)
	// Written through b: a Flag deleted, a new one, a record's three deleted.
	alertChanges(t, b, "al")
	for _, st := range []*recmongo.Store{s, b} {
		n, got := count(st)
		if n != n0-1+1-3 || strings.Contains(strings.Join(got, " "), "al01.nf0") || strings.Contains(strings.Join(got, " "), "al03.") ||
			!strings.Contains(strings.Join(got, " "), "al02.nf5") {
			t.Errorf("after the changes: %d alerts %v, want %d without al01.nf0 and al03's, with al02.nf5", n, got, n0-3)
		}
	}
	checkAlertList(t, s)
	checkAlertList(t, b)
	// FerretDB's own queries (no PostgreSQL URL) find the same.
	c := secondStore(t, s, recmongo.Config{})
	checkAlertList(t, c)
}

// alertChanges appends to the records of persons <p>01 to <p>03 and <p>06
// of s: the first alert Flag of <p>01 deleted, a new Flag for <p>02, the
// three Flags of <p>03 deleted, and a new version of the first Flag of
// <p>06 (its other Flag unchanged) in another status and area.
func alertChanges(t *testing.T, s *recmongo.Store, p string) {
	t.Helper()
	gone := alertFlag(p+"01", 0)
	gone.Version, gone.Deleted = 2, true
	moved := alertFlag(p+"06", 0)
	moved.Version = 2
	moved.Keys["alert-status"], moved.Keys["alert-admin-area"] = []string{"closed"}, []string{"a2"}
	var dels []records.Resource
	for i := range 3 {
		f := alertFlag(p+"03", i)
		f.Version, f.Deleted = 2, true
		dels = append(dels, f)
	}
	for _, c := range []*records.Commit{
		{PersonID: p + "01", Version: 2, At: t0, Nutrition: []byte(`{"v":2}`), Resources: []records.Resource{gone}},
		{PersonID: p + "02", Version: 2, At: t0, Nutrition: []byte(`{"v":2}`), Resources: []records.Resource{alertFlag(p+"02", 5)}},
		{PersonID: p + "03", Version: 2, At: t0, Nutrition: []byte(`{"v":2}`), Resources: dels},
		{PersonID: p + "06", Version: 2, At: t0, Nutrition: []byte(`{"v":2}`), Resources: []records.Resource{moved}},
	} {
		if err := s.Append(t.Context(), "CO", c); err != nil {
			t.Fatal(err)
		}
	}
}

// On a store alone on its data directory the alert list is paged from the
// in-process flag cache, bodies included: it pages exactly as Search over
// the records, after writes of the store itself and after a rebuild.
func TestAlertListExclusive(t *testing.T) {
	t.Parallel()
	s := mongotest.NewEmbedded(t, "CO")
	ctx := t.Context()
	insertAlerted(t, s, "ex", 30, func(i int) int { return i % 4 })
	checkAlertList(t, s)
	alertChanges(t, s, "ex")
	checkAlertList(t, s)
	if _, err := s.RebuildNutrition(ctx, "CO"); err != nil {
		t.Fatal(err)
	}
	checkAlertList(t, s)
}

// TestAlertListBuiltOnce: a data set written before the alert documents
// (none, no marker) gets them at the next start, and RebuildNutrition
// rebuilds them after a change by hand.
func TestAlertListBuiltOnce(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	insertAlerted(t, s, "bo", 12, func(i int) int { return 1 + i%3 })
	db := s.Client().Database(s.DatabaseName("CO"))
	alerts := db.Collection("alerts")
	want, err := alerts.CountDocuments(ctx, bson.D{})
	if err != nil || want != 24 {
		t.Fatalf("%d alert documents (%v), want 24", want, err)
	}
	// A data set of alert documents version 1 (without their scalar
	// keys): half of them gone, the others without "k".
	if _, err := alerts.DeleteMany(ctx, bson.D{{Key: "p", Value: bson.D{{Key: "$in", Value: bson.A{"bo00", "bo01", "bo02", "bo03", "bo04", "bo05"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := alerts.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "k", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	// A stray document of a person without a projection goes too.
	if _, err := alerts.InsertOne(ctx, bson.D{{Key: "_id", Value: "nobody.nf0"}, {Key: "p", Value: "nobody"}, {Key: "s", Value: ""}, {Key: "fidx", Value: bson.A{"nutrition-alert|1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("claims").DeleteOne(ctx, bson.D{{Key: "_id", Value: "meta:nutrition-alerts-v3"}}); err != nil {
		t.Fatal(err)
	}
	b := secondStore(t, s, recmongo.Config{PostgreSQLURL: mongotest.PostgreSQLURL()})
	if n, err := alerts.CountDocuments(ctx, bson.D{}); err != nil || n != want {
		t.Fatalf("after a start: %d alert documents (%v), want %d", n, err, want)
	}
	for _, k := range []string{"k.alert-admin-area", "k.alert-updated"} {
		if n, err := alerts.CountDocuments(ctx, bson.D{{Key: k, Value: bson.D{{Key: "$exists", Value: true}}}}); err != nil || n != want {
			t.Fatalf("after a start: %d alert documents with %s (%v), want %d", n, k, err, want)
		}
	}
	checkAlertList(t, b)
	if _, err := alerts.DeleteMany(ctx, bson.D{{Key: "p", Value: "bo03"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RebuildNutrition(ctx, "CO"); err != nil {
		t.Fatal(err)
	}
	if n, err := alerts.CountDocuments(ctx, bson.D{}); err != nil || n != want {
		t.Fatalf("after RebuildNutrition: %d alert documents (%v), want %d", n, err, want)
	}
	checkAlertList(t, b)
}

// TestPostgresAlertPlan: on FerretDB-PostgreSQL the page of the alert list
// walks the btree index on the sort key (no sort of all matches), and the
// area filter and the totals can use the indexes.
func TestPostgresAlertPlan(t *testing.T) {
	s := postgresStore(t, "CO")
	ctx := t.Context()
	if err := s.Insert(ctx, "CO", alerted("pl01", 3)); err != nil {
		t.Fatal(err)
	}
	qs := alertQueries()
	page, count, err := s.ExplainAlertSearch(ctx, "CO", qs["all"], true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page:\n%s\ncount:\n%s", page, count)
	if !strings.Contains(page, "_contigo_sort") || strings.Contains(page, "Sort Key") || strings.Contains(page, "Seq Scan") {
		t.Errorf("the page does not walk the sort index:\n%s", page)
	}
	if strings.Contains(count, "Seq Scan") || !strings.Contains(count, "contigo_alert_counts") {
		t.Errorf("the total of every alert is not read from the counts:\n%s", count)
	}
	after := records.Cursor{Values: []string{t0.Format(records.TimeFormat)}, ID: "pl01.nf0"}.String()
	q := qs["all"]
	q.After = after
	if page, _, err = s.ExplainAlertSearch(ctx, "CO", q, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("page after a cursor:\n%s", page)
	if !strings.Contains(page, "_contigo_sort") || strings.Contains(page, "Sort Key") || !strings.Contains(page, "Index Cond") {
		t.Errorf("the page after a cursor does not start from it in the sort index:\n%s", page)
	}
	q = qs["area"]
	q.After = after
	page, count, err = s.ExplainAlertSearch(ctx, "CO", q, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("area page:\n%s\narea count:\n%s", page, count)
	// One area: read in order from its index, its total from the counts,
	// and no document opened to check a containment on fidx.
	// (On a few rows PostgreSQL sorts the matches instead of walking the
	// index in order; at scale it walks it: README, "At 10,000 and
	// 100,000 persons".)
	if !strings.Contains(page, "_contigo_k_admin-area") || strings.Contains(page, "fidx") {
		t.Errorf("the area page does not walk the area index:\n%s", page)
	}
	if !strings.Contains(count, "contigo_alert_counts") || strings.Contains(count, "fidx") || strings.Contains(count, "Seq Scan") {
		t.Errorf("the total of one area is not read from the counts:\n%s", count)
	}
	if _, count, err = s.ExplainAlertSearch(ctx, "CO", qs["areas and open"], true); err != nil {
		t.Fatal(err)
	}
	t.Logf("areas and open count:\n%s", count)
	if strings.Contains(count, "fidx") || strings.Contains(count, "Seq Scan") || strings.Contains(count, "contigo_alert_counts") {
		t.Errorf("the count of two areas and a status opens documents, or uses counts that do not keep it:\n%s", count)
	}
}

// TestPostgresAlertCounts: on FerretDB-PostgreSQL the totals of every
// alert and of one value of one key are read from counts that a trigger
// keeps. They equal a count of the alert documents after inserts, changes
// through a second replica, concurrent writers on both replicas, a
// deletion by hand through FerretDB, and a start that finds a trigger of
// other keys with wrong counts (which it replaces, counting again).
func TestPostgresAlertCounts(t *testing.T) {
	s := postgresStore(t, "CO")
	ctx := t.Context()
	check := func(step string, st *recmongo.Store) {
		t.Helper()
		kept, counted, triggers, err := recmongo.AlertCounts(ctx, st, "CO")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if diff := cmp.Diff(counted, kept); diff != "" {
			t.Errorf("%s: counts (-counted +kept):\n%s", step, diff)
		}
		if len(triggers) != 1 {
			t.Errorf("%s: count triggers %v, want one", step, triggers)
		}
	}
	insertAlerted(t, s, "ac", 30, func(i int) int { return i % 4 })
	check("after the inserts", s)
	b := secondStore(t, s, recmongo.Config{PostgreSQLURL: mongotest.PostgreSQLURL()})
	alertChanges(t, b, "ac")
	check("after changes through a second replica", s)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		st := []*recmongo.Store{s, b}[w%2]
		wg.Go(func() {
			id := fmt.Sprintf("ac%02d", 10+w)
			for v := 2; v <= 6; v++ {
				f := alertFlag(id, 0)
				f.Version = int64(v)
				f.Keys["alert-status"], f.Keys["alert-admin-area"] = []string{[]string{"open", "closed"}[v%2]}, []string{fmt.Sprintf("a%d", v%3)}
				c := &records.Commit{PersonID: id, Version: int64(v), At: t0, Nutrition: fmt.Appendf(nil, `{"v":%d}`, v), Resources: []records.Resource{f}}
				if err := st.Append(ctx, "CO", c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check("after concurrent writers on both replicas", s)
	checkAlertList(t, b)
	db := s.Client().Database(s.DatabaseName("CO"))
	if _, err := db.Collection("alerts").DeleteMany(ctx, bson.D{{Key: "p", Value: "ac07"}}); err != nil {
		t.Fatal(err)
	}
	check("after a deletion by hand", s)
	if _, err := b.RebuildNutrition(ctx, "CO"); err != nil {
		t.Fatal(err)
	}
	check("after RebuildNutrition", s)
	if err := recmongo.SpoilAlertCounts(ctx, s, "CO"); err != nil {
		t.Fatal(err)
	}
	c := secondStore(t, s, recmongo.Config{PostgreSQLURL: mongotest.PostgreSQLURL()})
	check("after a start that found another trigger", c)
	checkAlertList(t, c)
}
