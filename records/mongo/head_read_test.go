package mongo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// A Patient read from its head is the one the whole record holds, and the
// head is never believed once a commit after it exists: here a head set
// back to an older version (as a failed projection or an older writer's
// last-writer-wins rewrite leaves it) makes the read fall back to the log.
func TestCurrentPatient(t *testing.T) {
	t.Parallel()
	w := mongotest.NewStore(t, "CO")
	// A replica without a record cache: every read goes to the database
	// (on FerretDB-PostgreSQL, the head straight from PostgreSQL).
	s := secondStore(t, w, recmongo.Config{CacheBytes: -1, PostgreSQLURL: mongotest.PostgreSQLURL()})
	svc := records.NewService(s, records.ServiceOptions{})
	ctx := t.Context()
	if _, ok, err := s.CurrentPatient(ctx, "CO", "nobody"); ok || err != nil {
		t.Fatalf("no record: ok %v, err %v", ok, err)
	}
	if err := w.Insert(ctx, "CO", newPerson("p1")); err != nil {
		t.Fatal(err)
	}
	heads := w.Client().Database(w.DatabaseName("CO")).Collection("persons")
	var v1 bson.Raw
	if err := heads.FindOne(ctx, bson.D{{Key: "_id", Value: "p1"}}).Decode(&v1); err != nil {
		t.Fatal(err)
	}
	check := func(step string, wantHead bool) {
		t.Helper()
		p, err := s.Person(ctx, "CO", "p1")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := p.Current("Patient", "p1")
		got, ok, err := s.CurrentPatient(ctx, "CO", "p1")
		if err != nil || ok != wantHead {
			t.Fatalf("%s: from the head %v (err %v), want %v", step, ok, err, wantHead)
		}
		if ok {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: head Patient (-record +head):\n%s", step, diff)
			}
		}
		read, err := svc.Read(ctx, "CO", "Patient", "p1")
		if want.Deleted {
			if err == nil {
				t.Errorf("%s: read of a deleted Patient: %+v", step, read)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: read: %v", step, err)
		}
		if diff := cmp.Diff(want, read); diff != "" {
			t.Errorf("%s: read (-record +service):\n%s", step, diff)
		}
	}
	check("created", true)
	p2 := patient("p1", 2, "urn:co|p1", "urn:co|p1-new")
	p2.Updated = t0.Add(time.Hour)
	if err := w.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: 2, At: t0.Add(time.Hour), Resources: []records.Resource{p2}}); err != nil {
		t.Fatal(err)
	}
	check("updated", true)
	// The head set back to version 1 while version 2 is committed.
	if _, err := heads.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "p1"}}, v1, options.Replace()); err != nil {
		t.Fatal(err)
	}
	check("head behind the log", false)
	if got, _ := svc.Read(ctx, "CO", "Patient", "p1"); got.Version != 2 {
		t.Errorf("read with the head behind: version %d, want 2", got.Version)
	}
	gone := records.Resource{Type: "Patient", ID: "p1", Version: 3, Updated: t0.Add(2 * time.Hour), Deleted: true}
	if err := w.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: 3, At: t0.Add(2 * time.Hour), Resources: []records.Resource{gone}}); err != nil {
		t.Fatal(err)
	}
	check("deleted", true)
	if mongotest.Engine() == mongotest.EnginePostgres {
		// One statement, each lookup by an index on _id (the head by ours,
		// the commit by FerretDB's unique one). Planned with sequential
		// scans off: on a few rows reading them is cheaper. What the
		// planner chooses at scale is what BenchmarkScale measures (a
		// containment there read every commit: 528 ms per read).
		plan, err := recmongo.ExplainHeadPatient(ctx, s, "CO", "p1", true)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("head and next commit:\n%s", plan)
		if !strings.Contains(plan, "_contigo__id") || !strings.Contains(plan, "Index Scan using commits_") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("the head and the next commit are not read by their _id indexes:\n%s", plan)
		}
	}
}
