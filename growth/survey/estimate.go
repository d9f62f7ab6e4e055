package survey

import "math"

// na is a missing estimate.
var na = math.NaN()

// subset returns the rows of g where y is not NA, and the sum of their
// weights.
func (d *data) subset(rows []int, y []float64, buf []int) ([]int, float64) {
	s := buf[:0]
	var w float64
	for _, i := range rows {
		if !math.IsNaN(y[i]) {
			s = append(s, i)
			w += d.w[i]
		}
	}
	return s, w
}

// wmean returns Σ w y / W over s.
func (d *data) wmean(s []int, y []float64, W float64) float64 {
	var sum float64
	for _, i := range s {
		sum += d.w[i] * y[i]
	}
	return sum / W
}

// se returns the linearised standard error of the weighted mean r of y over
// s (PREVALENCE.md §4.3; for the simple and hybrid methods the same formula
// with every row its own PSU).
func (d *data) se(s []int, y []float64, r, W float64) float64 {
	return math.Sqrt(d.design.variance(s, func(i int) float64 { return d.w[i] * (y[i] - r) / W }))
}

// meanT is the t quantile of the z-score mean intervals.
func (d *data) meanT() float64 {
	if d.method == design {
		return tQuantile975(float64(d.degf))
	}
	return tQuantile975(float64(d.n - 1))
}

// propT is the t quantile of the prevalence intervals.
func (d *data) propT() float64 {
	if d.method == simple {
		return tQuantile975(float64(d.n - 1))
	}
	return tQuantile975(float64(d.degf))
}

// zSummary is X_r, X_se, X_ll, X_ul, X_stdev of one z-score over one group.
func (d *data) zSummary(rows []int, y []float64, t float64, buf []int) [5]float64 {
	s, W := d.subset(rows, y, buf)
	n := len(s)
	if n == 0 {
		return [5]float64{na, na, na, na, na}
	}
	r := d.wmean(s, y, W)
	se := d.se(s, y, r, W)
	var ss float64 // Σ w (y - r)²
	for _, i := range s {
		c := y[i] - r
		ss += d.w[i] * c * c
	}
	sd := na
	switch d.method {
	case simple:
		if n > 1 {
			sd = math.Sqrt(ss / float64(n-1))
		}
	case hybrid:
		sd = math.Sqrt(float64(n) / float64(n-1) * ss / W)
	case design:
		// survey 4.1.1's svyvar counts the group's rows of non-zero
		// weight before dropping missing values.
		m := 0
		for _, i := range rows {
			if d.w[i] != 0 {
				m++
			}
		}
		if m > 1 {
			sd = math.Sqrt(float64(m) / float64(m-1) * ss / W)
		}
	}
	return [5]float64{r, se, r - t*se, r + t*se, sd}
}

// prevalence is <X><cut>_r, _se, _ll, _ul for a 0/1 (or NaN) y over one
// group, in percent, with anthro's logit interval (PREVALENCE.md §4.5).
func (d *data) prevalence(rows []int, y []float64, t float64, buf []int) [4]float64 {
	s, W := d.subset(rows, y, buf)
	if len(s) == 0 {
		return [4]float64{na, na, na, na}
	}
	p := d.wmean(s, y, W)
	sep := d.se(s, y, p, W)
	r, se := 100*p, 100*sep
	switch {
	case math.IsNaN(p):
		return [4]float64{na, na, na, na}
	case p == 0:
		return [4]float64{0, 0, 0, 0}
	case p == 1:
		return [4]float64{r, se, 100, 100}
	case r == 1 && d.method != simple:
		// anthro's test for a proportion of 1 runs after the scaling to
		// percent, so exactly 1% gets the interval [1, 1].
		return [4]float64{r, se, 1, 1}
	}
	beta := math.Log(p / (1 - p))
	seb := sep / (p * (1 - p))
	return [4]float64{r, se, 100 * expit(beta-t*seb), 100 * expit(beta+t*seb)}
}

func expit(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// counts returns _pop and _unwpop: the weight sum and number of the group's
// rows where y is not NA.
func (d *data) counts(rows []int, y []float64) (pop, unwpop float64) {
	for _, i := range rows {
		if !math.IsNaN(y[i]) {
			pop += d.w[i]
			unwpop++
		}
	}
	return pop, unwpop
}
