package records_test

import (
	"errors"
	"testing"

	"contigo/records"

	"github.com/google/go-cmp/cmp"
)

func TestServiceSearchAndEverything(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := t.Context()
	a := newPerson(t, s, "urn:co:rc|1")
	b := newPerson(t, s, "urn:co:rc|2")
	var aObs []string
	for _, date := range []string{"2026-02-03", "2026-02-01", "2026-02-02"} {
		o := observation(a, "29463-7", date)
		aObs = append(aObs, o.ID)
		if _, err := s.Write(ctx, cc, records.Write{PersonID: a, Changes: []records.Change{create(o)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Write(ctx, cc, records.Write{PersonID: b, Changes: []records.Change{create(observation(b, "8302-2", "2026-02-05"))}}); err != nil {
		t.Fatal(err)
	}

	everything, err := s.Everything(ctx, cc, a)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range everything {
		got = append(got, r.ID)
	}
	if diff := cmp.Diff([]string{a, aObs[1], aObs[2], aObs[0]}, got); diff != "" {
		t.Errorf("everything order (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name string
		q    records.Query
		want int
	}{
		{"observations of a (by record)", records.Query{Type: "Observation", Conds: []records.Cond{{Key: "subject", Values: []string{"Patient/" + a}}}}, 3},
		{"observations of a or b", records.Query{Type: "Observation", Conds: []records.Cond{{Key: "subject", Values: []string{"Patient/" + a, "Patient/" + b}}}}, 4},
		{"observations of a since", records.Query{Type: "Observation", Conds: []records.Cond{
			{Key: "subject", Values: []string{"Patient/" + a}}, {Key: "date", Op: records.OpGe, Values: []string{"2026-02-02"}}}}, 2},
		{"observations of nobody", records.Query{Type: "Observation", Conds: []records.Cond{{Key: "subject", Values: []string{"Patient/nobody"}}}}, 0},
		{"observations by code (store)", records.Query{Type: "Observation", Conds: []records.Cond{{Key: "code", Values: []string{"http://loinc.org|29463-7"}}}}, 3},
		{"patients by identifier", records.Query{Type: "Patient", Conds: []records.Cond{{Key: "identifier", Values: []string{"urn:co:rc|2"}}}}, 1},
		{"patients", records.Query{Type: "Patient"}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.Search(ctx, cc, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Resources) != tt.want {
				t.Errorf("search: got %d resources, want %d", len(page.Resources), tt.want)
			}
			n, err := s.Count(ctx, cc, tt.q)
			if err != nil || n != int64(tt.want) {
				t.Errorf("count: got %d, %v; want %d", n, err, tt.want)
			}
		})
	}

	// Paging through one record in date order.
	q := records.Query{Type: "Observation", Count: 2, Sort: []records.SortKey{{Key: "date"}},
		Conds: []records.Cond{{Key: "subject", Values: []string{"Patient/" + a}}}}
	page, err := s.Search(ctx, cc, q)
	if err != nil || len(page.Resources) != 2 || page.Next == "" || page.Resources[0].ID != aObs[1] {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	q.After = page.Next
	page, err = s.Search(ctx, cc, q)
	if err != nil || len(page.Resources) != 1 || page.Next != "" || page.Resources[0].ID != aObs[0] {
		t.Errorf("last page: %+v, %v", page, err)
	}

	if _, err := s.Write(ctx, cc, records.Write{PersonID: a, Changes: []records.Change{{Method: "delete", Resource: records.Resource{Type: "Patient", ID: a}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Everything(ctx, cc, a); !errors.Is(err, records.ErrGone) {
		t.Errorf("everything of deleted patient: got %v, want ErrGone", err)
	}
	if _, err := s.FindByIdentifier(ctx, cc, "urn:co:rc|1"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("identifier of deleted patient: got %v, want ErrNotFound", err)
	}
	if _, err := s.Everything(ctx, cc, "nobody"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("everything of nobody: got %v, want ErrNotFound", err)
	}
}
