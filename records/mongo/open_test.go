package mongo_test

import (
	"errors"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"github.com/prometheus/client_golang/prometheus"
)

// TestOpenEmbedded: with no URI, Open runs its own engine on the data dir,
// and what was written is there after a restart.
func TestOpenEmbedded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	open := func() *recmongo.Store {
		s, err := recmongo.Open(ctx, recmongo.Config{DataDir: dir, Countries: []records.Country{"CO", "PE"}})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Embedded() || s.DataDir() == "" {
			t.Errorf("Embedded() = %v, DataDir() = %q; want true and the data dir", s.Embedded(), s.DataDir())
		}
		return s
	}
	s := open()
	if err := s.Insert(ctx, "PE", newPerson("p1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close(ctx)
	if _, err := s.Person(ctx, "PE", "p1"); err != nil {
		t.Errorf("after restart: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	plan, err := recmongo.ExplainIDQuery(ctx, s.DataDir(), s.DatabaseName("PE"), "persons")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SQLite plan of FerretDB's _id query: %s", plan)
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	_, err := recmongo.Open(t.Context(), recmongo.Config{URI: "mongodb://127.0.0.1:1/", Countries: []records.Country{"CO"}, Timeout: 300e6})
	if !errors.Is(err, records.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := mongotest.NewStoreConfig(t, recmongo.Config{Registerer: reg})
	if _, err := s.Person(t.Context(), "CO", "nobody"); !errors.Is(err, records.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "contigo_db_operation_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] == "person" && labels["outcome"] == "not_found" && m.GetHistogram().GetSampleCount() == 1 {
				return
			}
		}
	}
	t.Errorf("no contigo_db_operation_duration_seconds{op=person,outcome=not_found} sample in %v", mfs)
}
