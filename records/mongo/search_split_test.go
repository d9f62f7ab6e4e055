package mongo

import (
	"testing"

	"contigo/records"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestHeadFiltersSplit: on FerretDB, a Patient query whose equalities all
// have several values (the candidate search of $match) becomes one
// top-level equality per value, which FerretDB evaluates in SQL where an
// index serves it, never an $in it would evaluate by reading every head.
func TestHeadFiltersSplit(t *testing.T) {
	t.Parallel()
	match := records.Cond{Key: "match", Op: records.OpEq, Values: []string{"gf:a|b", "fp:b+c", "gd:a|2024-01-02"}}
	ident := records.Cond{Key: "identifier", Op: records.OpEq, Values: []string{"s|1", "s|2"}}
	for _, tt := range []struct {
		name   string
		q      records.Query
		ferret bool
		want   []bson.D
	}{
		{"split on the condition with fewest values", records.Query{Type: "Patient", Conds: []records.Cond{match, ident}}, true, []bson.D{
			{{Key: "idx", Value: "Patient|identifier|s|1"}, {Key: "$and", Value: bson.A{bson.D{{Key: "idx", Value: bson.D{{Key: "$in", Value: bson.A{"Patient|match|gf:a|b", "Patient|match|fp:b+c", "Patient|match|gd:a|2024-01-02"}}}}}}}},
			{{Key: "idx", Value: "Patient|identifier|s|2"}, {Key: "$and", Value: bson.A{bson.D{{Key: "idx", Value: bson.D{{Key: "$in", Value: bson.A{"Patient|match|gf:a|b", "Patient|match|fp:b+c", "Patient|match|gd:a|2024-01-02"}}}}}}}},
		}},
		{"one value already indexed", records.Query{Type: "Patient", Conds: []records.Cond{match, {Key: "family", Op: records.OpEq, Values: []string{"x"}}}}, true, nil},
		{"MongoDB serves $in from its index", records.Query{Type: "Patient", Conds: []records.Cond{match}}, false, nil},
		{"other types", records.Query{Type: "Observation", Conds: []records.Cond{match}}, true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := headFilters(tt.q, tt.ferret)
			want := tt.want
			if want == nil {
				want = []bson.D{headFilter(tt.q)}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("headFilters (-want +got):\n%s", diff)
			}
			for _, f := range got {
				if _, op := f[0].Value.(bson.D); op && tt.ferret && tt.q.Type == "Patient" && len(got) > 1 {
					t.Errorf("first condition %v is not a top-level equality", f[0])
				}
			}
		})
	}
}
