package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// seed stores n persons p00..p(n-1): person i has birthdate 2020-01-(i+1),
// family "fam<i%3>" and one weight Observation dated 2026-02-(i+1).
func seed(t *testing.T, n int) *recmongo.Store {
	t.Helper()
	return seedOn(t, mongotest.NewStore(t), n)
}

// seedOn is seed on store s.
func seedOn(t *testing.T, s *recmongo.Store, n int) *recmongo.Store {
	t.Helper()
	var ps []*records.Person
	for i := range n {
		id := fmt.Sprintf("p%02d", i)
		p := newPerson(id, observation(id, "29463-7", fmt.Sprintf("2026-02-%02d", i+1)))
		p.Resources[0].Keys["birthdate"] = []string{fmt.Sprintf("2020-01-%02d", i+1)}
		p.Resources[0].Keys["family"] = []string{fmt.Sprintf("fam%d", i%3)}
		ps = append(ps, p)
	}
	if err := s.InsertMany(t.Context(), "CO", ps); err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(rs []records.Resource) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestSearchConditions(t *testing.T) {
	t.Parallel()
	searchConditions(t, seed(t, 10))
}

// The embedded engine's own store (exclusive: its in-process Patient
// index answers) gives the same results.
func TestSearchConditionsEmbedded(t *testing.T) {
	t.Parallel()
	searchConditions(t, seedOn(t, mongotest.NewEmbedded(t, "CO"), 10))
}

func searchConditions(t *testing.T, s *recmongo.Store) {
	ctx := t.Context()
	pt := func(q ...records.Cond) records.Query { return records.Query{Type: "Patient", Conds: q} }
	for _, tt := range []struct {
		name string
		q    records.Query
		want []string
	}{
		{"all", pt(), []string{"p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09"}},
		{"identifier", pt(records.Cond{Key: "identifier", Values: []string{"urn:co|p03"}}), []string{"p03"}},
		{"identifier or", pt(records.Cond{Key: "identifier", Values: []string{"urn:co|p03", "urn:co|p07"}}), []string{"p03", "p07"}},
		{"family and birthdate ge", pt(records.Cond{Key: "family", Values: []string{"fam0"}},
			records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01-05"}}), []string{"p06", "p09"}},
		{"birthdate lt", pt(records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-01-03"}}), []string{"p00", "p01"}},
		{"birthdate le", pt(records.Cond{Key: "birthdate", Op: records.OpLe, Values: []string{"2020-01-02"}}), []string{"p00", "p01"}},
		{"birthdate gt", pt(records.Cond{Key: "birthdate", Op: records.OpGt, Values: []string{"2020-01-09"}}), []string{"p09"}},
		{"birthdate prefix", pt(records.Cond{Key: "birthdate", Op: records.OpPrefix, Values: []string{"2020-01-1"}}), []string{"p09"}},
		{"family prefix and birth day", pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"fam"}},
			records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01-05"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-01-06"}}), []string{"p04"}},
		{"family and birth day", pt(records.Cond{Key: "family", Values: []string{"fam1"}},
			records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01-02"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-01-03"}}), []string{"p01"}},
		{"family and another's birth day", pt(records.Cond{Key: "family", Values: []string{"fam0"}},
			records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01-02"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-01-03"}}), []string{}},
		{"family of two or birth day", pt(records.Cond{Key: "family", Values: []string{"fam0", "fam2"}},
			records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-02"}}), []string{"p00", "p02", "p03", "p05", "p06", "p08", "p09"}},
		{"family of one letter", pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"f"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-01-04"}}), []string{"p00", "p01", "p02"}},
		{"family of another letter", pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"g"}}), []string{}},
		{"family prefix of four", pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"fam1"}}), []string{"p01", "p04", "p07"}},
		{"short family prefix", pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{"fa"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-01-03"}}), []string{"p00", "p01"}},
		{"birth month", pt(records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-02"}}), []string{"p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09"}},
		{"birth year before", pt(records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{"2019"}},
			records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{"2020"}}), []string{}},
		{"_id", pt(records.Cond{Key: "_id", Values: []string{"p04"}}), []string{"p04"}},
		{"no values", pt(records.Cond{Key: "family", Values: nil}), []string{}},
		// Values are data, never operators or patterns.
		{"operator as value", pt(records.Cond{Key: "family", Values: []string{`{"$gt": ""}`}}), []string{}},
		{"regex as value", pt(records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{".*"}}), []string{}},
		{"dollar key", pt(records.Cond{Key: "$where", Values: []string{"1"}}), []string{}},
		{"observation by code and date", records.Query{Type: "Observation", Conds: []records.Cond{
			{Key: "code", Values: []string{"http://loinc.org|29463-7"}},
			{Key: "date", Op: records.OpGe, Values: []string{"2026-02-09"}}}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.Search(ctx, "CO", tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(page.Resources)
			if tt.q.Type == "Observation" {
				if len(got) != 2 || records.PersonOf("Observation", got[0]) == "" {
					t.Errorf("got %v, want the 2 observations of p08 and p09", got)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			n, err := s.Count(ctx, "CO", tt.q)
			if err != nil || n != int64(len(tt.want)) {
				t.Errorf("count: got %d, %v; want %d", n, err, len(tt.want))
			}
		})
	}
}

// TestSearchPagingWhileWriting: pages stay correct when records are added
// and removed before the cursor between two pages.
func TestSearchPagingWhileWriting(t *testing.T) {
	t.Parallel()
	s := seed(t, 10)
	ctx := t.Context()
	for _, tt := range []struct {
		name string
		q    records.Query
	}{
		{"patients by id", records.Query{Type: "Patient", Count: 4}},
		{"patients by birthdate desc", records.Query{Type: "Patient", Count: 4, Sort: []records.SortKey{{Key: "birthdate", Desc: true}}}},
		{"observations by date", records.Query{Type: "Observation", Count: 4, Sort: []records.SortKey{{Key: "date"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := seed(t, 10)
			var all []string
			q := tt.q
			for i := 0; ; i++ {
				page, err := s.Search(ctx, "CO", q)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, ids(page.Resources)...)
				if page.Next == "" {
					break
				}
				if i == 0 {
					// Before the cursor: an insert (sorts first) and a deletion of a
					// record already returned.
					gone := records.PersonOf(q.Type, all[0])
					if err := s.Insert(ctx, "CO", newPerson("a00")); err != nil {
						t.Fatal(err)
					}
					if _, err := s.Client().Database(s.DatabaseName("CO")).Collection("persons").DeleteOne(ctx, map[string]string{"_id": gone}); err != nil {
						t.Fatal(err)
					}
				}
				q.After = page.Next
			}
			if len(all) != 10 { // the 10 seeded, the deleted one returned before it went
				t.Errorf("got %d results over all pages, want 10 (no duplicate, nothing skipped): %v", len(all), all)
			}
			seen := map[string]bool{}
			for _, id := range all {
				if seen[id] {
					t.Errorf("%s returned twice", id)
				}
				seen[id] = true
			}
		})
	}
	if _, err := s.Search(ctx, "CO", records.Query{Type: "Patient", After: "garbage"}); !errors.Is(err, records.ErrMalformed) {
		t.Errorf("bad cursor: got %v, want ErrMalformed", err)
	}
}

// TestSearchPagingSparse: pages of a query whose matches are far apart
// (the embedded engine's filter leaves range conditions to Go).
func TestSearchPagingSparse(t *testing.T) {
	t.Parallel()
	s := seed(t, 10)
	q := records.Query{Type: "Patient", Count: 2, Conds: []records.Cond{{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01-05"}}}}
	var got []string
	for range 10 {
		page, err := s.Search(t.Context(), "CO", q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page.Resources)...)
		if q.After = page.Next; q.After == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"p04", "p05", "p06", "p07", "p08", "p09"}, got); diff != "" {
		t.Errorf("ids over all pages (-want +got):\n%s", diff)
	}
}

// TestAudit runs on the shared path (a store on a server) and on the
// embedded engine's own store, whose audit index is kept by AppendAudit
// and, after a restart, loaded from the stored entries.
func TestAudit(t *testing.T) {
	t.Parallel()
	t.Run("shared", func(t *testing.T) {
		t.Parallel()
		s := mongotest.NewStore(t)
		appendAudits(t, s)
		checkAudits(t, s)
	})
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ctx := context.Background()
		open := func() *recmongo.Store {
			s, err := recmongo.Open(ctx, recmongo.Config{DataDir: dir, Countries: []records.Country{"CO"}})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		s := open()
		appendAudits(t, s)
		checkAudits(t, s)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		s = open()
		defer s.Close(ctx)
		checkAudits(t, s)
	})
}

var auditBase = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func appendAudits(t *testing.T, s *recmongo.Store) {
	ctx := t.Context()
	base := auditBase
	for i := range 7 {
		e := records.AuditEntry{ID: fmt.Sprintf("a%d", i), Time: base.Add(time.Duration(i/2) * time.Second), Actor: "hw1",
			Action: "R", Interaction: "read", PersonID: []string{"p1", "p2"}[i%2], Outcome: 200}
		if err := s.AppendAudit(ctx, "CO", e); err != nil {
			t.Fatal(err)
		}
	}
	// Entries that disclosed several persons name them in Persons (a8
	// names p1 in both fields: it is listed once).
	for _, e := range []records.AuditEntry{
		{ID: "a7", Time: base.Add(4 * time.Second), Persons: []string{"p2", "p1"}},
		{ID: "a8", Time: base.Add(4 * time.Second), PersonID: "p1", Persons: []string{"p1", "p3"}},
		{ID: "a9", Time: base.Add(5 * time.Second), Persons: []string{"p3"}},
	} {
		e.Actor, e.Action, e.Interaction, e.Outcome = "hw1", "R", "search-type", 200
		if err := s.AppendAudit(ctx, "CO", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx, "CO", records.AuditEntry{ID: "a0"}); !errors.Is(err, records.ErrConflict) {
		t.Errorf("duplicate audit id: got %v, want ErrConflict", err)
	}
}

func checkAudits(t *testing.T, s *recmongo.Store) {
	ctx, base := t.Context(), auditBase
	e, err := s.Audit(ctx, "CO", "a3")
	if err != nil || e.PersonID != "p2" || !e.Time.Equal(base.Add(time.Second)) {
		t.Errorf("audit a3: %+v, %v", e, err)
	}
	if _, err := s.Audit(ctx, "CO", "zz"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("missing audit: got %v, want ErrNotFound", err)
	}
	for _, tt := range []struct {
		name string
		q    records.AuditQuery
		want []string
	}{
		{"all newest first", records.AuditQuery{Count: 3}, []string{"a9", "a8", "a7", "a6", "a5", "a4", "a3", "a2", "a1", "a0"}},
		{"person", records.AuditQuery{PersonID: "p1", Count: 2}, []string{"a8", "a7", "a6", "a4", "a2", "a0"}},
		{"person one page", records.AuditQuery{PersonID: "p1", Count: 10}, []string{"a8", "a7", "a6", "a4", "a2", "a0"}},
		{"person in persons only", records.AuditQuery{PersonID: "p3", Count: 1}, []string{"a9", "a8"}},
		{"person window", records.AuditQuery{PersonID: "p1", Since: base.Add(2 * time.Second), Until: base.Add(5 * time.Second), Count: 3},
			[]string{"a8", "a7", "a6", "a4"}},
		{"window", records.AuditQuery{Since: base.Add(time.Second), Until: base.Add(3 * time.Second)}, []string{"a5", "a4", "a3", "a2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			q := tt.q
			for {
				es, next, err := s.Audits(ctx, "CO", q)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range es {
					got = append(got, e.ID)
				}
				if next == "" {
					break
				}
				q.After = next
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("audit ids (-want +got):\n%s", diff)
			}
		})
	}
}

// A Patient changed by a commit is found by its new keys, not its old
// ones, on the shared path and through the embedded engine's index.
func TestSearchAfterAppend(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]*recmongo.Store{"shared": mongotest.NewStore(t, "CO"), "embedded": mongotest.NewEmbedded(t, "CO")} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			p := newPerson("p1")
			p.Resources[0].Keys["family"] = []string{"antes"}
			if err := s.Insert(ctx, "CO", p); err != nil {
				t.Fatal(err)
			}
			q := func(fam string) []string {
				page, err := s.Search(ctx, "CO", records.Query{Type: "Patient", Conds: []records.Cond{{Key: "family", Values: []string{fam}}}})
				if err != nil {
					t.Fatal(err)
				}
				return ids(page.Resources)
			}
			if got := q("antes"); len(got) != 1 {
				t.Fatalf("before: %v", got)
			}
			v2 := patient("p1", 2, "urn:co|p1")
			v2.Keys["family"] = []string{"despues"}
			if err := s.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: 2, At: t0, Resources: []records.Resource{v2}}); err != nil {
				t.Fatal(err)
			}
			if got, got2 := q("antes"), q("despues"); len(got) != 0 || len(got2) != 1 {
				t.Errorf("after the change: old name finds %v, new name finds %v", got, got2)
			}
		})
	}
}

// TestHeadTermsUpgrade: heads written before the prefix terms (idx of
// equality terms only, no marker) get them at the next start, so a search
// by surname prefix and birth day finds them on every engine's path.
func TestHeadTermsUpgrade(t *testing.T) {
	t.Parallel()
	s := seed(t, 6)
	ctx := t.Context()
	db := s.Client().Database(s.DatabaseName("CO"))
	cur, err := db.Collection("persons").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var heads []struct {
		ID  string   `bson:"_id"`
		Idx []string `bson:"idx"`
	}
	if err := cur.All(ctx, &heads); err != nil || len(heads) != 6 {
		t.Fatalf("heads: %d, %v", len(heads), err)
	}
	for _, h := range heads {
		var old []string
		for _, e := range h.Idx {
			if !strings.Contains(e, "^|") {
				old = append(old, e)
			}
		}
		if len(old) == len(h.Idx) {
			t.Fatalf("head %s has no prefix term: %v", h.ID, h.Idx)
		}
		if _, err := db.Collection("persons").UpdateOne(ctx, bson.D{{Key: "_id", Value: h.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "idx", Value: old}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Collection("claims").DeleteOne(ctx, bson.D{{Key: "_id", Value: "meta:head-terms-v3"}}); err != nil {
		t.Fatal(err)
	}
	q := records.Query{Type: "Patient", Conds: []records.Cond{
		{Key: "family", Op: records.OpPrefix, Values: []string{"fam"}},
		{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-01-03"}},
		{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-01-04"}},
	}}
	// One letter of the surname (format 6) and the birth day.
	q1 := records.Query{Type: "Patient", Conds: slices.Clone(q.Conds)}
	q1.Conds[0].Values = []string{"f"}
	s2 := secondStore(t, s, recmongo.Config{PostgreSQLURL: mongotest.PostgreSQLURL()})
	for _, st := range []*recmongo.Store{s, s2} {
		for _, q := range []records.Query{q, q1} {
			page, err := st.Search(ctx, "CO", q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"p02"}, ids(page.Resources)); diff != "" {
				t.Errorf("after the upgrade, %v (-want +got):\n%s", q.Conds[0].Values, diff)
			}
		}
	}
	if owner, err := s2.Owner(ctx, "CO", "meta", "head-terms-v3"); err != nil || owner != "built" {
		t.Errorf("marker: %q, %v", owner, err)
	}
}

// TestPatientIndexUpdates: the embedded engine's Patient index follows
// every Patient version: a name taken away is no longer found, a new one
// is, a name given twice (two values with one term) leaves with its last
// value, a deleted Patient leaves every list, and an unchanged Patient
// rewritten with a visit stays. Each answer equals the shared store's,
// which reads the heads.
func TestPatientIndexUpdates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for name, s := range map[string]*recmongo.Store{"shared": mongotest.NewStore(t, "CO"), "embedded": mongotest.NewEmbedded(t, "CO")} {
		t.Run(name, func(t *testing.T) {
			seedOn(t, s, 6)
			px := newPerson("px")
			px.Resources[0].Keys["given"] = []string{"anabel", "ana"} // one prefix term, twice
			px.Resources[0].Keys["gender"] = []string{"male"}
			if err := s.Insert(ctx, "CO", px); err != nil {
				t.Fatal(err)
			}
			<-s.Warmed()
			search := func(conds ...records.Cond) []string {
				t.Helper()
				page, err := s.Search(ctx, "CO", records.Query{Type: "Patient", Conds: conds, Count: 50})
				if err != nil {
					t.Fatal(err)
				}
				got := ids(page.Resources)
				slices.Sort(got)
				return got
			}
			family := func(v string) records.Cond { return records.Cond{Key: "family", Values: []string{v}} }
			prefix := func(v string) records.Cond {
				return records.Cond{Key: "given", Op: records.OpPrefix, Values: []string{v}}
			}
			commit := func(v int64, r records.Resource) {
				t.Helper()
				if err := s.Append(ctx, "CO", &records.Commit{PersonID: "p01", Version: v, At: t0.Add(time.Duration(v) * time.Hour), Resources: []records.Resource{r}}); err != nil {
					t.Fatal(err)
				}
			}
			pt := patient("p01", 2, "urn:co|p01")
			pt.Keys["family"] = []string{"quispe"}
			pt.Keys["given"] = []string{"anabel", "ana"}
			commit(2, pt)
			// The embedded engine's lists themselves (stale entries would
			// only cost time: Search checks every candidate).
			postings := func(key, v string, prefix bool, want ...string) {
				t.Helper()
				if name != "embedded" {
					return
				}
				if got := recmongo.PatientPostings(s, "CO", key, v, prefix); !slices.Equal(got, want) {
					t.Errorf("postings of %s %q (prefix %v): %v, want %v", key, v, prefix, got, want)
				}
			}
			postings("family", "fam1", false, "p04")
			postings("family", "quispe", false, "p01")
			postings("given", "ana", true, "p01", "px")
			if got := search(family("fam1")); !slices.Equal(got, []string{"p04"}) {
				t.Errorf("family fam1 after p01 became quispe: %v, want [p04]", got)
			}
			if got := search(family("quispe")); !slices.Equal(got, []string{"p01"}) {
				t.Errorf("family quispe: %v, want [p01]", got)
			}
			if got := search(prefix("ana")); !slices.Equal(got, []string{"p01", "px"}) {
				t.Errorf("given ana...: %v, want [p01 px]", got)
			}
			pt = patient("p01", 3, "urn:co|p01")
			pt.Keys["family"] = []string{"quispe"}
			pt.Keys["given"] = []string{"anabel"}
			commit(3, pt)
			if got := search(prefix("ana")); !slices.Equal(got, []string{"p01", "px"}) {
				t.Errorf("given ana... with one of two values left: %v, want [p01 px]", got)
			}
			postings("given", "ana", false, "px")
			postings("given", "ana", true, "p01", "px")
			postings("given", "anabel", false, "p01", "px")
			if got := search(records.Cond{Key: "given", Values: []string{"ana"}}); !slices.Equal(got, []string{"px"}) {
				t.Errorf("given ana, taken away from p01: %v, want [px]", got)
			}
			commit(4, observation("p01", "29463-7", "2026-03-01"))
			if got := search(family("quispe"), prefix("anab")); !slices.Equal(got, []string{"p01"}) {
				t.Errorf("after a visit: %v, want [p01]", got)
			}
			gone := patient("p01", 5)
			gone.Deleted = true
			commit(5, gone)
			for _, c := range []records.Cond{family("quispe"), prefix("ana"), {Key: "gender", Values: []string{"female"}}} {
				if got := search(c); slices.Contains(got, "p01") {
					t.Errorf("%v after the Patient was deleted: %v", c, got)
				}
			}
			postings("gender", "female", false, "p00", "p02", "p03", "p04", "p05")
			postings("given", "ana", true, "px")
			postings("family", "quispe", false)
			if got := search(records.Cond{Key: "gender", Values: []string{"female"}}); len(got) != 5 || slices.Contains(got, "px") {
				t.Errorf("gender female: %v, want the 5 others", got)
			}
		})
	}
}
