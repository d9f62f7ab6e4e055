package survey

import (
	"math"
	"testing"
)

// TestTQuantile975 compares with closed forms (df 1, 2, 4) and R's
// qt(0.975, 27) from PREVALENCE.md §4.6; the reference tests check others.
func TestTQuantile975(t *testing.T) {
	for _, c := range []struct{ df, want float64 }{
		{1, math.Tan(math.Pi * 0.475)},
		{2, 0.95 / math.Sqrt(2*0.975*0.025)},
		{4, math.Sqrt(4/math.Sqrt(4*0.975*0.025)*math.Cos(math.Acos(math.Sqrt(4*0.975*0.025))/3) - 4)},
		{27, 2.051830516480285},
	} {
		got := tQuantile975(c.df)
		if math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("tQuantile975(%v) = %.16g, want %.16g", c.df, got, c.want)
		}
	}
}
