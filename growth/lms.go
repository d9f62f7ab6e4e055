package growth

import "math"

// Every product that feeds a sum below is wrapped in float64(...): the Go
// spec lets a compiler fuse x*y + z into one FMA on some architectures, which
// would round differently from R.

// rpow returns x^y as R evaluates it (R_POW and R_pow in R's
// src/main/arithmetic.c): x*x for y == 2, 1 for x == 1 or y == 0, 0 or +Inf
// for x == 0, and otherwise the C library's pow: here pow (pow.go), which
// rounds as glibc's does, where math.Pow is often one unit in the last place
// away. The non-finite cases follow R_pow.
func rpow(x, y float64) float64 {
	if y == 2 {
		return x * x
	}
	if x == 1 || y == 0 {
		return 1
	}
	if x == 0 {
		switch {
		case y > 0:
			return 0
		case y < 0:
			return math.Inf(1)
		}
		return y // NaN
	}
	if !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		switch {
		case y == 1:
			return x // as pow(x, 1) is
		case x > 0:
			return pow(x, y)
		}
		return math.Pow(x, y) // NaN for x < 0 unless y is an integer, as in C
	}
	return rpowInf(x, y)
}

// rpowInf is R_pow for an infinite x or y (and neither NaN).
func rpowInf(x, y float64) float64 {
	if math.IsNaN(x) || math.IsNaN(y) {
		return x + y
	}
	if math.IsInf(x, 0) {
		if x > 0 {
			if y < 0 {
				return 0
			}
			return math.Inf(1)
		}
		if !math.IsInf(y, 0) && y == math.Floor(y) {
			if y < 0 {
				return 0
			}
			if math.Mod(y, 2) != 0 {
				return x
			}
			return -x
		}
	}
	if math.IsInf(y, 0) && x >= 0 {
		if y > 0 {
			if x >= 1 {
				return math.Inf(1)
			}
			return 0
		}
		if x < 1 {
			return math.Inf(1)
		}
		return 0
	}
	return math.NaN()
}

// zLMS returns the z-score of measurement y by the LMS method:
//
//	z = ((y/M)^L - 1) / (S*L)
//
// in the general form anthro's compute_zscore always uses, even where L = 1.
//
// Source: WHO Child Growth Standards, Methods and development (2006), ch. 7;
// anthro R/z-score-helper.R.
func zLMS(y float64, p lms) float64 {
	return (rpow(y/p.m, p.l) - 1) / (p.s * p.l)
}

// zRestricted returns the z-score of y by the restricted LMS method, linear in
// y beyond ±3 SD with the width of the 2-to-3 SD band as the unit:
//
//	SD(k) = M * (1 + L*S*k)^(1/L)
//	z     = 3 + (y - SD(3)) / (SD(3) - SD(2))       when zLMS(y) > 3
//	z     = -3 + (y - SD(-3)) / (SD(-2) - SD(-3))   when zLMS(y) < -3
//	z     = zLMS(y)                                  otherwise
//
// Source: WHO Child Growth Standards, Methods and development (2006), ch. 7;
// anthro compute_zscore_adjusted.
func zRestricted(y float64, p lms) float64 {
	z := zLMS(y, p)
	switch {
	case z > 3:
		sd3 := sdAt(p, 3)
		return 3 + (y-sd3)/(sd3-sdAt(p, 2))
	case z < -3:
		sd3 := sdAt(p, -3)
		return -3 + (y-sd3)/(sdAt(p, -2)-sd3)
	}
	return z
}

// sdAt returns the measurement at k standard deviations, M*(1+L*S*k)^(1/L).
func sdAt(p lms, k float64) float64 {
	return p.m * rpow(1+float64(p.l*p.s*k), 1/p.l)
}

// lerp returns a + f*(b-a) if f > 0 and a otherwise, as anthro and anthroplus
// interpolate L, M and S.
func lerp(a, b lms, f float64) lms {
	if !(f > 0) {
		return a
	}
	return lms{
		l: a.l + float64(f*(b.l-a.l)),
		m: a.m + float64(f*(b.m-a.m)),
		s: a.s + float64(f*(b.s-a.s)),
	}
}
