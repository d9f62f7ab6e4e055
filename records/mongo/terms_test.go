package mongo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"contigo/records"

	"github.com/google/go-cmp/cmp"
)

// holdsGroups reports whether the terms of value v of key hold a term of
// every group of q on key (narrowing may only drop non-matches).
func holdsGroups(key, v string, q records.Query) (bool, []termGroup) {
	have := map[string]bool{}
	keyTerms(key, v, func(t string) { have[t] = true })
	groups := queryTerms(q)
	for _, g := range groups {
		if !slices.ContainsFunc(g.Terms, func(t string) bool { return have[t] }) {
			return false, groups
		}
	}
	return true, groups
}

// TestQueryTermsNeverExcludeAMatch: for names (with accents' absence and
// multi-byte runes), dates of every precision and instants, and the
// conditions a FHIR search gives (prefixes of every length, a day, month
// or year as >= and <, open ranges, several values), every value that
// matches holds a term of every group; and the searches the API serves
// most (a surname prefix, a birth day) do narrow.
func TestQueryTermsNeverExcludeAMatch(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	names := []string{"garcia", "gar", "ga", "g", "núñez", "ñu", "o'brien", "de la cruz", "paz", "pazos", "x"}
	var dates []string
	for range 200 {
		y, m, d := 2018+rnd.IntN(8), 1+rnd.IntN(12), 1+rnd.IntN(28)
		switch rnd.IntN(4) {
		case 0:
			dates = append(dates, fmt.Sprintf("%04d", y))
		case 1:
			dates = append(dates, fmt.Sprintf("%04d-%02d", y, m))
		case 2:
			dates = append(dates, fmt.Sprintf("%04d-%02d-%02d", y, m, d))
		default:
			dates = append(dates, fmt.Sprintf("%04d-%02d-%02dT%02d:00:00.000Z", y, m, d, rnd.IntN(24)))
		}
	}
	narrowed := 0
	check := func(key, v string, conds ...records.Cond) {
		t.Helper()
		q := records.Query{Type: "Patient", Conds: conds}
		r := records.Resource{Type: "Patient", ID: "p", Keys: records.Keys{key: {v}}}
		ok, groups := holdsGroups(key, v, q)
		if len(groups) > 0 {
			narrowed++
		}
		if records.Match(r, conds) && !ok {
			t.Errorf("%s=%q matches %v but misses a term of %v", key, v, conds, groups)
		}
	}
	for _, v := range names {
		for _, p := range names {
			check("family", v, records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{p}})
			check("address-city", v, records.Cond{Key: "address-city", Op: records.OpPrefix, Values: []string{p}})
			check("family", v, records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{p, "garc"}})
			check("family", v, records.Cond{Key: "family", Values: []string{p}})
			for n := range utf8.RuneCountInString(p) + 1 {
				check("family", v, records.Cond{Key: "family", Op: records.OpPrefix, Values: []string{firstRunes(p, n)}})
			}
		}
	}
	for _, v := range dates {
		for _, w := range dates {
			lo := w[:min(len(w), 10)]
			if next, ok := nextPeriod(lo); ok {
				check("birthdate", v, records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{lo}},
					records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{next}})
			}
			check("birthdate", v, records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{lo}},
				records.Cond{Key: "birthdate", Op: records.OpLt, Values: []string{v}})
			check("birthdate", v, records.Cond{Key: "birthdate", Op: records.OpGe, Values: []string{w}})
		}
	}
	if narrowed == 0 {
		t.Fatal("no condition narrowed")
	}
	for _, tt := range []struct {
		name  string
		conds []records.Cond
		want  []termGroup
	}{
		{"family prefix and birth day", []records.Cond{
			{Key: "family", Op: records.OpPrefix, Values: []string{"garc"}},
			{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-05-03"}},
			{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-05-04"}},
		}, []termGroup{{"family", []string{"family^|gar"}}, {"birthdate", []string{"birthdate^|2020-05-03"}}}},
		{"birth month across a year end", []records.Cond{
			{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-12"}},
			{Key: "birthdate", Op: records.OpLt, Values: []string{"2021-01"}},
		}, []termGroup{{"birthdate", []string{"birthdate^|2020-12", "birthdate|2021"}}}},
		{"a week: its month", []records.Cond{
			{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-05-03"}},
			{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-05-10"}},
		}, []termGroup{{"birthdate", []string{"birthdate^|2020-05"}}}},
		{"across months: its year", []records.Cond{
			{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-05-03"}},
			{Key: "birthdate", Op: records.OpLt, Values: []string{"2020-07-01"}},
		}, []termGroup{{"birthdate", []string{"birthdate^|2020"}}}},
		{"open range, one rune of a surname: its term", []records.Cond{
			{Key: "birthdate", Op: records.OpGe, Values: []string{"2020-05-03"}},
			{Key: "family", Op: records.OpPrefix, Values: []string{"g"}},
		}, []termGroup{{"family", []string{"family^|g"}}}},
		{"one rune of a given name or two", []records.Cond{{Key: "given", Op: records.OpPrefix, Values: []string{"ñ", "an"}}},
			[]termGroup{{"given", []string{"given^|ñ", "given^|an"}}}},
		{"one rune of another key: nothing", []records.Cond{{Key: "address-city", Op: records.OpPrefix, Values: []string{"q"}}}, nil},
		{"half a rune of a surname: nothing", []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"\xc3"}}}, nil},
		{"two runes of a surname", []records.Cond{{Key: "family", Op: records.OpPrefix, Values: []string{"li", "ñu"}}},
			[]termGroup{{"family", []string{"family^|li", "family^|ñu"}}}},
		{"two runes of another key: nothing", []records.Cond{{Key: "address-city", Op: records.OpPrefix, Values: []string{"qu"}}}, nil},
		{"equalities", []records.Cond{{Key: "identifier", Values: []string{"s|1", "s|2"}}},
			[]termGroup{{"identifier", []string{"identifier|s|1", "identifier|s|2"}}}},
	} {
		if diff := cmp.Diff(tt.want, queryTerms(records.Query{Type: "Patient", Conds: tt.conds})); diff != "" {
			t.Errorf("%s: groups (-want +got):\n%s", tt.name, diff)
		}
	}
}

// FuzzQueryTerms: whatever a stored value and a condition's values are,
// a value that matches a prefix or a range condition holds a term of every
// group the condition gives.
func FuzzQueryTerms(f *testing.F) {
	f.Add("garcia", "garc", "2020-05-03", "2020-05-04")
	f.Add("2020-05-03T10:00:00Z", "20", "2020-05-03", "2020-05-04")
	f.Add("ñuñez", "ñuñ", "2020", "2021")
	f.Add("2020-12", "2020-1", "2020-12", "2021-01")
	f.Fuzz(func(t *testing.T, v, prefix, lo, hi string) {
		for _, conds := range [][]records.Cond{
			{{Key: "k", Op: records.OpPrefix, Values: []string{prefix}}},
			{{Key: "family", Op: records.OpPrefix, Values: []string{prefix}}},
			{{Key: "k", Op: records.OpGe, Values: []string{lo}}, {Key: "k", Op: records.OpLt, Values: []string{hi}}},
		} {
			key := conds[0].Key
			r := records.Resource{Type: "Patient", ID: "p", Keys: records.Keys{key: {v}}}
			if !records.Match(r, conds) || (conds[0].Op == records.OpGe && !validDate(v)) {
				continue // date keys hold valid dates (fhir checks them)
			}
			if ok, groups := holdsGroups(key, v, records.Query{Type: "Patient", Conds: conds}); !ok {
				t.Errorf("%q matches %v but misses a term of %v", v, conds, groups)
			}
		}
	})
}

// validDate reports whether v is a valid date of a year, month or day,
// optionally followed by a time.
func validDate(v string) bool {
	if !isDate(v) {
		return false
	}
	d := v[:min(len(v), 10)]
	if len(d) > 7 && len(d) < 10 || len(d) > 4 && len(d) < 7 {
		return false
	}
	_, err := time.Parse(map[int]string{4: "2006", 7: "2006-01", 10: time.DateOnly}[len(d)], d)
	return err == nil
}

// TestExactTermsMeanMatch: when exactTerms says a query's terms are
// exact, a Patient holds a term of every group exactly when it matches
// the query, so the embedded index skips records.Match for it; and it is
// never said of a range or a longer prefix.
func TestExactTermsMeanMatch(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(3, 4))
	names := []string{"garcia", "gomez", "g", "ga", "gar", "ñúñez", "ñu", "li", "de la cruz", "o'brien", "x"}
	var patients []records.Resource
	for i := range 300 {
		patients = append(patients, records.Resource{Type: "Patient", ID: fmt.Sprint(i), Keys: records.Keys{
			"family":     {names[rnd.IntN(len(names))]},
			"given":      {names[rnd.IntN(len(names))], names[rnd.IntN(len(names))]},
			"gender":     {[]string{"female", "male"}[rnd.IntN(2)]},
			"identifier": {fmt.Sprintf("s|%d", rnd.IntN(50))},
			"birthdate":  {fmt.Sprintf("2021-0%d-1%d", 1+rnd.IntN(9), rnd.IntN(10))},
		}})
	}
	cond := func() records.Cond {
		v := names[rnd.IntN(len(names))]
		switch rnd.IntN(6) {
		case 0:
			return records.Cond{Key: "gender", Values: []string{"male"}}
		case 1:
			return records.Cond{Key: "identifier", Values: []string{fmt.Sprintf("s|%d", rnd.IntN(50)), fmt.Sprintf("s|%d", rnd.IntN(50))}}
		case 2:
			return records.Cond{Key: "family", Values: []string{v}}
		case 3:
			return records.Cond{Key: "birthdate", Op: records.OpPrefix, Values: []string{"202"}}
		default:
			key := []string{"family", "given", "gender"}[rnd.IntN(3)]
			return records.Cond{Key: key, Op: records.OpPrefix, Values: []string{firstRunes(v, 1+rnd.IntN(3)), firstRunes(names[rnd.IntN(len(names))], 1+rnd.IntN(3))}}
		}
	}
	exact := 0
	for range 2000 {
		q := records.Query{Type: "Patient"}
		for range 1 + rnd.IntN(3) {
			q.Conds = append(q.Conds, cond())
		}
		if !exactTerms(q) {
			continue
		}
		exact++
		groups := queryTerms(q)
		for _, r := range patients {
			held := termSet(r.Keys)
			all := true
			for _, g := range groups {
				all = all && slices.ContainsFunc(g.Terms, func(term string) bool { return held[term] })
			}
			if m := records.Match(r, q.Conds); m != all {
				t.Fatalf("%v: Patient %v matches %v, holds a term of every group %v", q.Conds, r.Keys, m, all)
			}
		}
	}
	if exact < 200 {
		t.Errorf("only %d exact queries", exact)
	}
	for _, c := range []records.Cond{
		{Key: "birthdate", Op: records.OpGe, Values: []string{"2021-03-01"}},
		{Key: "family", Op: records.OpPrefix, Values: []string{"garc"}},
		{Key: "gender", Op: records.OpPrefix, Values: []string{"fe"}}, // two runes of a key that is not a name
		{Key: "family", Op: records.OpPrefix, Values: []string{"\xc3"}},
		{Key: "_id", Values: []string{"1"}},
		{Key: "family"},
	} {
		if exactTerms(records.Query{Type: "Patient", Conds: []records.Cond{c}}) {
			t.Errorf("%v is said to be exact", c)
		}
	}
}
