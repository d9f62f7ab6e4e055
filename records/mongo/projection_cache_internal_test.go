package mongo

import (
	"context"
	"testing"
	"time"

	"contigo/records"
)

// TestFlagCacheKeepsRemovals: a projection removed while the flag cache
// loads stays removed. The load's scan may have read the projection
// before its removal (an older version); the removal is recorded by its
// version, so that the load does not bring the Flags back, and a newer
// projection of the person still replaces it.
func TestFlagCacheKeepsRemovals(t *testing.T) {
	ctx := t.Context()
	s := exclusiveStore(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	flag := func(v int64) records.Resource {
		return records.Resource{Type: "Flag", ID: "p1.nf1", Version: v, Updated: at, Body: []byte(`{"resourceType":"Flag"}`),
			Keys: records.Keys{"nutrition-alert": {"1"}, "alert-created": {at.Format(records.TimeFormat)}}}
	}
	p := &records.Person{ID: "p1", Country: "CO", Version: 1, Created: at, Updated: at, Nutrition: []byte(`{"v":1}`),
		Resources: []records.Resource{{Type: "Patient", ID: "p1", Version: 1, Updated: at, Body: []byte(`{"resourceType":"Patient","id":"p1"}`)}, flag(1)}}
	if err := s.Insert(ctx, "CO", p); err != nil {
		t.Fatal(err)
	}
	// The person's nutrition state goes: the projection is removed.
	if err := s.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: 2, At: at.Add(time.Hour), Nutrition: []byte{}}); err != nil {
		t.Fatal(err)
	}
	cached := func() (cachedFlags, int) {
		s.proj.mu.Lock()
		defer s.proj.mu.Unlock()
		c := s.proj.cache["CO"]
		return c.persons["p1"], c.alertIndex().Len()
	}
	if got, n := cached(); got.version != 2 || len(got.flags) != 0 || n != 0 {
		t.Fatalf("after the removal: %+v, %d alerts, want version 2 without Flags and no alert", got, n)
	}
	// What a load that read the projection before its removal puts.
	s.proj.mu.Lock()
	s.proj.cache["CO"].keepNewest("p1", 1, []records.Resource{flag(1)})
	s.proj.mu.Unlock()
	if got, n := cached(); got.version != 2 || len(got.flags) != 0 || n != 0 {
		t.Errorf("after a stale load: %+v, %d alerts, want version 2 without Flags and no alert", got, n)
	}
	s.cacheFlags("CO", "p1", 3, []records.Resource{flag(3)})
	if got, n := cached(); got.version != 3 || len(got.flags) != 1 || n != 1 {
		t.Errorf("a newer projection: %+v, %d alerts, want version 3 with its Flag", got, n)
	}
}

// exclusiveStore opens an embedded store of CO alone on a fresh data
// directory and waits for its warm-up (for the internal tests).
func exclusiveStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DataDir: t.TempDir(), Countries: []records.Country{"CO"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	<-s.Warmed()
	return s
}
