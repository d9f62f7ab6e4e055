package survey

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"

	"contigo/growth"
)

// IndexQuality describes one z-score's distribution over the children of a
// survey, as WHO's and SMART's data quality reports do. Moments are
// unweighted, over the values that are not flagged (oedema excluded for the
// weight-based indices).
type IndexQuality struct {
	Valid    int     // z-scores neither missing nor flagged
	Flagged  int     // z-scores flagged implausible
	Missing  int     // children without a z-score (and not flagged)
	Mean, SD float64 // SD with n - 1
	Skewness float64 // m3 / m2^1.5 (0 for a normal distribution)
	Kurtosis float64 // m4 / m2² - 3, excess kurtosis (0 for a normal distribution)
}

// PctFlagged is the percentage of computed z-scores that are flagged.
func (q IndexQuality) PctFlagged() float64 {
	return 100 * float64(q.Flagged) / float64(q.Flagged+q.Valid)
}

// DigitPreference is the distribution of the last recorded digit (tenths)
// of a measurement.
type DigitPreference struct {
	N      int
	Counts [10]int
	// Score is SMART's digit preference score, 100·√(χ²/(9N)) against a
	// uniform distribution: 0 is perfect, above 20 is problematic.
	Score float64
}

// Quality is a survey's data-quality report.
type Quality struct {
	N                          int // children kept (as in Compute)
	Index                      [NumIndex]IndexQuality
	Males, Females, SexMissing int
	SexRatio                   float64 // males per female
	SexRatioP                  float64 // χ² test (1 df) of a 1:1 ratio
	AgeGroups                  [6]int  // by anthro's age groups, 0-5 to 48-59 months
	AgeMissing                 int     // no age, or 60 months and over
	AgeRatio                   float64 // SMART: children 6-29 over 30-59 months (about 0.85 expected)
	Weight, LenHei, MUAC       DigitPreference
	Warnings                   []string
}

// ComputeQuality prepares in as Compute does and returns its data-quality
// report.
func ComputeQuality(in *Input) (*Quality, error) {
	q := &Quality{}
	d, err := prepare(in, func(s string) { q.Warnings = append(q.Warnings, s) })
	if err != nil {
		return nil, err
	}
	if d.n == 0 {
		return nil, inputError(0, "no rows left to report on")
	}
	q.N = d.n
	var young, old int
	for i, c := range d.kept {
		switch d.sex[i] {
		case 0:
			q.Females++
		case 1:
			q.Males++
		default:
			q.SexMissing++
		}
		if g := d.age[i]; g >= 0 {
			q.AgeGroups[g]++
		} else {
			q.AgeMissing++
		}
		if c.M.AgeUnit != growth.AgeUnknown {
			months := c.M.Age
			if c.M.AgeUnit == growth.Days {
				months /= growth.DaysPerMonth
			}
			switch {
			case months >= 6 && months < 30:
				young++
			case months >= 30 && months < 60:
				old++
			}
		}
		q.Weight.add(c.M.Weight)
		q.LenHei.add(c.M.LenHei)
		q.MUAC.add(c.M.ArmC)
		sc, err := scores(c)
		if err != nil {
			return nil, err
		}
		for x := range NumIndex {
			s := sc[x]
			switch {
			case s.Flag && (s.OK || s.NonFinite):
				q.Index[x].Flagged++
			case !math.IsNaN(d.z[x][i]):
				q.Index[x].Valid++
			default:
				q.Index[x].Missing++
			}
		}
	}
	for x := range NumIndex {
		q.Index[x].moments(d.z[x])
	}
	q.SexRatio = float64(q.Males) / float64(q.Females)
	if n := q.Males + q.Females; n > 0 {
		diff := float64(q.Males - q.Females)
		q.SexRatioP = math.Erfc(math.Sqrt(diff * diff / float64(n) / 2))
	} else {
		q.SexRatioP = na
	}
	q.AgeRatio = float64(young) / float64(old)
	q.Weight.score()
	q.LenHei.score()
	q.MUAC.score()
	return q, nil
}

// moments sets Mean, SD, Skewness and Kurtosis from the non-NaN values of z.
func (q *IndexQuality) moments(z []float64) {
	var n, sum float64
	for _, v := range z {
		if !math.IsNaN(v) {
			n, sum = n+1, sum+v
		}
	}
	mean := sum / n
	var m2, m3, m4 float64
	for _, v := range z {
		if !math.IsNaN(v) {
			c := v - mean
			m2 += c * c
			m3 += c * c * c
			m4 += c * c * c * c
		}
	}
	q.Mean, q.SD = mean, math.Sqrt(m2/(n-1))
	m2, m3, m4 = m2/n, m3/n, m4/n
	q.Skewness = m3 / math.Pow(m2, 1.5)
	q.Kurtosis = m4/(m2*m2) - 3
}

// add counts the tenths digit of v, if present.
func (p *DigitPreference) add(v float64) {
	if !growth.Present(v) || v < 0 {
		return
	}
	p.N++
	p.Counts[int(math.Mod(math.Round(v*10), 10))]++
}

func (p *DigitPreference) score() {
	if p.N == 0 {
		p.Score = na
		return
	}
	e := float64(p.N) / 10
	var chi float64
	for _, c := range p.Counts {
		d := float64(c) - e
		chi += d * d / e
	}
	p.Score = 100 * math.Sqrt(chi/(9*float64(p.N)))
}

// Each calls fn for every statistic of the report, in the order WriteCSV
// writes them: indicator (HAZ, WAZ, BMIZ, WHZ, sex, age, weight, lenhei,
// armc or all), statistic name and value (NaN when it cannot be computed).
func (q *Quality) Each(fn func(indicator, statistic string, value float64)) {
	fn("all", "children", float64(q.N))
	for x := range NumIndex {
		iq, name := q.Index[x], x.String()+"Z"
		fn(name, "valid", float64(iq.Valid))
		fn(name, "flagged", float64(iq.Flagged))
		fn(name, "missing", float64(iq.Missing))
		fn(name, "pct_flagged", iq.PctFlagged())
		fn(name, "mean", iq.Mean)
		fn(name, "sd", iq.SD)
		fn(name, "skewness", iq.Skewness)
		fn(name, "kurtosis", iq.Kurtosis)
	}
	fn("sex", "male", float64(q.Males))
	fn("sex", "female", float64(q.Females))
	fn("sex", "missing", float64(q.SexMissing))
	fn("sex", "ratio_m_f", q.SexRatio)
	fn("sex", "ratio_p", q.SexRatioP)
	for g, n := range q.AgeGroups {
		fn("age", ageGroupLabels[g], float64(n))
	}
	fn("age", "missing_or_60mo_plus", float64(q.AgeMissing))
	fn("age", "ratio_6_29_30_59", q.AgeRatio)
	for _, m := range []struct {
		name string
		p    *DigitPreference
	}{{"weight", &q.Weight}, {"lenhei", &q.LenHei}, {"armc", &q.MUAC}} {
		fn(m.name, "n", float64(m.p.N))
		for dgt, c := range m.p.Counts {
			fn(m.name, "digit_"+strconv.Itoa(dgt), float64(c))
		}
		fn(m.name, "digit_preference_score", m.p.Score)
	}
}

// WriteCSV writes the report as CSV lines "indicator,statistic,value", NA
// where a value cannot be computed.
func (q *Quality) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("indicator,statistic,value\n")
	q.Each(func(ind, stat string, v float64) {
		s := "NA"
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s = strconv.FormatFloat(v, 'g', -1, 64)
		}
		fmt.Fprintf(bw, "%s,%s,%s\n", ind, stat, s)
	})
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write quality report: %w", err)
	}
	return nil
}
