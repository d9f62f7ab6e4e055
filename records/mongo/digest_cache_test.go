package mongo_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
	"contigo/records/nutrition"
)

// IndicatorFacts gives the facts of the stored digests after every kind of
// change, whoever made it: on a store alone on its data directory (the
// cache kept by its writes), and on two stores on one database (as two
// replicas: each use lists the stored versions), through the driver and,
// on FerretDB-PostgreSQL, through SQL.
func TestIndicatorFactsCache(t *testing.T) {
	t.Parallel()
	state := func(day int) []byte {
		return fmt.Appendf(nil, `{"assessments":[{"date":"2025-03-%02dT00:00:00Z","subject":"child","age_band":"child_6_59m","admin_area":"A%d","anthro_wasting":"severe_wasting","muac_mm":110}]}`, day, day%3)
	}
	for _, kind := range []string{"exclusive", "replicas"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var writer, reader *recmongo.Store
			if kind == "exclusive" {
				writer = mongotest.NewEmbedded(t, "CO")
				reader = writer
			} else {
				writer = mongotest.NewStoreConfig(t, recmongo.Config{Countries: []records.Country{"CO"}})
				reader = secondStore(t, writer, recmongo.Config{})
			}
			// want is the facts of the stored digests, read whole.
			want := func() []string {
				t.Helper()
				var out []string
				err := writer.EachIndicatorDigest(ctx, "CO", func(_ string, d []byte) error {
					f, err := nutrition.ParseDigest(d)
					if err != nil {
						return err
					}
					b, _ := json.Marshal(f)
					out = append(out, string(b))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(out)
				return out
			}
			check := func(step string, n int) {
				t.Helper()
				w := want()
				if len(w) != n {
					t.Fatalf("%s: %d stored digests, want %d", step, len(w), n)
				}
				for _, s := range []*recmongo.Store{reader, writer} {
					facts, err := s.IndicatorFacts(ctx, "CO")
					if err != nil {
						t.Fatalf("%s: %v", step, err)
					}
					var got []string
					for _, f := range facts {
						b, _ := json.Marshal(f)
						got = append(got, string(b))
					}
					slices.Sort(got)
					if !slices.Equal(got, w) {
						t.Fatalf("%s: facts\n%v\nwant\n%v", step, got, w)
					}
				}
			}
			var ps []*records.Person
			for i := range 30 {
				p := assessed(fmt.Sprintf("fact%02d", i), 1)
				p.Nutrition = state(1 + i%28)
				ps = append(ps, p)
			}
			if err := writer.InsertMany(ctx, "CO", ps); err != nil {
				t.Fatal(err)
			}
			check("inserted", 30)
			if kind == "replicas" {
				// Nothing changed: a use lists versions and reads no digest.
				before := recmongo.DigestsRead(reader, "CO")
				if _, err := reader.IndicatorFacts(ctx, "CO"); err != nil {
					t.Fatal(err)
				}
				if n := recmongo.DigestsRead(reader, "CO") - before; n != 0 {
					t.Errorf("%d digests read with none changed", n)
				}
			}
			// A new version, a new person, a state that is gone.
			if err := writer.Append(ctx, "CO", &records.Commit{PersonID: "fact03", Version: 2, At: t0, Nutrition: state(20)}); err != nil {
				t.Fatal(err)
			}
			p := assessed("fact99", 1)
			p.Nutrition = state(9)
			if err := writer.Insert(ctx, "CO", p); err != nil {
				t.Fatal(err)
			}
			if err := writer.Append(ctx, "CO", &records.Commit{PersonID: "fact04", Version: 2, At: t0, Nutrition: []byte{}}); err != nil {
				t.Fatal(err)
			}
			check("changed", 30)
			// Many changes at once (more than a quarter: read whole again).
			for i := 10; i < 30; i++ {
				if err := writer.Append(ctx, "CO", &records.Commit{PersonID: fmt.Sprintf("fact%02d", i), Version: 2, At: t0, Nutrition: state(27)}); err != nil {
					t.Fatal(err)
				}
			}
			check("rewritten", 30)
			// A rebuild from the log changes nothing that is counted.
			if _, err := writer.RebuildNutrition(ctx, "CO"); err != nil {
				t.Fatal(err)
			}
			check("rebuilt", 30)
		})
	}
}

// On FerretDB-PostgreSQL the changed digests are read by _id through an
// index, not by reading the table.
func TestPostgresDigestPlan(t *testing.T) {
	t.Parallel()
	if mongotest.Engine() != mongotest.EnginePostgres {
		t.Skip("reads PostgreSQL: postgres engine only")
	}
	s := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	if err := s.Insert(ctx, "CO", assessed("plan1", 1)); err != nil {
		t.Fatal(err)
	}
	plan, err := recmongo.ExplainDigestRead(ctx, s, "CO", []string{"plan1", "plan2"}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", plan)
	if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
		t.Errorf("the read by _id does not use an index:\n%s", plan)
	}
}
