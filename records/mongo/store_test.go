package mongo_test

import (
	"errors"
	"fmt"
	"strings"
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

func TestReplace(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t)
	ctx := t.Context()
	p := newPerson("p1")
	if err := s.Insert(ctx, "CO", p); err != nil {
		t.Fatal(err)
	}
	p2 := newPerson("p1", observation("p1", "8302-2", "2026-02-01"))
	p2.Version = 2
	if err := s.Replace(ctx, "CO", p2, 1); err != nil {
		t.Fatalf("replace: %v", err)
	}
	p3 := newPerson("p1")
	p3.Version = 3
	if err := s.Replace(ctx, "CO", p3, 1); !errors.Is(err, records.ErrVersionMismatch) {
		t.Errorf("stale replace: got %v, want ErrVersionMismatch", err)
	}
	got, err := s.Person(ctx, "CO", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || len(got.Resources) != 2 {
		t.Errorf("after stale replace: version %d with %d resources, want 2 and 2", got.Version, len(got.Resources))
	}
	ghost := newPerson("nobody")
	if err := s.Replace(ctx, "CO", ghost, 1); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("replace missing: got %v, want ErrNotFound", err)
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

func TestSQLiteIndexUsed(t *testing.T) {
	t.Parallel()
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
