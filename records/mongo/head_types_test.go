package mongo_test

import (
	"fmt"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// consent returns a Consent resource of person.
func consent(person string) records.Resource {
	id := records.NewResourceID(person)
	return records.Resource{Type: "Consent", ID: id, Version: 1, Updated: t0,
		Body: fmt.Appendf(nil, `{"resourceType":"Consent","id":%q}`, id),
		Keys: records.Keys{"patient": {"Patient/" + person}}}
}

// TestMayHold: a record holding only its Patient may not hold a Consent,
// one that gains a Consent may, an unknown person holds nothing; the same
// from the head (shared store) and from the embedded engine's Patient
// index once a search has loaded it (exclusive store).
func TestMayHold(t *testing.T) {
	t.Parallel()
	stores := map[string]*recmongo.Store{"shared": mongotest.NewStore(t)}
	if mongotest.Engine() != mongotest.EnginePostgres {
		stores["exclusive"] = mongotest.NewEmbedded(t, "CO")
	}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			if err := s.Insert(ctx, "CO", newPerson("p1")); err != nil {
				t.Fatal(err)
			}
			if err := s.Insert(ctx, "CO", newPerson("p2")); err != nil {
				t.Fatal(err)
			}
			// A Patient search loads the embedded engine's index.
			if _, err := s.Search(ctx, "CO", records.Query{Type: "Patient", Count: 10, Conds: []records.Cond{{Key: "family", Op: records.OpEq, Values: []string{"perez"}}}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(ctx, "CO", &records.Commit{PersonID: "p2", Version: 2, At: t0, Resources: []records.Resource{consent("p2")}}); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				id   string
				want bool
			}{{"p1", false}, {"p2", true}, {"nobody", false}} {
				got, err := s.MayHold(ctx, "CO", tc.id, "Consent")
				if err != nil || got != tc.want {
					t.Errorf("MayHold(%s, Consent) = %v, %v; want %v", tc.id, got, err, tc.want)
				}
			}
		})
	}
}
