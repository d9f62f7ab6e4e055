package survey

import "math"

// tQuantile975 returns the 97.5% quantile of Student's t with df degrees of
// freedom (R's qt(0.975, df)), NaN for df <= 0. It solves
// P(T > t) = 0.025 by Newton's method on the upper tail, which the
// regularized incomplete beta function gives to about 1e-15.
func tQuantile975(df float64) float64 {
	if !(df > 0) {
		return math.NaN()
	}
	const tail = 0.025
	t := 1.959963984540054 // the normal quantile: the limit for large df
	if df < 30 {
		t = 2.5 // the quantile decreases with df: from 12.7 at 1 to 2.04 at 30
	}
	for range 100 {
		f := tUpper(t, df) - tail
		step := f / tDensity(t, df)
		next := t + step // the tail falls as t grows: dF/dt = -density
		if next <= 0 {
			next = t / 2
		}
		if math.Abs(next-t) <= 1e-15*t {
			return next
		}
		t = next
	}
	return t
}

// tUpper is P(T > t) for t >= 0.
func tUpper(t, df float64) float64 {
	x := df / (df + t*t)
	return 0.5 * regIncBeta(df/2, 0.5, x)
}

// tDensity is Student's t density at t.
func tDensity(t, df float64) float64 {
	lg1, _ := math.Lgamma((df + 1) / 2)
	lg2, _ := math.Lgamma(df / 2)
	return math.Exp(lg1 - lg2 - 0.5*math.Log(df*math.Pi) - (df+1)/2*math.Log1p(t*t/df))
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by its
// continued fraction (modified Lentz), using the symmetry
// I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction converges slowly.
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function.
func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m < 100000; m++ {
		fm := float64(m)
		m2 := 2 * fm
		num := fm * (b - fm) * x / ((a + m2 - 1) * (a + m2))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		num = -(a + fm) * (a + b + fm) * x / ((a + m2) * (a + m2 + 1))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return h
}
