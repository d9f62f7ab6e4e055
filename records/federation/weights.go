package federation

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
)

// Weights are the parameters of the matcher: the m and u probability of
// each agreement level ("field:level"), the share of true matches among
// candidate pairs, and the grade thresholds on the summed weight.
// weights.json holds the values estimated by Estimate on the tuning split
// of the labelled set (TestEstimateWeights -update rewrites it).
type Weights struct {
	Prior    float64            `json:"prior"`    // p, the share of matches among the pairs EM saw (born the same day)
	Slope    float64            `json:"slope"`    // a of Posterior, fitted on the tuning split's candidate pairs
	Offset   float64            `json:"offset"`   // b of Posterior
	M        map[string]float64 `json:"m"`        // P(level | match)
	U        map[string]float64 `json:"u"`        // P(level | non-match)
	Certain  float64            `json:"certain"`  // weight from which a candidate may be certain
	Probable float64            `json:"probable"` // weight from which a candidate is probable
	Possible float64            `json:"possible"` // weight from which a candidate is shown
	// Rules is the Score of a candidate a rule decides (ruleOf: twins,
	// siblings, mother): the share of true pairs among the tuning split's
	// candidate pairs that rule decided, smoothed by half a pair. Its
	// weight says little: the rules exist because the weights take
	// siblings for one person.
	Rules map[string]float64 `json:"rules"`
}

// Weight returns log2(m/u) of the agreement level "field:level"; 0 for a
// level never seen.
func (w *Weights) Weight(level string) float64 {
	m, u := w.M[level], w.U[level]
	if m == 0 || u == 0 {
		return 0
	}
	return math.Log2(m / u)
}

// Posterior returns the probability that a candidate with the summed
// weight is the person:
//
//	1 / (1 + e^-(a*weight + b))
//
// The weights are log likelihood ratios against random pairs, but
// candidates are not random (they share a surname or a birth date, and
// many are siblings), so a and b are fitted to the labelled candidate
// pairs of the tuning split (logistic calibration, J. Platt 1999).
func (w *Weights) Posterior(weight float64) float64 {
	return 1 / (1 + math.Exp(-(w.Slope*weight + w.Offset)))
}

//go:embed weights.json
var weightsJSON []byte

// weights are the matcher's parameters, read once from weights.json.
var weights = mustWeights(weightsJSON)

func mustWeights(b []byte) *Weights {
	var w Weights
	if err := json.Unmarshal(b, &w); err != nil || w.Slope <= 0 {
		panic(fmt.Sprintf("federation: bad weights.json: %v", err)) // a build-time file: a broken invariant
	}
	return &w
}
