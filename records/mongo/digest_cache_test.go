package mongo_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

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
					checkRows(t, step, s, w)
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

// checkRows wants the indicator rows of s (kept per query in step with the
// digests since the query was first asked) equal to those counted from
// scratch over facts (nutrition.Facts as JSON).
func checkRows(t *testing.T, step string, s *recmongo.Store, facts []string) {
	t.Helper()
	var fs []nutrition.Facts
	for _, j := range facts {
		var f nutrition.Facts
		if err := json.Unmarshal([]byte(j), &f); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	rs := nutrition.DefaultRuleSet()
	from, to := time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, by := range []string{"", nutrition.ByMonth, nutrition.ByAdminArea} {
		want, err := nutrition.IndicatorsOf(fs, rs, from, to, by)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.IndicatorRows(t.Context(), "CO", rs, from, to, by)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s, by %q: rows\n%+v\nwant\n%+v", step, by, got, want)
		}
	}
}

// On FerretDB-PostgreSQL the changed digests are read by _id through an
// index, not by reading the table.
func TestPostgresDigestPlan(t *testing.T) {
	s := postgresStore(t, "CO")
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
	plan, err = recmongo.ExplainDigestsSince(ctx, s, "CO", time.Now().Add(-time.Minute).UnixMilli(), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan since:\n%s", plan)
	if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "_contigo_t") {
		t.Errorf("the read of the digests written since a time does not use the index on t:\n%s", plan)
	}
}

// A replica reads only the digests written since its previous refresh
// (less the lag), not a listing of every digest; a digest whose write took
// longer than the lag is missed until the next full listing, which catches
// it.
func TestIndicatorFactsSince(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	writer := mongotest.NewStoreConfig(t, recmongo.Config{Countries: []records.Country{"CO"}})
	reader := secondStore(t, writer, recmongo.Config{})
	state := func(day int) []byte {
		return fmt.Appendf(nil, `{"assessments":[{"date":"2025-03-%02dT00:00:00Z","subject":"child","age_band":"child_6_59m","admin_area":"A%d","anthro_wasting":"severe_wasting","muac_mm":110}]}`, day, day%3)
	}
	persons := func() []string {
		t.Helper()
		facts, err := reader.IndicatorFacts(ctx, "CO")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range facts {
			b, _ := json.Marshal(f)
			out = append(out, string(b))
		}
		slices.Sort(out)
		return out
	}
	for i := range 10 {
		p := assessed(fmt.Sprintf("since%02d", i), 1)
		p.Nutrition = state(1 + i)
		if err := writer.Insert(ctx, "CO", p); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(persons()); n != 10 || recmongo.DigestsListed(reader, "CO") != 1 {
		t.Fatalf("%d persons, %d listings after the first use, want 10 and 1", n, recmongo.DigestsListed(reader, "CO"))
	}
	// A change and a state that is gone are read by their time.
	if err := writer.Append(ctx, "CO", &records.Commit{PersonID: "since03", Version: 2, At: t0, Nutrition: state(20)}); err != nil {
		t.Fatal(err)
	}
	if err := writer.Append(ctx, "CO", &records.Commit{PersonID: "since04", Version: 2, At: t0, Nutrition: []byte{}}); err != nil {
		t.Fatal(err)
	}
	got := persons()
	if len(got) != 9 || !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "2025-03-20") }) {
		t.Errorf("after a change and a removal: %v", got)
	}
	if n := recmongo.DigestsListed(reader, "CO"); n != 1 {
		t.Errorf("%d listings, want 1: the changes are read by time", n)
	}
	checkRows(t, "since", reader, got)
	// A digest stamped ten minutes ago, beyond the lag, as a write that took
	// that long to commit: missed by time, found by the next listing.
	late, err := nutrition.Digest(state(28))
	if err != nil {
		t.Fatal(err)
	}
	if err := recmongo.WriteDigestAt(ctx, writer, "CO", "late", 1, string(late), time.Now().Add(-10*time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if n := persons(); len(n) != 9 {
		t.Errorf("%d persons: a write older than the lag was read by time: %v", len(n), n)
	}
	recmongo.SetDigestTimes(reader, 0, time.Nanosecond)
	if got := persons(); len(got) != 10 || recmongo.DigestsListed(reader, "CO") != 2 {
		t.Errorf("after the relist period: %d persons, %d listings, want 10 and 2", len(got), recmongo.DigestsListed(reader, "CO"))
	} else {
		checkRows(t, "relisted", reader, got)
	}
}
