package federation

import (
	"math"
	"slices"
	"strings"
)

// EstimateU returns the share of each agreement level among vectors, the
// comparisons of random pairs of records: almost all of them are two
// different people, so this is u, P(level | non-match), without labels.
// Counts are smoothed by half a pair. This is how Splink and the
// Fellegi-Sunter literature estimate u (Herzog, Scheuren and Winkler,
// below, ch. 8).
func EstimateU(vectors [][]string) map[string]float64 {
	count, field := map[string]float64{}, map[string]float64{}
	levels := map[string][]string{}
	for _, v := range vectors {
		for _, l := range v {
			f := fieldOfLevel(l)
			count[l]++
			field[f]++
			if !slices.Contains(levels[f], l) {
				levels[f] = append(levels[f], l)
			}
		}
	}
	u := map[string]float64{}
	for l, n := range count {
		f := fieldOfLevel(l)
		u[l] = (n + 0.5) / (field[f] + 0.5*float64(len(levels[f])))
	}
	return u
}

func fieldOfLevel(l string) string { f, _, _ := strings.Cut(l, ":"); return f }

// Estimate fits the Fellegi-Sunter model to unlabelled comparison vectors
// by expectation-maximisation and returns the share of matches (prior) and
// the m and u probability of each agreement level. With fixedU, u is taken
// from it (EstimateU) and only p and m are fitted, as Splink does: EM then
// cannot make the "match" class out of siblings and namesakes, who agree
// on much but are not one person. A level that disagrees (disagree
// reports it) is kept from counting for a match: its m is at most its u;
// any other level from counting against one: its m is at least its u
// (Winkler's constrained EM; without it, EM on blocked pairs, where
// siblings and namesakes abound, calls some disagreements evidence for a
// match). Each vector holds the
// levels ("field:level") of the fields present on both sides of one
// candidate pair, at most one per field; a missing field is left out, as
// missing at random. Fields are taken as independent given the match
// status:
//
//	E: g_i  = p*Π m(l) / (p*Π m(l) + (1-p)*Π u(l))   over the levels l of pair i
//	M: p    = Σ g_i / n
//	   m(l) = Σ g_i [l in i] / Σ g_i [field of l in i]
//	   u(l) = the same with 1-g_i
//
// Counts are smoothed by half a pair so that no level gets probability 0.
// A pair starts as a match (the first E step's guess) when three or more
// of its levels are ones seed names.
// Source: T. N. Herzog, F. J. Scheuren, W. E. Winkler, "Data Quality and
// Record Linkage Techniques" (2007), ch. 9.
func Estimate(vectors [][]string, fixedU map[string]float64, disagree, seed func(string) bool, iterations int) (prior float64, m, u map[string]float64) {
	fieldOf := fieldOfLevel
	var levels []string
	for _, v := range vectors {
		for _, l := range v {
			if !slices.Contains(levels, l) {
				levels = append(levels, l)
			}
		}
	}
	slices.Sort(levels)
	g := make([]float64, len(vectors))
	for i, v := range vectors {
		n := 0
		for _, l := range v {
			n += b2i(seed(l))
		}
		g[i] = 0.02
		if n >= 3 {
			g[i] = 0.98
		}
	}
	for range iterations {
		// M step.
		cm, cu := map[string]float64{}, map[string]float64{}
		fm, fu := map[string]float64{}, map[string]float64{}
		sum := 0.0
		for i, v := range vectors {
			sum += g[i]
			for _, l := range v {
				cm[l] += g[i]
				cu[l] += 1 - g[i]
				fm[fieldOf(l)] += g[i]
				fu[fieldOf(l)] += 1 - g[i]
			}
		}
		prior = min(max(sum/float64(len(vectors)), 1e-6), 1-1e-6)
		m, u = map[string]float64{}, map[string]float64{}
		for _, l := range levels {
			n := float64(countLevels(levels, fieldOf(l)))
			m[l] = (cm[l] + 0.5) / (fm[fieldOf(l)] + 0.5*n)
			u[l] = (cu[l] + 0.5) / (fu[fieldOf(l)] + 0.5*n)
			if x, ok := fixedU[l]; ok {
				u[l] = x
			}
			if disagree(l) {
				m[l] = min(m[l], u[l])
			} else {
				m[l] = max(m[l], u[l])
			}
		}
		// E step.
		lp := math.Log(prior / (1 - prior))
		for i, v := range vectors {
			x := lp
			for _, l := range v {
				x += math.Log(m[l] / u[l])
			}
			g[i] = 1 / (1 + math.Exp(-x))
		}
	}
	return prior, m, u
}

func countLevels(levels []string, field string) int {
	n := 0
	for _, l := range levels {
		if strings.HasPrefix(l, field+":") {
			n++
		}
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
