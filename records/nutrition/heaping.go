package nutrition

import (
	"cmp"
	"math"
	"slices"
)

// Variables reviewed by Heaping.
const (
	HeapWeight = "weight_kg" // heaped when the last recorded digit (0.1 or 0.01 kg) is 0 or 5
	HeapLength = "length_cm" // heaped when the last recorded digit (0.1 cm) is 0 or 5
	HeapMUAC   = "muac_mm"   // heaped when the mm digit is 0 or 5
)

// A HeapingWarning says that one measurer's values of one variable at one
// site end in 0 or 5 too often (§6 terminal-digit heaping). By chance the
// share is about 20 %.
type HeapingWarning struct {
	Site      string  `json:"site"`
	Measurer  string  `json:"measurer"` // "" when not recorded
	Variable  string  `json:"variable"` // HeapWeight, HeapLength or HeapMUAC
	Records   int     `json:"records"`  // values reviewed
	Heaped    int     `json:"heaped"`   // values ending in 0 or 5
	Share     float64 `json:"share"`    // Heaped / Records, 4 decimals
	Threshold float64 `json:"threshold"`
}

// Heaping reviews the terminal digits of the measured values in as (§6: a
// nightly per-measurer review, not a per-record rule): for each site,
// measurer and variable (weight and length/height by their last recorded
// decimal, MUAC by its mm digit) it warns when more than rs.DataQuality.HeapingShareGT of
// the values end in 0 or 5, over at least rs.DataQuality.HeapingMinRecords
// values. The caller picks the assessments (e.g. the last 30 days of a
// country). Warnings are sorted by site, measurer and variable.
func Heaping(as []Assessment, rs *RuleSet) []HeapingWarning {
	type key struct{ site, measurer, variable string }
	type count struct{ n, heaped int }
	counts := map[key]*count{}
	add := func(a *Assessment, variable string, heaped bool) {
		k := key{a.Site, a.Measurer, variable}
		c := counts[k]
		if c == nil {
			c = &count{}
			counts[k] = c
		}
		c.n++
		if heaped {
			c.heaped++
		}
	}
	// The terminal digit is the last recorded one: hundredths when the
	// value has them (weight may be kept to 0.01 kg), else tenths.
	tenths := func(v float64) bool {
		h := int64(math.Round(v * 100))
		if h%10 != 0 {
			return h%5 == 0
		}
		return (h/10)%5 == 0
	}
	for i := range as {
		a := &as[i]
		if a.WeightKg != nil {
			add(a, HeapWeight, tenths(*a.WeightKg))
		}
		if a.LengthCm != nil {
			add(a, HeapLength, tenths(*a.LengthCm))
		}
		if a.MUACmm != nil {
			add(a, HeapMUAC, *a.MUACmm%5 == 0)
		}
	}
	d := &rs.DataQuality
	var out []HeapingWarning
	for k, c := range counts {
		share := float64(c.heaped) / float64(c.n)
		if c.n < d.HeapingMinRecords || !(share > d.HeapingShareGT) {
			continue
		}
		out = append(out, HeapingWarning{Site: k.site, Measurer: k.measurer, Variable: k.variable,
			Records: c.n, Heaped: c.heaped, Share: math.Round(share*1e4) / 1e4, Threshold: d.HeapingShareGT})
	}
	slices.SortFunc(out, func(x, y HeapingWarning) int {
		return cmp.Or(cmp.Compare(x.Site, y.Site), cmp.Compare(x.Measurer, y.Measurer), cmp.Compare(x.Variable, y.Variable))
	})
	return out
}
