package records_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"contigo/records"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

const cc = records.Country("CO")

// newService returns a Service on a fresh store with a clock that ticks
// one millisecond per call.
func newService(t *testing.T) *records.Service {
	t.Helper()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	return records.NewService(mongotest.NewStore(t), records.ServiceOptions{Now: clock})
}

// patient returns a Patient as the fhir package shapes it.
func patient(id string, idents ...string) records.Resource {
	return records.Resource{Type: "Patient", ID: id,
		Body: fmt.Appendf(nil, `{"resourceType":"Patient","id":%q}`, id),
		Keys: records.Keys{"identifier": idents, "gender": {"female"}, "birthdate": {"2024-01-15"}, "family": {"perez"}, "name": {"ana perez"}}}
}

func observation(person, code, date string) records.Resource {
	id := records.NewResourceID(person)
	return records.Resource{Type: "Observation", ID: id,
		Body: fmt.Appendf(nil, `{"resourceType":"Observation","id":%q}`, id),
		Keys: records.Keys{"subject": {"Patient/" + person}, "code": {"http://loinc.org|" + code}, "date": {date}}}
}

func create(r records.Resource) records.Change { return records.Change{Method: "create", Resource: r} }

// newPerson writes a new record for a Patient with idents; it returns the id.
func newPerson(t *testing.T, s *records.Service, idents ...string) string {
	t.Helper()
	id := records.NewID()
	_, err := s.Write(t.Context(), cc, records.Write{PersonID: id, NewPerson: true, Changes: []records.Change{create(patient(id, idents...))}})
	if err != nil {
		t.Fatalf("create person: %v", err)
	}
	return id
}

func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := t.Context()
	id := newPerson(t, s, "urn:co:rc|1")
	obs := observation(id, "29463-7", "2026-02-01")

	res, err := s.Write(ctx, cc, records.Write{PersonID: id, Changes: []records.Change{create(obs)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Applied[0]; got.Version != 1 || got.Updated.IsZero() || got.Updated.Location() != time.UTC {
		t.Errorf("created: version %d updated %v, want version 1 at a UTC time", got.Version, got.Updated)
	}
	got, err := s.Read(ctx, cc, "Observation", obs.ID)
	if err != nil || got.Version != 1 || string(got.Body) != string(obs.Body) {
		t.Fatalf("read: %+v, %v", got, err)
	}

	upd := obs
	upd.Body = []byte(`{"resourceType":"Observation","status":"amended"}`)
	if _, err := s.Write(ctx, cc, records.Write{PersonID: id, Changes: []records.Change{{Method: "update", Resource: upd, IfMatch: 1}}}); err != nil {
		t.Fatalf("update with current If-Match: %v", err)
	}
	before, _ := s.Person(ctx, cc, id)
	_, err = s.Write(ctx, cc, records.Write{PersonID: id, Changes: []records.Change{{Method: "update", Resource: upd, IfMatch: 1}}})
	if !errors.Is(err, records.ErrVersionMismatch) {
		t.Errorf("update with stale If-Match: got %v, want ErrVersionMismatch", err)
	}
	after, _ := s.Person(ctx, cc, id)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("stale update changed the record (-before +after):\n%s", diff)
	}

	v1, err := s.VRead(ctx, cc, "Observation", obs.ID, 1)
	if err != nil || string(v1.Body) != string(obs.Body) {
		t.Errorf("vread 1: %s, %v", v1.Body, err)
	}
	if _, err := s.VRead(ctx, cc, "Observation", obs.ID, 9); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("vread 9: got %v, want ErrNotFound", err)
	}

	if _, err := s.Write(ctx, cc, records.Write{PersonID: id, Changes: []records.Change{{Method: "delete", Resource: records.Resource{Type: "Observation", ID: obs.ID}}}}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Read(ctx, cc, "Observation", obs.ID); !errors.Is(err, records.ErrGone) {
		t.Errorf("read deleted: got %v, want ErrGone", err)
	}
	hist, err := s.History(ctx, cc, "Observation", obs.ID)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for _, r := range hist {
		versions = append(versions, r.Version)
	}
	if diff := cmp.Diff([]int64{3, 2, 1}, versions); diff != "" || !hist[0].Deleted {
		t.Errorf("history versions (-want +got):\n%s (newest deleted: %v)", diff, hist[0].Deleted)
	}

	for _, tt := range []struct {
		name   string
		change records.Change
		want   error
	}{
		{"update missing", records.Change{Method: "update", Resource: observation(id, "x", "2026")}, records.ErrNotFound},
		{"delete missing", records.Change{Method: "delete", Resource: observation(id, "x", "2026")}, records.ErrNotFound},
		{"create existing", create(patient(id)), records.ErrConflict},
		{"unknown method", records.Change{Method: "patch", Resource: upd}, records.ErrInvalid},
	} {
		_, err := s.Write(ctx, cc, records.Write{PersonID: id, Changes: []records.Change{tt.change}})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := s.Write(ctx, cc, records.Write{PersonID: "nobody", Changes: []records.Change{create(observation("nobody", "x", "2026"))}}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("write to missing record: got %v, want ErrNotFound", err)
	}
	if _, err := s.Read(ctx, cc, "Observation", "nobody.x"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("read missing: got %v, want ErrNotFound", err)
	}
}

func TestServiceIdentifierUnique(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := t.Context()
	a := newPerson(t, s, "urn:co:rc|1", "urn:co:pass|9")

	b := records.NewID()
	_, err := s.Write(ctx, cc, records.Write{PersonID: b, NewPerson: true, Changes: []records.Change{create(patient(b, "urn:co:rc|1"))}})
	var fe *records.FieldError
	if !errors.Is(err, records.ErrConflict) || !errors.As(err, &fe) || fe.Field != "Patient.identifier" {
		t.Fatalf("second person with the same identifier: got %v, want a Patient.identifier conflict", err)
	}
	if _, err := s.Person(ctx, cc, b); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("conflicting person was stored: %v", err)
	}

	// a gives up rc|1: b can take it; a keeps pass|9.
	if _, err := s.Write(ctx, cc, records.Write{PersonID: a, Changes: []records.Change{{Method: "update", Resource: patient(a, "urn:co:pass|9")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(ctx, cc, records.Write{PersonID: b, NewPerson: true, Changes: []records.Change{create(patient(b, "urn:co:rc|1"))}}); err != nil {
		t.Fatalf("identifier released by a: %v", err)
	}
	for ident, want := range map[string]string{"urn:co:rc|1": b, "urn:co:pass|9": a} {
		p, err := s.FindByIdentifier(ctx, cc, ident)
		if err != nil || p.ID != want {
			t.Errorf("FindByIdentifier(%q): got %v, %v; want %s", ident, p, err, want)
		}
	}
	if _, err := s.FindByIdentifier(ctx, cc, "urn:co:rc|2"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("FindByIdentifier(unknown): got %v, want ErrNotFound", err)
	}
}

func TestServiceTxnReplay(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := t.Context()
	id := records.NewID()
	calls := 0
	w := records.Write{PersonID: id, NewPerson: true, TxnKey: "bundle-1",
		Changes: []records.Change{create(patient(id, "urn:co:rc|7")), create(observation(id, "29463-7", "2026-02-01"))},
		Respond: func(applied []records.Resource) ([]byte, error) {
			calls++
			return fmt.Appendf(nil, "%d resources", len(applied)), nil
		}}
	first, err := s.Write(ctx, cc, w)
	if err != nil || first.Replayed || string(first.Response) != "2 resources" {
		t.Fatalf("first write: %+v, %v", first, err)
	}
	w.Changes[1] = create(observation(id, "29463-7", "2026-02-01")) // a retried upload gets new ids
	second, err := s.Write(ctx, cc, w)
	if err != nil || !second.Replayed || string(second.Response) != "2 resources" {
		t.Fatalf("replay: %+v, %v", second, err)
	}
	// The client retries the whole upload, which the API gives a new id.
	other := records.NewID()
	w.PersonID, w.Changes = other, []records.Change{create(patient(other, "urn:co:rc|7")), create(observation(other, "29463-7", "2026-02-01"))}
	third, err := s.Write(ctx, cc, w)
	if err != nil || !third.Replayed || third.Person.ID != id || string(third.Response) != "2 resources" {
		t.Fatalf("replay under a new id: %+v, %v", third, err)
	}
	if _, err := s.Person(ctx, cc, other); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("retry created a second record: %v", err)
	}
	p, err := s.Person(ctx, cc, id)
	if err != nil || p.Version != 1 || len(p.Resources) != 2 || calls != 1 {
		t.Errorf("after replay: version %d, %d resources, Respond called %d times; want 1, 2, 1 (%v)", p.Version, len(p.Resources), calls, err)
	}
}

// TestServiceConcurrentWriters: 50 writers add to one record at once, half
// through a second Service on the same store (another replica), so both the
// in-process queue and the optimistic retry are exercised; nothing is lost.
func TestServiceConcurrentWriters(t *testing.T) {
	t.Parallel()
	store := mongotest.NewStore(t)
	s1 := records.NewService(store, records.ServiceOptions{MaxRetries: 200})
	s2 := records.NewService(store, records.ServiceOptions{MaxRetries: 200})
	ctx := t.Context()
	id := newPerson(t, s1)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			enc := records.Resource{Type: "Encounter", ID: records.NewResourceID(id), Body: []byte(`{"resourceType":"Encounter"}`),
				Keys: records.Keys{"subject": {"Patient/" + id}, "date": {fmt.Sprintf("2026-01-%02d", i%28+1)}}}
			_, err := s.Write(ctx, cc, records.Write{PersonID: id, Changes: []records.Change{create(enc)}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	p, err := s1.Person(ctx, cc, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Latest()); got != n+1 || p.Version != n+1 {
		t.Errorf("got %d resources at version %d, want %d at %d", got, p.Version, n+1, n+1)
	}
}

// TestServiceIfMatchRace: writers with the same If-Match race; one wins.
func TestServiceIfMatchRace(t *testing.T) {
	t.Parallel()
	store := mongotest.NewStore(t)
	services := []*records.Service{records.NewService(store, records.ServiceOptions{}), records.NewService(store, records.ServiceOptions{})}
	ctx := t.Context()
	id := newPerson(t, services[0])
	const n = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range n {
		wg.Go(func() {
			pt := patient(id, fmt.Sprintf("urn:co:rc|%d", i))
			_, err := services[i%2].Write(ctx, cc, records.Write{PersonID: id, Changes: []records.Change{{Method: "update", Resource: pt, IfMatch: 1}}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, records.ErrVersionMismatch):
				lost++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Errorf("won %d, lost %d; want 1 and %d", won, lost, n-1)
	}
	p, _ := services[0].Person(ctx, cc, id)
	if pt, _ := p.Patient(); pt.Version != 2 {
		t.Errorf("Patient version %d, want 2", pt.Version)
	}
}
