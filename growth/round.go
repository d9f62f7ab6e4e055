package growth

import "math"

// Round2 rounds x to 2 decimals exactly as R 4.x's round(x, 2) does
// (fround in R's src/nmath/fround.c):
//
//	x10 = 100*|x|,  lo = floor(x10)/100,  hi = ceil(x10)/100
//	result = sign(x) * (whichever of lo, hi is nearer |x| in float64;
//	                    on a tie, hi when floor(x10) is odd)
//
// Values so large that 2 decimals exceed double precision (|x| >= 2^43) are
// returned unchanged, as are 0, NaN and ±Inf.
func Round2(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	sgn := 1.0
	if x < 0 {
		sgn, x = -1, -x
	}
	// R returns x unchanged when log10(2)*(0.5 + logb(x)) + digits > DBL_DIG
	// (15): for 2 digits, when x >= 2^43.
	if x >= 0x1p43 {
		return sgn * x
	}
	x10 := 100 * x
	if x < 1e6 {
		// Far from a tie R's comparison below picks the nearer candidate,
		// so skip it: the errors in x10 (< 2e-8) and in the candidates
		// (< 1e-9) cannot cross a margin of 1e-4. Truncation is floor here.
		i10 := float64(int64(x10))
		switch f := x10 - i10; {
		case f < 0.4999:
			return sgn * (i10 / 100)
		case f > 0.5001:
			return sgn * ((i10 + 1) / 100)
		}
	}
	i10 := math.Floor(x10)
	xd := i10 / 100
	xu := math.Ceil(x10) / 100
	du, dd := xu-x, x-xd
	if du < dd || du == dd && int64(i10)&1 == 1 {
		return sgn * xu
	}
	return sgn * xd
}
