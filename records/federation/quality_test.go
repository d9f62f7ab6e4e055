package federation

import (
	"fmt"
	"testing"
)

// TestMatchQuality scores the labelled synthetic set (2,000 registered
// children, their sightings abroad, siblings, twins and strangers) and
// holds the matcher to the precision and recall measured when the weights
// and thresholds were chosen (docs/federation.md). Certain must never be
// wrong: records are linked on it.
func TestMatchQuality(t *testing.T) {
	t.Parallel()
	s, cands := qualitySet()
	q := measure(s, cands, nil)
	t.Logf("records %d, queries %d (%d with a true match), pairs scored %d, true pairs lost to blocking %d",
		len(s.records), len(s.queries), q.truePairs, q.pairs, q.blockedOut)
	cP, cR := q.precision(q.certainTP, q.certainFP), q.recall(q.certainTP)
	pP, pR := q.precision(q.probableTP, q.probableFP), q.recall(q.probableTP)
	aP, aR := q.precision(q.possibleTP, q.possibleFP), q.recall(q.possibleTP)
	t.Logf("certain:           precision %.4f recall %.4f (by identifier alone: recall %.4f)", cP, cR, q.recall(q.identifierTP))
	t.Logf("certain+probable:  precision %.4f recall %.4f", pP, pR)
	t.Logf("any grade:         precision %.4f recall %.4f", aP, aR)
	for _, tt := range []struct {
		name      string
		got, want float64
	}{
		{"certain precision", cP, 1},
		{"certain recall", cR, 0.39},
		{"certain+probable precision", pP, 0.985},
		{"certain+probable recall", pR, 0.98},
		{"possible recall", aR, 0.99},
	} {
		if tt.got < tt.want {
			t.Errorf("%s = %.4f, want >= %.4f", tt.name, tt.got, tt.want)
		}
	}
	if q.certainFP > 0 {
		t.Errorf("%d pairs graded certain are different people", q.certainFP)
	}
}

// TestSynthDeterministic guards the numbers above: the same seed must give
// the same set.
func TestSynthDeterministic(t *testing.T) {
	t.Parallel()
	a, b := generate(7, 300), generate(7, 300)
	if len(a.queries) != len(b.queries) || len(a.records) != len(b.records) {
		t.Fatalf("sizes differ: %d/%d vs %d/%d", len(a.records), len(a.queries), len(b.records), len(b.queries))
	}
	for i := range a.queries {
		if qa, qb := fmt.Sprint(a.queries[i]), fmt.Sprint(b.queries[i]); qa != qb {
			t.Fatalf("query %d differs: %s vs %s", i, qa, qb)
		}
	}
	if len(a.records) < 300 {
		t.Errorf("got %d records, want at least 300", len(a.records))
	}
}

// quality is the outcome of scoring every query against its blocked
// candidates.
type quality struct {
	truePairs, pairs, blockedOut                 int
	certainTP, certainFP, probableTP, probableFP int // probable counts certain+probable
	possibleTP, possibleFP                       int // possible counts all three grades
	identifierTP                                 int // certain by a shared identifier
}

func (q quality) precision(tp, fp int) float64 {
	if tp+fp == 0 {
		return 1
	}
	return float64(tp) / float64(tp+fp)
}

func (q quality) recall(tp int) float64 { return float64(tp) / float64(q.truePairs) }

// measure scores every query of s against its candidates (cands[i] for
// query i) and grades them as Rank does; a true record missing from the
// candidates counts as not found.
func measure(s synthSet, cands [][]int, onPair func(qi, ci int, m Match)) quality {
	recs := make([]prepared, len(s.records))
	for i, p := range s.records {
		recs[i] = prepare(p)
	}
	var q quality
	for qi, query := range s.queries {
		pq := prepare(query)
		if s.truth[qi] >= 0 {
			q.truePairs++
		}
		found := false
		matches := make([]Match, len(cands[qi]))
		for i, ci := range cands[qi] {
			matches[i] = scorePrepared(&pq, &recs[ci])
		}
		q.pairs += len(matches)
		demoteAmbiguous(len(matches), func(i int) *Match { return &matches[i] })
		for i, ci := range cands[qi] {
			m := matches[i]
			match := s.truth[qi] == ci
			found = found || match
			if onPair != nil {
				onPair(qi, ci, m)
			}
			switch m.Grade {
			case Certain:
				q.certainTP, q.certainFP = q.certainTP+b2i(match), q.certainFP+b2i(!match)
				q.identifierTP += b2i(match && isIdentifierMatch(&m))
				fallthrough
			case Probable:
				q.probableTP, q.probableFP = q.probableTP+b2i(match), q.probableFP+b2i(!match)
				fallthrough
			case Possible:
				q.possibleTP, q.possibleFP = q.possibleTP+b2i(match), q.possibleFP+b2i(!match)
			}
		}
		if s.truth[qi] >= 0 && !found {
			q.blockedOut++
		}
	}
	return q
}
