package federation

import (
	"cmp"
	"math"
	"slices"
)

// Ranked is one candidate of a $match answer.
type Ranked struct {
	Candidate Person
	Match
}

// Rank scores every candidate against query and returns those graded
// possible or better, best first (ties keep the candidates' order).
//
// A candidate made certain by the agreement of every field, without a
// shared identifier, is demoted to probable when another candidate is
// probable or better: the usual reason is a twin whose record lost its
// second given name, and a health worker must choose, not the matcher.
// Identifier matches stay certain. Rank the candidates of one country at a
// time: the same child legitimately has a record in each country.
func Rank(query Person, candidates []Person) []Ranked {
	q := prepare(query)
	out := make([]Ranked, 0, len(candidates))
	for _, c := range candidates {
		pc := prepare(c)
		if m := scorePrepared(&q, &pc); m.Grade != "" {
			out = append(out, Ranked{Candidate: c, Match: m})
		}
	}
	slices.SortStableFunc(out, func(a, b Ranked) int { return cmp.Compare(b.Weight, a.Weight) })
	demoteAmbiguous(len(out), func(i int) *Match { return &out[i].Match })
	return out
}

// secondMargin is how much weaker (in log2 likelihood ratio) than the
// best candidate of a country another must be to lose its grade probable:
// 2^6 = 64 times less likely to be the person.
const secondMargin = 6.0

// demoteAmbiguous applies Rank's rules to n matches: one person has one
// record in a country, so a candidate far weaker than the best (by
// secondMargin) is at most possible (rule "second": usually a sibling of
// the person found); and when two or more remain probable or better, none
// is certain without an identifier (rule "ambiguous").
func demoteAmbiguous(n int, at func(int) *Match) {
	best := math.Inf(-1)
	for i := range n {
		best = max(best, at(i).Weight)
	}
	for i := range n {
		if m := at(i); m.Grade == Probable || m.Grade == Certain {
			if m.Weight < best-secondMargin && !isIdentifierMatch(m) {
				m.Grade = Possible
				m.Evidence = append(m.Evidence, Evidence{Field: "rule", Level: "second"})
				m.Reasons = append(m.Reasons, "rule:second")
			}
		}
	}
	strong := 0
	for i := range n {
		if g := at(i).Grade; g == Certain || g == Probable {
			strong++
		}
	}
	if strong < 2 {
		return
	}
	for i := range n {
		if m := at(i); m.Grade == Certain && !isIdentifierMatch(m) {
			m.Grade = Probable
			m.Evidence = append(m.Evidence, Evidence{Field: "rule", Level: "ambiguous"})
			m.Reasons = append(m.Reasons, "rule:ambiguous")
		}
	}
}

func isIdentifierMatch(m *Match) bool {
	return len(m.Reasons) > 0 && m.Reasons[0] == "identifier"
}
