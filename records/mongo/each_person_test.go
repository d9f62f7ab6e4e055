package mongo_test

import (
	"fmt"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// TestEachPersonLeavesCacheAlone: a pass over every record (what $export
// does) reads the records it did not have without caching them, so memory
// does not grow with the country; a record already cached is still read up
// to date (a commit written by another replica after it was cached).
func TestEachPersonLeavesCacheAlone(t *testing.T) {
	t.Parallel()
	a := mongotest.NewStore(t, "CO")
	b := secondStore(t, a, recmongo.Config{})
	ctx := t.Context()
	const n = 20
	for i := range n {
		if err := a.Insert(ctx, "CO", newPerson(fmt.Sprintf("p%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Person(ctx, "CO", "p00"); err != nil { // cached in b
		t.Fatal(err)
	}
	if got := recmongo.CachedRecords(b); got != 1 {
		t.Fatalf("cached after one read: %d records, want 1", got)
	}
	c := &records.Commit{PersonID: "p00", Version: 2, At: t0.Add(time.Hour), Resources: []records.Resource{observation("p00", "8302-2", "2026-02-01")}}
	if err := a.Append(ctx, "CO", c); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int64{}
	if err := b.EachPerson(ctx, "CO", time.Time{}, func(p *records.Person) error {
		seen[p.ID] = p.Version
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n || seen["p00"] != 2 || seen["p01"] != 1 {
		t.Errorf("EachPerson saw %d records, p00 at version %d, p01 at %d; want %d, 2, 1", len(seen), seen["p00"], seen["p01"], n)
	}
	if got := recmongo.CachedRecords(b); got != 1 {
		t.Errorf("cached after EachPerson: %d records, want 1 (only the one read before)", got)
	}
}
