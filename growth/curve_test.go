package growth

import (
	"math"
	"testing"
)

// TestChartSD: a measurement at ChartSD(k) scores k (the curves and the
// z-scores use the same rows), and out-of-range input is refused.
func TestChartSD(t *testing.T) {
	for tab := ChartWeightForAge; tab < numChartTables; tab++ {
		first, last := ChartRange(tab)
		if !(first < last) {
			t.Fatalf("table %d range %v..%v", tab, first, last)
		}
		for _, sex := range []Sex{Male, Female} {
			for _, k := range []float64{-3, -2, 0, 2, 3} {
				if _, ok := ChartSD(tab, sex, first, k); !ok {
					t.Errorf("table %d: no value at the first x", tab)
				}
				if _, ok := ChartSD(tab, sex, last, k); !ok {
					t.Errorf("table %d: no value at the last x", tab)
				}
			}
		}
		for _, x := range []float64{first - 1, last + 1, math.NaN(), math.Inf(1), -5} {
			if _, ok := ChartSD(tab, Female, x, 0); ok {
				t.Errorf("table %d: value at x %v", tab, x)
			}
		}
		if _, ok := ChartSD(tab, SexUnknown, first, 0); ok {
			t.Errorf("table %d: value for an unknown sex", tab)
		}
	}
	if a, b := ChartRange(numChartTables); a != 0 || b != 0 {
		t.Error("range of an unknown table")
	}
	// Weight-for-age and MUAC-for-age at a few ages: z of the SD value is k.
	for _, c := range []struct {
		tab ChartTable
		ind Indicator
		set func(m *Measurement, v float64)
	}{
		{ChartWeightForAge, WeightForAge, func(m *Measurement, v float64) { m.Weight = v }},
		{ChartArmCForAge, ArmCForAge, func(m *Measurement, v float64) { m.ArmC = v }},
		{ChartLenHeiForAge, LenHeiForAge, func(m *Measurement, v float64) { m.LenHei, m.Position = v, Lying }},
	} {
		for _, days := range []float64{100, 400, 700} {
			for _, k := range []float64{-3, -2, 0, 1} {
				v, _ := ChartSD(c.tab, Male, days, k)
				m := NewMeasurement()
				m.Sex, m.Age, m.AgeUnit = Male, days, Days
				c.set(&m, v)
				z, err := Z(c.ind, &m)
				if err != nil || !z.OK || math.Abs(z.Unrounded-k) > 1e-9 {
					t.Errorf("table %d day %v SD %v: z %+v", c.tab, days, k, z)
				}
			}
		}
	}
}
