package records_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"contigo/records"
	"contigo/records/mongo/mongotest"
)

// The OnWrite hook's changes and Person.Nutrition are committed in the same
// write as the client's; an error stores nothing; a Derive write whose hook
// finds nothing to do writes nothing.
func TestOnWriteHook(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	hook := func(_ context.Context, before, after *records.Person, changes []records.Change, _ time.Time) ([]records.Change, error) {
		calls.Add(1)
		for _, c := range changes {
			if c.Resource.ID == "p1.bad" {
				return nil, &records.FieldError{Field: "Observation.value", Reason: "impossible"}
			}
		}
		n := 0
		for _, r := range after.Latest() {
			if r.Type == "Observation" {
				n++
			}
		}
		if n == 0 {
			return nil, nil
		}
		after.Nutrition = []byte(`{"observations":` + strconv.Itoa(n) + `}`)
		method := "create"
		if f, ok := before.Current("Flag", "p1.nflag"); ok {
			if string(f.Body) == string(after.Nutrition) {
				return nil, nil // derived resources up to date
			}
			method = "update"
		}
		return []records.Change{{Method: method, Resource: records.Resource{Type: "Flag", ID: "p1.nflag", Body: after.Nutrition}}}, nil
	}
	svc := records.NewService(mongotest.NewStore(t), records.ServiceOptions{OnWrite: hook})
	ctx := t.Context()
	obs := func(id string) records.Change {
		return records.Change{Method: "create", Resource: records.Resource{Type: "Observation", ID: id, Body: []byte(`{}`)}}
	}
	if _, err := svc.Write(ctx, cc, records.Write{PersonID: "p1", NewPerson: true, Changes: []records.Change{{Method: "create", Resource: patient("p1")}}}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Write(ctx, cc, records.Write{PersonID: "p1", Changes: []records.Change{obs("p1.o1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 1 || string(res.Person.Nutrition) != `{"observations":1}` {
		t.Fatalf("applied %d, nutrition %s", len(res.Applied), res.Person.Nutrition)
	}
	p, err := svc.Person(ctx, cc, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := p.Current("Flag", "p1.nflag"); !ok || f.Version != 1 || string(p.Nutrition) != `{"observations":1}` || p.Version != 2 {
		t.Fatalf("stored: flag %v, nutrition %s, version %d", ok, p.Nutrition, p.Version)
	}
	if _, err := svc.Write(ctx, cc, records.Write{PersonID: "p1", Changes: []records.Change{obs("p1.bad")}}); !errors.Is(err, records.ErrInvalid) {
		t.Fatalf("hook error: %v", err)
	}
	if _, ok := mustPerson(t, svc, "p1").Current("Observation", "p1.bad"); ok {
		t.Error("a write the hook refused was stored")
	}
	// Derive without changes: the hook derives the same state, nothing is written.
	if _, err := svc.Write(ctx, cc, records.Write{PersonID: "p1", Derive: true}); err != nil {
		t.Fatal(err)
	}
	if v := mustPerson(t, svc, "p1").Version; v != 2 {
		t.Errorf("a derived write with nothing to do wrote: version %d", v)
	}
	if _, err := svc.Write(ctx, cc, records.Write{PersonID: "p1"}); !errors.Is(err, records.ErrInvalid) {
		t.Errorf("a write without changes or Derive: %v", err)
	}
}

func mustPerson(t *testing.T, svc *records.Service, id string) *records.Person {
	t.Helper()
	p, err := svc.Person(t.Context(), cc, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
