package mongo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestLiteScanEqualsFerretDB: on the embedded engine the loaders of the
// in-process indexes read the SQLite file directly (lite.go). They must
// read exactly what FerretDB decodes from the same documents: Flags,
// heads with and without a Patient, audit entries with times to the
// millisecond and lists of persons, digests and their tombstones,
// including strings with quotes, backslashes and non-ASCII text.
func TestLiteScanEqualsFerretDB(t *testing.T) {
	t.Parallel()
	s := mongotest.NewEmbedded(t, "CO")
	ctx := t.Context()
	insertAlerted(t, s, "li", 8, func(i int) int { return i % 3 })
	at := time.Date(2026, 11, 30, 23, 59, 59, 987_000_000, time.UTC)
	entries := []records.AuditEntry{
		{ID: "a1", Time: at, Actor: "hw", Role: "health_worker", Country: "CO", Action: "R", Interaction: "read", PersonID: "li00", Outcome: 200},
		{ID: "a2", Time: at.Add(time.Millisecond), Actor: "hw", Role: "health_worker", Country: "CO", Action: "R", Interaction: "search",
			Persons: []string{"li01", `qu"o\te`, "Peña-Ñandú"}, Outcome: 200},
		{ID: "a3", Time: time.Date(1999, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "x", Role: "admin", Country: "CO", Action: "E", Interaction: "everything",
			PersonID: "li02", Persons: []string{"li02", "li03"}, Outcome: 403},
		{ID: `a"4 ñ`, Time: at, Actor: "hw", Role: "health_worker", Country: "CO", Action: "R", Interaction: "read",
			ResourceType: "Observation", ResourceID: "li00-o1", PersonID: "li00", Outcome: 200, RequestID: "req-1", Purpose: "TREAT"},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, "CO", e); err != nil {
			t.Fatal(err)
		}
	}
	db := s.Client().Database(s.DatabaseName("CO"))
	if _, err := db.Collection("persons").InsertOne(ctx, bson.D{{Key: "_id", Value: "nopatient"}, {Key: "version", Value: int64(4)},
		{Key: "created", Value: at}, {Key: "updated", Value: at}, {Key: "types", Value: bson.A{"Observation"}}, {Key: "idx", Value: bson.A{}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("nutrition_digests").InsertOne(ctx, bson.D{{Key: "_id", Value: "gone"}, {Key: "version", Value: int64(7)},
		{Key: "d", Value: ""}, {Key: "t", Value: int64(5)}, {Key: "g", Value: true}}); err != nil {
		t.Fatal(err)
	}
	<-s.Warmed()
	lite, err := recmongo.LoaderScans(ctx, s, "CO", true)
	if err != nil {
		t.Fatal(err)
	}
	ferret, err := recmongo.LoaderScans(ctx, s, "CO", false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ferret, lite); diff != "" {
		t.Errorf("loader lines (-FerretDB +SQLite):\n%s", diff)
	}
	// What the lines hold: every kind, the odd documents included.
	want := map[string]int{"flags": 8, "head": 9, "audit": 4, "auditdoc": 4, "digest": 9}
	for kind, n := range want {
		got := 0
		for _, l := range lite {
			if strings.HasPrefix(l, `[]interface {}{"`+kind+`"`) {
				got++
			}
		}
		if got != n {
			t.Errorf("%d %s lines, want %d", got, kind, n)
		}
	}
	if t.Failed() {
		t.Logf("lines read:\n%s", fmt.Sprint(lite))
	}
}
