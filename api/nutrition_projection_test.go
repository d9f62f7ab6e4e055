package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"contigo/fhir"
	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// projection returns the nutrition projection collection of CO.
func (n *nenv) projection() (*recmongo.Store, *mongo.Collection) {
	st := n.store.(*recmongo.Store)
	return st, st.Client().Database(st.DatabaseName("CO")).Collection("nutrition")
}

// checkProjection fails tb unless every person of pids has a projection
// of its current record version and state, and GET /alerts (projection)
// answers exactly what a search of the records' Flags answers.
func (n *nenv) checkProjection(tb testing.TB, pids ...string) {
	tb.Helper()
	ctx := context.Background()
	_, coll := n.projection()
	for _, pid := range pids {
		p, err := n.svc.Person(ctx, "CO", pid)
		if err != nil {
			tb.Fatal(err)
		}
		var d struct {
			Version   int64  `bson:"version"`
			Pending   int64  `bson:"pending"`
			Nutrition string `bson:"nutrition"`
			Flags     []string
		}
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: pid}}).Decode(&d); err != nil {
			tb.Fatalf("projection of %s: %v", pid, err)
		}
		if d.Version != p.Version || d.Nutrition != string(p.Nutrition) || d.Pending > p.Version {
			tb.Errorf("projection of %s: version %d (pending %d), record version %d; same state %v",
				pid, d.Version, d.Pending, p.Version, d.Nutrition == string(p.Nutrition))
		}
	}
	q, err := alertQuery(map[string][]string{"count": {"1000"}})
	if err != nil {
		tb.Fatal(err)
	}
	want, err := n.svc.Search(ctx, "CO", q)
	if err != nil {
		tb.Fatal(err)
	}
	got := n.alerts("count=1000")
	if int(got.Total) != len(want.Resources) || len(got.Alerts) != len(want.Resources) {
		tb.Fatalf("GET /alerts: %d alerts (total %d), the records hold %d", len(got.Alerts), got.Total, len(want.Resources))
	}
	for i, r := range want.Resources {
		al, err := fhir.AlertOf(r)
		if err != nil {
			tb.Fatal(err)
		}
		a, _ := json.Marshal(al)
		b, _ := json.Marshal(got.Alerts[i])
		if !bytes.Equal(a, b) {
			tb.Errorf("alert %d:\n got %s\nwant %s", i, b, a)
		}
	}
}

// Concurrent writes to one person (status changes and new visits) leave
// its projection at the record's last version: an older write never
// overwrites a newer projection, and the alert list equals the records'.
func TestNutritionProjectionConcurrentWrites(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	a := n.person("male", "2024-06-01", "Arauca")
	b := n.person("female", "2024-06-01", "Arauca")
	must(t, n.visit(a, "2026-01-05", muacObs(110), oedemaObs("absent")), http.StatusOK)
	must(t, n.visit(b, "2026-01-05", muacObs(120), oedemaObs("absent")), http.StatusOK)
	n.checkProjection(t, a, b)
	id := n.state(a).Alerts[0].ID
	n.clk.Set(time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC))
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := []string{"acknowledged", "referred", "open"}[i%3]
			if r := n.do("PATCH", "/alerts/"+id, n.lead, `{"status":"`+status+`","reason":"r"}`); r.Code != http.StatusOK && r.Code != http.StatusUnprocessableEntity && r.Code != http.StatusConflict {
				errs <- fmt.Sprintf("PATCH: %d %s", r.Code, r.Body)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			pid := []string{a, b}[i%2]
			body := strings.ReplaceAll(strings.ReplaceAll(muacObs(float64(105+i%8)), "PID", pid), "DATE", fmt.Sprintf("2026-01-%02d", 6+i))
			if r := n.do("POST", "/fhir/Observation", n.hw, body); r.Code != http.StatusCreated {
				errs <- fmt.Sprintf("POST: %d %s", r.Code, r.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	n.checkProjection(t, a, b)
}

// A projection lost (deleted) is rebuilt from the records on demand; one
// left behind by a crash between the record write and the projection write
// (its intent recorded) is repaired when the store opens again.
func TestNutritionProjectionRepair(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	a := n.person("male", "2024-06-01", "Arauca")
	b := n.person("female", "2024-06-01", "Arauca")
	must(t, n.visit(a, "2026-01-05", muacObs(110), oedemaObs("absent")), http.StatusOK)
	must(t, n.visit(b, "2026-01-06", muacObs(112), oedemaObs("absent")), http.StatusOK)
	if got := n.alerts("").Total; got != 2 {
		t.Fatalf("%d alerts, want 2", got)
	}
	ctx := context.Background()
	store, coll := n.projection()

	// Lost: deleted (behind the store's back). A rebuild finds it missing
	// and re-projects it (and reloads the embedded engine's flag cache).
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: a}}); err != nil {
		t.Fatal(err)
	}
	if k, err := store.RebuildNutrition(ctx, "CO"); err != nil || k != 1 {
		t.Fatalf("RebuildNutrition: %d, %v; want 1 re-projected", k, err)
	}
	n.checkProjection(t, a, b)

	// Crash: b's record committed version v, its projection still holds an
	// older state (no Flags) and the intent for v.
	p, err := n.svc.Person(ctx, "CO", b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: b}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "version", Value: p.Version - 1}, {Key: "flags", Value: bson.A{}}, {Key: "fidx", Value: bson.A{}}}}})
	if err != nil {
		t.Fatal(err)
	}
	intents := coll.Database().Collection("intents")
	if _, err := intents.InsertOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%s:%d:crash", b, p.Version)},
		{Key: "p", Value: b}, {Key: "v", Value: p.Version}, {Key: "at", Value: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	// Restart: open the same databases again; Open reconciles.
	prefix := strings.TrimSuffix(store.DatabaseName("CO"), "co")
	again, err := recmongo.Open(ctx, recmongo.Config{URI: mongotest.URI(), SQLiteDir: mongotest.Dir(), DBPrefix: prefix, Countries: []records.Country{"CO", "EC"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n.checkProjection(t, a, b)
	if got := n.alerts("").Total; got != 2 {
		t.Errorf("after restart: %d alerts, want 2", got)
	}
	// Nothing left to repair.
	if k, err := store.ReconcileNutrition(ctx, "CO"); err != nil || k != 0 {
		t.Errorf("ReconcileNutrition after repair: %d, %v", k, err)
	}
}
