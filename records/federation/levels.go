package federation

import (
	"slices"
	"strings"
)

// EvidenceLevels returns every "field:level" an Evidence can carry, sorted:
// the agreement levels the weights know (weights.json), the surname typo
// level with one surname paired (which carries no weight), and the rules
// ("rule:twins", "rule:siblings", "rule:mother", "rule:second",
// "rule:ambiguous"). Whoever shows match evidence to a person (the web
// app's message catalogues) covers this list.
func EvidenceLevels() []string {
	out := []string{"family:typo1", "rule:" + ruleTwins, "rule:" + ruleSiblings, "rule:" + ruleMother, "rule:second", "rule:ambiguous"}
	for _, m := range []map[string]float64{weights.M, weights.U} {
		for l := range m {
			if strings.Contains(l, ":") {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
