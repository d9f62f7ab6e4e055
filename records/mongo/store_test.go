package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// patient returns a Patient resource shaped as the fhir package makes it.
func patient(id string, version int64, idents ...string) records.Resource {
	return records.Resource{Type: "Patient", ID: id, Version: version, Updated: t0.Add(time.Duration(version) * time.Minute),
		Body: fmt.Appendf(nil, `{"resourceType":"Patient","id":%q}`, id),
		Keys: records.Keys{"identifier": idents, "gender": {"female"}, "birthdate": {"2024-01-15"}, "family": {"perez"}}}
}

func observation(person, code, date string) records.Resource {
	id := records.NewResourceID(person)
	return records.Resource{Type: "Observation", ID: id, Version: 1, Updated: t0,
		Body: fmt.Appendf(nil, `{"resourceType":"Observation","id":%q}`, id),
		Keys: records.Keys{"subject": {"Patient/" + person}, "code": {"http://loinc.org|" + code}, "date": {date}}}
}

func newPerson(id string, rs ...records.Resource) *records.Person {
	return &records.Person{ID: id, Country: "CO", Version: 1, Created: t0, Updated: t0,
		Resources: append([]records.Resource{patient(id, 1, "urn:co|"+id)}, rs...)}
}

func TestPersonRoundTrip(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t)
	ctx := t.Context()
	p := newPerson("p1", observation("p1", "29463-7", "2026-01-01"))
	p.Txns = []records.Txn{{Key: "k1", At: t0, Response: []byte(`{"ok":true}`)}}
	if err := s.Insert(ctx, "CO", p); err != nil {
		t.Fatal(err)
	}
	got, err := s.Person(ctx, "CO", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("person (-want +got):\n%s", diff)
	}
	if err := s.Insert(ctx, "CO", p); !errors.Is(err, records.ErrConflict) {
		t.Errorf("second insert: got %v, want ErrConflict", err)
	}
	if _, err := s.Person(ctx, "EC", "p1"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("other country: got %v, want ErrNotFound", err)
	}
}

func TestAppend(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t)
	ctx := t.Context()
	p := newPerson("p1")
	if err := s.Insert(ctx, "CO", p); err != nil {
		t.Fatal(err)
	}
	obs := observation("p1", "8302-2", "2026-02-01")
	c := &records.Commit{PersonID: "p1", Version: 2, At: t0.Add(time.Hour), Resources: []records.Resource{obs}, Nutrition: []byte(`{"v":2}`)}
	if err := s.Append(ctx, "CO", c); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := s.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: 2, At: t0}); !errors.Is(err, records.ErrVersionMismatch) {
		t.Errorf("second writer of version 2: got %v, want ErrVersionMismatch", err)
	}
	if err := s.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: 1, At: t0}); !errors.Is(err, records.ErrConflict) {
		t.Errorf("second creator: got %v, want ErrConflict", err)
	}
	got, err := s.Person(ctx, "CO", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || len(got.Resources) != 2 || string(got.Nutrition) != `{"v":2}` || !got.Updated.Equal(t0.Add(time.Hour)) || !got.Created.Equal(t0) {
		t.Errorf("after append: %+v", got)
	}
}

// TestAppendOnlyNext: a commit is taken only as the version after the
// record's last one. Inside a record stored at once at version 3 (Insert,
// or a migrated format-1 record) or past its end, a commit would never be
// read: it is refused, by the store that wrote the record (its cache) and
// by another one (the log).
func TestAppendOnlyNext(t *testing.T) {
	t.Parallel()
	a := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	p := newPerson("p1")
	p.Version = 3
	if err := a.Insert(ctx, "CO", p); err != nil {
		t.Fatal(err)
	}
	b := secondStore(t, a, recmongo.Config{PostgreSQLURL: mongotest.PostgreSQLURL(), MongoDBPaths: mongotest.MongoDBPaths()})
	for _, st := range []*recmongo.Store{a, b} {
		for _, v := range []int64{2, 3, 5} {
			obs := observation("p1", "8302-2", "2026-02-01")
			if err := st.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: v, At: t0, Resources: []records.Resource{obs}}); !errors.Is(err, records.ErrVersionMismatch) {
				t.Errorf("version %d: got %v, want ErrVersionMismatch", v, err)
			}
		}
	}
	obs := observation("p1", "8302-2", "2026-02-01")
	if err := b.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: 4, At: t0.Add(time.Hour), Resources: []records.Resource{obs}}); err != nil {
		t.Fatalf("version 4: %v", err)
	}
	if got, err := a.Person(ctx, "CO", "p1"); err != nil || got.Version != 4 || len(got.Resources) != 2 {
		t.Fatalf("after version 4: %+v %v", got, err)
	}
}

// secondStore opens another store on a's CO database with cfg's other
// settings, as a second replica on the same server; it is closed at
// cleanup.
func secondStore(t *testing.T, a *recmongo.Store, cfg recmongo.Config) *recmongo.Store {
	t.Helper()
	cfg.URI, cfg.SQLiteDir, cfg.Countries = mongotest.URI(), mongotest.Dir(), []records.Country{"CO"}
	cfg.DBPrefix = strings.TrimSuffix(a.DatabaseName("CO"), "co")
	b, err := recmongo.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

// Two stores on one database (as two replicas on one server) appending to
// one record at once: every acknowledged commit is in the record, once,
// and the versions are 1..n without a gap, read from either store.
func TestAppendTwoStores(t *testing.T) {
	t.Parallel()
	a := mongotest.NewStore(t, "CO")
	b := secondStore(t, a, recmongo.Config{})
	ctx := t.Context()
	if err := a.Insert(ctx, "CO", newPerson("p1")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 8 {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				id := fmt.Sprintf("p1.w%di%d", w, i)
				for try := 0; try < 200; try++ {
					cur, err := st.Person(ctx, "CO", "p1")
					if err != nil {
						t.Error(err)
						return
					}
					r := records.Resource{Type: "Encounter", ID: id, Version: 1, Updated: t0, Body: []byte(`{}`)}
					err = st.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: cur.Version + 1, At: t0, Resources: []records.Resource{r}})
					if errors.Is(err, records.ErrVersionMismatch) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					acked[id] = true
					mu.Unlock()
					break
				}
			}
		}()
	}
	wg.Wait()
	for _, st := range []*recmongo.Store{a, b} {
		got, err := st.Person(ctx, "CO", "p1")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, r := range got.Resources {
			seen[r.ID]++
		}
		for id := range acked {
			if seen[id] != 1 {
				t.Errorf("acknowledged %s is in the record %d times", id, seen[id])
			}
		}
		if int(got.Version) != 1+len(acked) || len(got.Resources) != 1+len(acked) {
			t.Errorf("version %d with %d resources after %d acknowledged appends", got.Version, len(got.Resources), len(acked))
		}
	}
}

func TestClaims(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t)
	ctx := t.Context()
	for _, tt := range []struct {
		op, key, owner, want string
	}{
		{"claim", "urn:co|1", "a", "a"},
		{"claim", "urn:co|1", "b", "a"},
		{"owner", "urn:co|1", "", "a"},
		{"release", "urn:co|1", "b", ""}, // not b's: stays a's
		{"owner", "urn:co|1", "", "a"},
		{"release", "urn:co|1", "a", ""},
		{"owner", "urn:co|1", "", "<not found>"},
		{"claim", "urn:co|1", "b", "b"},
		{"claim", `{"$gt": ""}`, "c", "c"},
		{"owner", `{"$gt": ""}`, "", "c"},
		{"owner", "urn:co|2", "", "<not found>"},
	} {
		var got string
		var err error
		switch tt.op {
		case "claim":
			got, err = s.Claim(ctx, "CO", "identifier", tt.key, tt.owner)
		case "owner":
			got, err = s.Owner(ctx, "CO", "identifier", tt.key)
		case "release":
			err = s.Release(ctx, "CO", "identifier", tt.key, tt.owner)
		}
		if errors.Is(err, records.ErrNotFound) {
			got, err = "<not found>", nil
		}
		if err != nil || got != tt.want {
			t.Errorf("%s(%q, %q) = %q, %v; want %q", tt.op, tt.key, tt.owner, got, err, tt.want)
		}
	}
}

// TestPostgresIndexes checks that PostgreSQL answers the filters FerretDB
// pushes down (by _id, by search key, by flag key) from the GIN
// indexes Open adds, not by reading the table.
func TestPostgresIndexes(t *testing.T) {
	s := postgresStore(t)
	for _, q := range [][2]string{
		{"persons", "_id"}, {"persons", "idx"}, {"persons", "types"}, {"commits", "_id"},
		{"claims", "_id"}, {"intents", "_id"}, {"nutrition", "fidx"}, {"audit", "_id"},
		{"audit", "person"}, {"audit", "persons"},
	} {
		plan, err := recmongo.ExplainPostgreSQL(t.Context(), mongotest.PostgreSQLURL(), s.DatabaseName("CO"), q[0], q[1], "x")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s by %s:\n%s", q[0], q[1], plan)
		if !strings.Contains(plan, "_contigo_"+q[1]) {
			t.Errorf("%s by %s: plan does not use the GIN index:\n%s", q[0], q[1], plan)
		}
	}
}

func TestSQLiteIndexUsed(t *testing.T) {
	t.Parallel()
	if mongotest.Engine() != "embedded" || mongotest.MongoDBPaths() {
		t.Skip("SQLite query plans: embedded engine only, on its own code path")
	}
	s := mongotest.NewStore(t)
	for _, coll := range []string{"persons", "claims", "audit"} {
		plan, err := recmongo.ExplainIDQuery(t.Context(), mongotest.Dir(), s.DatabaseName("CO"), coll)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "USING INDEX") || !strings.Contains(plan, "_contigo_id") {
			t.Errorf("%s: plan %q does not use the _id expression index", coll, plan)
		}
	}
}
