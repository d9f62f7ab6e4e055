package records_test

import (
	"errors"
	"testing"
	"time"

	"contigo/records"

	"github.com/google/go-cmp/cmp"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	r := records.Resource{Type: "Patient", ID: "p1", Updated: time.Date(2026, 3, 1, 10, 0, 0, 5e6, time.UTC),
		Keys: records.Keys{"identifier": {"urn:co|1", "urn:co|2"}, "birthdate": {"2024-01-15"}, "name": {"jose", "perez"}}}
	c := func(key string, op records.Op, vals ...string) records.Cond {
		return records.Cond{Key: key, Op: op, Values: vals}
	}
	for _, tt := range []struct {
		name  string
		conds []records.Cond
		want  bool
	}{
		{"no conditions", nil, true},
		{"eq any value", []records.Cond{c("identifier", records.OpEq, "urn:co|2")}, true},
		{"eq or", []records.Cond{c("identifier", records.OpEq, "x", "urn:co|1")}, true},
		{"eq miss", []records.Cond{c("identifier", records.OpEq, "urn:co|3")}, false},
		{"and", []records.Cond{c("name", records.OpPrefix, "jo"), c("birthdate", records.OpGe, "2024")}, true},
		{"and miss", []records.Cond{c("name", records.OpPrefix, "jo"), c("birthdate", records.OpLt, "2024")}, false},
		{"ge equal", []records.Cond{c("birthdate", records.OpGe, "2024-01-15")}, true},
		{"gt equal", []records.Cond{c("birthdate", records.OpGt, "2024-01-15")}, false},
		{"le", []records.Cond{c("birthdate", records.OpLe, "2024-01-15")}, true},
		{"lt", []records.Cond{c("birthdate", records.OpLt, "2024-01-16")}, true},
		{"missing key", []records.Cond{c("gender", records.OpEq, "female")}, false},
		{"no values", []records.Cond{c("name", records.OpPrefix)}, false},
		{"_id", []records.Cond{c("_id", records.OpEq, "p1")}, true},
		{"_lastUpdated", []records.Cond{c("_lastUpdated", records.OpGe, "2026-03-01T10:00:00.005Z")}, true},
		{"_lastUpdated after", []records.Cond{c("_lastUpdated", records.OpGt, "2026-03-01T10:00:00.005Z")}, false},
		{"operator is data", []records.Cond{c("name", records.OpEq, `{"$gt":""}`)}, false},
		{"pattern is data", []records.Cond{c("name", records.OpPrefix, ".*")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := records.Match(r, tt.conds); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPaginate(t *testing.T) {
	t.Parallel()
	var rs []records.Resource
	for _, x := range []struct{ id, date string }{{"a", "2026-01-03"}, {"b", "2026-01-01"}, {"c", "2026-01-03"}, {"d", ""}, {"e", "2026-01-02"}} {
		rs = append(rs, records.Resource{Type: "Observation", ID: x.id, Keys: records.Keys{"date": {x.date}}})
	}
	for _, tt := range []struct {
		name string
		sort []records.SortKey
		want []string
	}{
		{"by id", nil, []string{"a", "b", "c", "d", "e"}},
		{"by date", []records.SortKey{{Key: "date"}}, []string{"d", "b", "e", "a", "c"}},
		{"by date desc", []records.SortKey{{Key: "date", Desc: true}}, []string{"a", "c", "e", "b", "d"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := records.Query{Type: "Observation", Sort: tt.sort, Count: 2}
			var got []string
			for range 10 {
				page, err := records.Paginate(append([]records.Resource(nil), rs...), q)
				if err != nil {
					t.Fatal(err)
				}
				if page.Total != 5 {
					t.Errorf("Total = %d, want 5", page.Total)
				}
				for _, r := range page.Resources {
					got = append(got, r.ID)
				}
				if q.After = page.Next; q.After == "" {
					break
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := records.Paginate(rs, records.Query{After: "%%%"}); !errors.Is(err, records.ErrMalformed) {
		t.Errorf("bad cursor: got %v, want ErrMalformed", err)
	}
}
