package survey

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestQualityReference checks the report on the shared sample against what
// its README states (flag counts, one missing sex) and against anthro's
// simple-method means and SDs of the same z-scores.
func TestQualityReference(t *testing.T) {
	in := readInput(t, "testdata/prevalence-sample-nodesign-input.tsv", Columns{})
	q, err := ComputeQuality(in)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	for x, want := range [NumIndex]int{HA: 10, WA: 15, BMI: 30, WH: 26} {
		iq := q.Index[x]
		if iq.Flagged != want {
			t.Errorf("%s flagged %d, want %d", Index(x), iq.Flagged, want)
		}
		if r := column(t, tab, "All", Index(x).String()+"_r"); math.Abs(iq.Mean-r) > 1e-12 {
			t.Errorf("%s mean %v, anthro %v", Index(x), iq.Mean, r)
		}
		if sd := column(t, tab, "All", Index(x).String()+"_stdev"); math.Abs(iq.SD-sd) > 1e-12 {
			t.Errorf("%s SD %v, anthro %v", Index(x), iq.SD, sd)
		}
		if math.Abs(iq.Skewness) > 1 || math.Abs(iq.Kurtosis) > 2 {
			t.Errorf("%s skewness %v, kurtosis %v: not a plausible survey", Index(x), iq.Skewness, iq.Kurtosis)
		}
	}
	if q.SexMissing != 1 || q.Males+q.Females+q.SexMissing != q.N {
		t.Errorf("sex %d/%d/%d of %d", q.Males, q.Females, q.SexMissing, q.N)
	}
	// Weights and lengths are recorded to 0.1: every digit occurs.
	for d, c := range q.Weight.Counts {
		if c == 0 {
			t.Errorf("weight digit %d never occurs", d)
		}
	}
	var b bytes.Buffer
	if err := q.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\nHAZ,flagged,10\n") || !strings.Contains(b.String(), "\nweight,digit_preference_score,") {
		t.Errorf("report:\n%s", b.String())
	}
}

// TestDigitPreference: all values on .0 give the maximum score 100, a
// uniform spread 0.
func TestDigitPreference(t *testing.T) {
	var heaped, uniform DigitPreference
	for i := range 100 {
		heaped.add(70 + float64(i%5))
		uniform.add(70 + float64(i%10)/10)
	}
	heaped.score()
	uniform.score()
	if math.Abs(heaped.Score-100) > 1e-9 || uniform.Score != 0 {
		t.Errorf("scores %v, %v; want 100, 0", heaped.Score, uniform.Score)
	}
}
