package mongo_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// openOn opens another store on a's CO database, as a restart of a
// replica with the test engine's settings would; it is closed at cleanup.
func openOn(t *testing.T, a *recmongo.Store) (*recmongo.Store, error) {
	t.Helper()
	cfg := recmongo.Config{URI: mongotest.URI(), SQLiteDir: mongotest.Dir(), PostgreSQLURL: mongotest.PostgreSQLURL(),
		MongoDBPaths: mongotest.MongoDBPaths(), Countries: []records.Country{"CO"},
		DBPrefix: strings.TrimSuffix(a.DatabaseName("CO"), "co")}
	b, err := recmongo.Open(t.Context(), cfg)
	if err == nil {
		t.Cleanup(func() { b.Close(context.Background()) })
	}
	return b, err
}

// formatMark returns the stored format mark of a's CO database.
func formatMark(t *testing.T, a *recmongo.Store) string {
	t.Helper()
	var d struct {
		Owner string `bson:"owner"`
	}
	err := a.Client().Database(a.DatabaseName("CO")).Collection("claims").
		FindOne(t.Context(), bson.D{{Key: "_id", Value: "meta:format"}}).Decode(&d)
	if err != nil {
		t.Fatalf("format mark: %v", err)
	}
	return d.Owner
}

// setFormatMark sets the stored format mark of a's CO database to mark.
func setFormatMark(t *testing.T, a *recmongo.Store, mark string) {
	t.Helper()
	_, err := a.Client().Database(a.DatabaseName("CO")).Collection("claims").
		UpdateOne(t.Context(), bson.D{{Key: "_id", Value: "meta:format"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "owner", Value: mark}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFormatNewerRefused: a database whose stored format is newer than the
// binary stops the start with a message that says what to do, and is left
// as it was.
func TestFormatNewerRefused(t *testing.T) {
	t.Parallel()
	a := mongotest.NewStore(t, "CO")
	if got := formatMark(t, a); got != strconv.Itoa(recmongo.Format) {
		t.Fatalf("a new database is marked %q, want %d", got, recmongo.Format)
	}
	newer := strconv.Itoa(recmongo.Format + 1)
	setFormatMark(t, a, newer)
	_, err := openOn(t, a)
	if err == nil || !strings.Contains(err.Error(), "newer than this contigo reads") || !strings.Contains(err.Error(), "run a newer contigo") {
		t.Fatalf("open on format %s: %v, want a refusal that says to run a newer contigo", newer, err)
	}
	if got := formatMark(t, a); got != newer {
		t.Errorf("after the refusal the mark is %q, want %q", got, newer)
	}
}

// TestFormatRaised: a database of an older format whose data this code
// reads as it is (formats 2 to 5) gets the current mark at start, and the
// derived documents of the formats between are built.
func TestFormatRaised(t *testing.T) {
	t.Parallel()
	for _, old := range []string{"2", "3", "4", "5"} {
		t.Run("from "+old, func(t *testing.T) {
			t.Parallel()
			a := mongotest.NewStore(t, "CO")
			if err := a.Insert(t.Context(), "CO", alerted("fr"+old, 2)); err != nil {
				t.Fatal(err)
			}
			setFormatMark(t, a, old)
			b, err := openOn(t, a)
			if err != nil {
				t.Fatal(err)
			}
			if got := formatMark(t, a); got != strconv.Itoa(recmongo.Format) {
				t.Errorf("mark %q after the start, want %d", got, recmongo.Format)
			}
			p, err := b.Person(t.Context(), "CO", "fr"+old)
			if err != nil || p.Version != 1 {
				t.Fatalf("record after the start: %v %v", p, err)
			}
		})
	}
}

// TestFormat1Migrated: a format-1 record (one person document holding
// every version, written by the first releases) becomes a commit log at
// start: every version is kept, the current one is read and searched,
// and the record takes new writes.
func TestFormat1Migrated(t *testing.T) {
	t.Parallel()
	a := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	db := a.Client().Database(a.DatabaseName("CO"))
	// The persistence contract of format 1: resources as resourceDoc JSON.
	v1 := bson.D{
		{Key: "_id", Value: "old1"}, {Key: "version", Value: int64(2)},
		{Key: "created", Value: t0}, {Key: "updated", Value: t0.Add(time.Hour)},
		{Key: "resources", Value: bson.A{
			`{"t":"Patient","i":"old1","v":1,"u":"2026-01-02T03:04:05Z","b":"{\"resourceType\":\"Patient\",\"id\":\"old1\"}","k":{"family":["garcia"]}}`,
			`{"t":"Patient","i":"old1","v":2,"u":"2026-01-02T04:04:05Z","b":"{\"resourceType\":\"Patient\",\"id\":\"old1\",\"gender\":\"female\"}","k":{"family":["garcia"],"gender":["female"]}}`,
		}},
	}
	if _, err := db.Collection("persons").InsertOne(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("claims").DeleteOne(ctx, bson.D{{Key: "_id", Value: "meta:format"}}); err != nil {
		t.Fatal(err)
	}
	b, err := openOn(t, a)
	if err != nil {
		t.Fatal(err)
	}
	if got := formatMark(t, a); got != strconv.Itoa(recmongo.Format) {
		t.Errorf("mark %q after the migration, want %d", got, recmongo.Format)
	}
	p, err := b.Person(ctx, "CO", "old1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || len(p.Resources) != 2 || !strings.Contains(string(p.Resources[1].Body), "female") || !p.Created.Equal(t0) {
		t.Fatalf("migrated record: version %d, %d resource versions, created %v", p.Version, len(p.Resources), p.Created)
	}
	page, err := b.Search(ctx, "CO", records.Query{Type: "Patient", Conds: []records.Cond{{Key: "gender", Op: records.OpEq, Values: []string{"female"}}}})
	if err != nil || len(page.Resources) != 1 || page.Resources[0].ID != "old1" {
		t.Fatalf("search after the migration: %v %v", page, err)
	}
	obs := observation("old1", "8302-2", "2026-02-01")
	if err := b.Append(ctx, "CO", &records.Commit{PersonID: "old1", Version: 3, At: t0.Add(2 * time.Hour), Resources: []records.Resource{obs}}); err != nil {
		t.Fatalf("a write after the migration: %v", err)
	}
	if err := b.Append(ctx, "CO", &records.Commit{PersonID: "old1", Version: 2, At: t0}); err == nil {
		t.Error("a commit of a migrated version was taken")
	}
	// A second start finds nothing left to migrate and changes nothing.
	c, err := openOn(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.Person(ctx, "CO", "old1"); err != nil || again.Version != 3 || len(again.Resources) != 3 {
		t.Fatalf("after a second start: %v %v", again, err)
	}
}
