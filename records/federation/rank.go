package federation

import (
	"cmp"
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

// demoteAmbiguous applies Rank's ambiguity rule to n matches.
func demoteAmbiguous(n int, at func(int) *Match) {
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
			m.Reasons = append(m.Reasons, "ambiguous")
		}
	}
}

func isIdentifierMatch(m *Match) bool {
	return len(m.Reasons) > 0 && m.Reasons[0] == "identifier"
}
