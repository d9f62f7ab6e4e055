package federation

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"contigo/records"
	"contigo/records/namekey"
)

// keysOf returns the search keys the fhir package would write for p's
// Patient: identifiers, the birth date as given, the blocking key.
func keysOf(p Person) records.Keys {
	k := records.Keys{"identifier": p.Identifiers}
	var given, family []string
	for _, n := range p.Names {
		given = append(given, n.Given...)
		family = append(family, n.Family...)
	}
	k[namekey.Match] = namekey.Blocks(namekey.PartsOf(given, family, p.BirthDate))
	if p.BirthDate != "" {
		k["birthdate"] = []string{p.BirthDate}
	}
	return k
}

// satisfies evaluates q against keys as records.Store does.
func satisfies(q records.Query, keys records.Keys) bool {
	for _, c := range q.Conds {
		ok := false
		for _, have := range keys[c.Key] {
			for _, want := range c.Values {
				switch c.Op {
				case records.OpEq:
					ok = ok || have == want
				case records.OpPrefix:
					ok = ok || strings.HasPrefix(have, want)
				case records.OpGe:
					ok = ok || have >= want
				case records.OpLt:
					ok = ok || have < want
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// qualitySet is the labelled set TestMatchQuality and TestCandidateQueries
// share, with each query's candidates as CandidateQueries finds them.
var qualitySet = sync.OnceValues(func() (synthSet, [][]int) {
	s := generate(1, 2000)
	return s, block(s)
})

// block runs CandidateQueries for every query against the records' keys.
// An index by identifier and by the sound of each name word narrows the
// records each query is evaluated against: every candidate search needs
// one of them.
func block(s synthSet) [][]int {
	keys := make([]records.Keys, len(s.records))
	index := map[string][]int{}
	for i, r := range s.records {
		keys[i] = keysOf(r)
		seen := map[string]bool{}
		for _, key := range []string{"identifier", namekey.Match} {
			for _, v := range keys[i][key] {
				seen[key+"|"+v] = true
			}
		}
		for k := range seen {
			index[k] = append(index[k], i)
		}
	}
	out := make([][]int, len(s.queries))
	for qi, q := range s.queries {
		qs := CandidateQueries(q)
		var pre []int
		for _, c := range qs {
			for _, v := range c.Conds[0].Values {
				pre = append(pre, index[c.Conds[0].Key+"|"+v]...)
			}
		}
		slices.Sort(pre)
		for _, ci := range slices.Compact(pre) {
			if slices.ContainsFunc(qs, func(q records.Query) bool { return satisfies(q, keys[ci]) }) {
				out[qi] = append(out[qi], ci)
			}
		}
	}
	return out
}

// TestCandidateQueries measures the blocking a node does before scoring:
// how many true records its searches miss and how many candidates they
// bring per query.
func TestCandidateQueries(t *testing.T) {
	t.Parallel()
	s, cands := qualitySet()
	missed, truePairs, candidates := 0, 0, 0
	for qi := range s.queries {
		candidates += len(cands[qi])
		if s.truth[qi] >= 0 {
			truePairs++
			if !slices.Contains(cands[qi], s.truth[qi]) {
				missed++
			}
		}
	}
	per := float64(candidates) / float64(len(s.queries))
	t.Logf("blocking: %d of %d true records missed (recall %.4f), %.1f candidates per query of %d records",
		missed, truePairs, 1-float64(missed)/float64(truePairs), per, len(s.records))
	if r := 1 - float64(missed)/float64(truePairs); r < 0.999 {
		t.Errorf("blocking recall %.4f, want >= 0.999", r)
	}
	if per > 40 {
		t.Errorf("%.1f candidates per query, want at most 40 (2%%)", per)
	}
	if got := CandidateQueries(Person{}); len(got) != 0 {
		t.Errorf("an empty person gave %d queries", len(got))
	}
}
