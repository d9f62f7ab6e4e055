package mongo_test

import (
	"fmt"
	"strings"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"

	"github.com/google/go-cmp/cmp"
)

// TestPostgresHeadSearch: on FerretDB-PostgreSQL, Patient searches read
// the heads straight from PostgreSQL in one statement (pgsearch.go); they
// find exactly what FerretDB's own queries find (a second store on the same
// databases without the PostgreSQL URL), including keys with quotes and
// backslashes, a record whose Patient changed, and a deleted Patient; and
// PostgreSQL serves the statement from the GIN index on idx.
func TestPostgresHeadSearch(t *testing.T) {
	a := postgresStore(t, "CO")
	ctx := t.Context()
	var ps []*records.Person
	for i := range 30 {
		p := newPerson(fmt.Sprintf("p%02d", i))
		p.Resources[0].Keys["match"] = []string{fmt.Sprintf("gf:n%d|f%d", i%4, i%5), fmt.Sprintf("gd:n%d|2024-01-%02d", i%4, 1+i%7)}
		p.Resources[0].Keys["family"] = []string{fmt.Sprintf("f%d", i%5), `o"brien\x`}
		ps = append(ps, p)
	}
	if err := a.InsertMany(ctx, "CO", ps); err != nil {
		t.Fatal(err)
	}
	changed := patient("p01", 2, "urn:co|p01")
	changed.Keys["match"] = []string{"gf:other|f9"}
	gone := patient("p02", 2)
	gone.Deleted = true
	for _, c := range []*records.Commit{
		{PersonID: "p01", Version: 2, At: t0, Resources: []records.Resource{changed}},
		{PersonID: "p02", Version: 2, At: t0, Resources: []records.Resource{gone}},
	} {
		if err := a.Append(ctx, "CO", c); err != nil {
			t.Fatal(err)
		}
	}
	b := secondStore(t, a, recmongo.Config{}) // no PostgreSQL URL: FerretDB's queries
	if _, err := b.ExplainHeadSearch(ctx, "CO", records.Query{Type: "Patient", Conds: []records.Cond{{Key: "family", Values: []string{"f1"}}}}, true); err == nil {
		t.Fatal("the store without a PostgreSQL URL reads heads from PostgreSQL")
	}
	match := func(vs ...string) records.Cond { return records.Cond{Key: "match", Values: vs} }
	for _, tt := range []struct {
		name  string
		conds []records.Cond
		want  int
	}{
		{"one key", []records.Cond{match("gf:n0|f0")}, 2},
		{"blocking keys", []records.Cond{match("gf:n1|f1", "gf:n2|f2", "gd:n3|2024-01-04", "gf:other|f9", "gf:none|f0")}, 4},
		{"the old key of a changed Patient", []records.Cond{match("gf:n1|f1")}, 1},
		{"the new key", []records.Cond{match("gf:other|f9")}, 1},
		{"deleted", []records.Cond{{Key: "_id", Values: []string{"p02"}}}, 0},
		{"quotes and backslashes", []records.Cond{{Key: "family", Values: []string{`o"brien\x`}}, {Key: "family", Values: []string{"f0", "f1"}}}, 11},
		{"with a range", []records.Cond{match("gf:n1|f1", "gf:n2|f2"), {Key: "_id", Op: records.OpGe, Values: []string{"p10"}}}, 2},
		{"no value", []records.Cond{match()}, 0},
		{"two runes of a surname", []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"o\""}}}, 28}, // not p01 (changed) nor p02 (deleted)
		{"one rune of a surname", []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"f"}}}, 28},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := records.Query{Type: "Patient", Conds: tt.conds, Count: records.MaxCount}
			got, err := a.Search(ctx, "CO", q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := b.Search(ctx, "CO", q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids(want.Resources), ids(got.Resources)); diff != "" {
				t.Errorf("PostgreSQL and FerretDB differ (-FerretDB +PostgreSQL):\n%s", diff)
			}
			if len(got.Resources) != tt.want {
				t.Errorf("found %v, want %d", ids(got.Resources), tt.want)
			}
		})
	}
	plan, err := a.ExplainHeadSearch(ctx, "CO", records.Query{Type: "Patient", Conds: []records.Cond{match("gf:n1|f1", "gf:n2|f2", "gd:n3|2024-01-04")}}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", plan)
	if !strings.Contains(plan, "_contigo_idx") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("the head search does not use the GIN index on idx:\n%s", plan)
	}
	plan, err = a.ExplainHeadSearch(ctx, "CO", records.Query{Type: "Patient", Conds: []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"f1"}}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "_contigo_idx") || !strings.Contains(plan, `Patient|family^|f1`) {
		t.Errorf("a surname of two letters is not looked up by its term in the GIN index on idx:\n%s", plan)
	}
	plan, err = a.ExplainHeadSearch(ctx, "CO", records.Query{Type: "Patient", Conds: []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"f"}}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "_contigo_idx") || !strings.Contains(plan, `Patient|family^|f"`) {
		t.Errorf("a surname's first letter is not looked up by its term in the GIN index on idx:\n%s", plan)
	}
	// A surname prefix and a birth day (Patient?family=per&birthdate=...):
	// both looked up by their terms in one containment.
	byNameAndDay := records.Query{Type: "Patient", Conds: []records.Cond{
		{Key: "family", Op: records.OpPrefix, Values: []string{`o"br`}},
		{Key: "birthdate", Op: records.OpGe, Values: []string{"2024-01-15"}},
		{Key: "birthdate", Op: records.OpLt, Values: []string{"2024-01-16"}},
	}, Count: records.MaxCount}
	plan, err = a.ExplainHeadSearch(ctx, "CO", byNameAndDay, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "_contigo_idx") || !strings.Contains(plan, `Patient|family^|o`) || !strings.Contains(plan, `Patient|birthdate^|2024-01-15`) {
		t.Errorf("the name and birth day search does not look up both terms in the GIN index on idx:\n%s", plan)
	}
	got, err := a.Search(ctx, "CO", byNameAndDay)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.Search(ctx, "CO", byNameAndDay)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(want.Resources), ids(got.Resources)); diff != "" || len(got.Resources) != 28 {
		t.Errorf("name and birth day: %d found; PostgreSQL and FerretDB differ (-FerretDB +PostgreSQL):\n%s", len(got.Resources), diff)
	}
}
