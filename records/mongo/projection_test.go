package mongo_test

import (
	"fmt"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
	"contigo/records/nutrition"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// assessed returns a record with a nutrition state and one alert Flag.
func assessed(id string, version int64) *records.Person {
	flag := records.Resource{Type: "Flag", ID: id + ".nf1", Version: 1, Updated: t0,
		Body: []byte(`{"resourceType":"Flag"}`), Keys: records.Keys{"nutrition-alert": {"1"}, "alert-created": {t0.Format(records.TimeFormat)}}}
	return &records.Person{ID: id, Country: "CO", Version: version, Created: t0, Updated: t0,
		Resources: []records.Resource{patient(id, 1), flag}, Nutrition: []byte(`{"v":` + fmt.Sprint(version) + `}`)}
}

// InsertMany of more records than the embedded engine's connection pool
// projects them all (in bounded bulk commands), and Replace keeps the
// projection at the newest version.
func TestNutritionProjectionInsertManyReplace(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	var ps []*records.Person
	for i := range 250 {
		ps = append(ps, assessed(fmt.Sprintf("proj%04d", i), 1))
	}
	ps = append(ps, &records.Person{ID: "plain", Country: "CO", Version: 1, Created: t0, Updated: t0, Resources: []records.Resource{patient("plain", 1)}})
	if err := s.InsertMany(ctx, "CO", ps); err != nil {
		t.Fatal(err)
	}
	// Projected by InsertMany itself, not repaired by the first read.
	coll := s.Client().Database(s.DatabaseName("CO")).Collection("nutrition")
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "version", Value: 1}}); err != nil || n != 250 {
		t.Fatalf("%d projections of version 1 after InsertMany (%v), want 250", n, err)
	}
	if err := s.Append(ctx, "CO", &records.Commit{PersonID: "proj0007", Version: 2, At: t0, Nutrition: []byte(`{"v":2}`)}); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	if err := s.EachNutrition(ctx, "CO", func(id string, st []byte) error { states[id] = string(st); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(states) != 250 || states["proj0007"] != `{"v":2}` || states["proj0008"] != `{"v":1}` {
		t.Errorf("%d states; proj0007 %s", len(states), states["proj0007"])
	}
	q := records.Query{Type: "Flag", Conds: []records.Cond{{Key: "nutrition-alert", Op: records.OpEq, Values: []string{"1"}}},
		Sort: []records.SortKey{{Key: "alert-created"}}, Count: 10}
	page, err := s.SearchFlags(ctx, "CO", q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Search(ctx, "CO", q)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 250 || want.Total != 250 || len(page.Resources) != 10 || page.Next != want.Next || page.Resources[0].ID != want.Resources[0].ID {
		t.Errorf("SearchFlags: total %d, next %q; Search: total %d, next %q", page.Total, page.Next, want.Total, want.Next)
	}
	if n, err := s.ReconcileNutrition(ctx, "CO"); err != nil || n != 0 {
		t.Errorf("ReconcileNutrition: %d, %v", n, err)
	}
}

// Each projection has an indicator digest, at its version; a data set
// without digests (written before them) gets them at the next start.
func TestIndicatorDigests(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	state := func(v int) []byte {
		return fmt.Appendf(nil, `{"assessments":[{"date":"2025-03-0%dT00:00:00Z","subject":"child","age_band":"child_6_59m","anthro_wasting":"severe_wasting","muac_mm":110}]}`, v)
	}
	a, b := assessed("dig1", 1), assessed("dig2", 1)
	a.Nutrition, b.Nutrition = state(1), state(1)
	if err := s.InsertMany(ctx, "CO", []*records.Person{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "CO", &records.Commit{PersonID: "dig1", Version: 2, At: t0, Nutrition: state(2)}); err != nil {
		t.Fatal(err)
	}
	digests := func(s *recmongo.Store) map[string]string {
		t.Helper()
		out := map[string]string{}
		if err := s.EachIndicatorDigest(ctx, "CO", func(id string, d []byte) error { out[id] = string(d); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := digests(s)
	f, err := nutrition.ParseDigest([]byte(got["dig1"]))
	if len(got) != 2 || err != nil || len(f.Screens) != 1 || f.Screens[0].Date.Day() != 2 || f.Screens[0].Bits == 0 {
		t.Fatalf("digests %v: dig1 %+v, %v", got, f, err)
	}
	// A data set from before the digests: no digests, no marker.
	db := s.Client().Database(s.DatabaseName("CO"))
	if _, err := db.Collection("nutrition_digests").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("claims").DeleteOne(ctx, bson.D{{Key: "_id", Value: "meta:nutrition-digests-v1"}}); err != nil {
		t.Fatal(err)
	}
	if len(digests(s)) != 0 {
		t.Fatal("digests left")
	}
	s2 := secondStore(t, s, recmongo.Config{})
	if again := digests(s2); len(again) != 2 || again["dig1"] != got["dig1"] || again["dig2"] != got["dig2"] {
		t.Errorf("after a start: %v, want %v", again, got)
	}
}
