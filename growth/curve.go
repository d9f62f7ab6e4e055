package growth

import "math"

// A ChartTable names one WHO growth standard (0-5 years) as a chart draws
// it: against age in days, or against length or height in cm.
type ChartTable uint8

// ChartTable values.
const (
	ChartWeightForAge    ChartTable = iota // weight (kg) by age (days), 0-1856 days
	ChartLenHeiForAge                      // length/height (cm) by age (days)
	ChartWeightForLength                   // weight (kg) by recumbent length (cm), 45-110 cm
	ChartWeightForHeight                   // weight (kg) by standing height (cm), 65-120 cm
	ChartBMIForAge                         // BMI (kg/m²) by age (days)
	ChartArmCForAge                        // MUAC (cm) by age (days), from 91 days
	numChartTables
)

// chartTables are the tables behind each ChartTable, with the key scale
// (1 for days, 10 for tenths of a cm).
var chartTables = [numChartTables]struct {
	t     *table
	scale float64
}{
	{tabWeightAge, 1}, {tabLenHeiAge, 1}, {tabWFL, 10}, {tabWFH, 10}, {tabBMIAge, 1}, {tabArmCAge, 1},
}

// ChartRange returns the first and last x of table t: days for the
// age-based tables, cm for weight-for-length and weight-for-height. It
// returns 0, 0 for a ChartTable out of range.
func ChartRange(t ChartTable) (first, last float64) {
	if t >= numChartTables {
		return 0, 0
	}
	c := chartTables[t]
	return float64(c.t.first) / c.scale, float64(c.t.last) / c.scale
}

// ChartSD returns the measurement at k standard deviations,
// M*(1+L*S*k)^(1/L), for sex at x (age in days, rounded to the day as the
// z-scores are; or length/height in cm, interpolated between 0.1 cm rows
// as anthro interpolates). A measurement equal to ChartSD(t, s, x, k) for k
// in -3..3 has a z-score of k for that indicator. ok is false for an
// unknown sex or an x outside the table.
func ChartSD(t ChartTable, sex Sex, x, k float64) (v float64, ok bool) {
	if t >= numChartTables || sex != Male && sex != Female || !Present(x) || x < 0 || !Present(k) {
		return 0, false
	}
	c := chartTables[t]
	si := int(sex) - 1
	if c.scale == 1 {
		r, found := c.t.row(si, roundHalfUp(x))
		if !found {
			return 0, false
		}
		return sdAt(r, k), true
	}
	x10 := x * 10
	lo, found := c.t.row(si, int(math.Floor(x10)))
	if !found {
		return 0, false
	}
	if frac := x10 - math.Floor(x10); frac > 1e-9 {
		up, found := c.t.row(si, int(math.Floor(x10))+1)
		if !found {
			return 0, false
		}
		lo = lerp(lo, up, frac)
	}
	return sdAt(lo, k), true
}
