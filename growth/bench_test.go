package growth

import (
	"testing"
)

var benchSink Score

// benchMeasurements returns a child of 400 days and one of 100 months, with
// every measurement plausible, and the indicators each can be scored on.
func benchMeasurements() (young, older Measurement) {
	young = measure(Female, 400, Days)
	young.Position, young.Weight, young.LenHei = Lying, 9.1, 74.5
	older = measure(Male, 100.3, Months)
	older.Position, older.Weight, older.LenHei = Standing, 25.2, 127.4
	return young, older
}

// BenchmarkZ times one z-score per indicator, input checks included.
func BenchmarkZ(b *testing.B) {
	young, older := benchMeasurements()
	for ind := range NumIndicators {
		m := young
		if ind >= HeightForAge5to19 {
			m = older
		}
		b.Run(ind.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := Z(ind, &m)
				if err != nil || !s.OK {
					b.Fatal(s, err)
				}
				benchSink = s
			}
		})
	}
}

// BenchmarkAssess times a full assessment: a child under 5 (8 z-scores), a
// child of 5 to 10 years (3), and the 500 rows of the anthro reference sample
// in turn (a mix of ordinary, boundary and odd input). ns/z is the time per
// z-score computed.
func BenchmarkAssess(b *testing.B) {
	young, older := benchMeasurements()
	for _, bb := range []struct {
		name string
		ms   []Measurement
	}{
		{"0to5", []Measurement{young}},
		{"5to19", []Measurement{older}},
		{"reference", referenceMeasurements(b)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			scored := 0
			for i := range bb.ms {
				r, err := Assess(&bb.ms[i])
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range r.Scores {
					if s.OK || s.NonFinite {
						scored++
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r, err := Assess(&bb.ms[i])
				if err != nil {
					b.Fatal(err)
				}
				benchSink = r.Scores[0]
				if i++; i == len(bb.ms) {
					i = 0
				}
			}
			perAssess := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perAssess*float64(len(bb.ms))/float64(scored), "ns/z")
		})
	}
}

// referenceMeasurements returns the inputs of testdata/reference-sample.tsv.
func referenceMeasurements(tb testing.TB) []Measurement {
	var ms []Measurement
	for _, row := range tsvRows(tb, "testdata/reference-sample.tsv") {
		m := NewMeasurement()
		m.Sex = parseSex(tb, row["sex"])
		if row["age_days"] != "NA" {
			m.Age, m.AgeUnit = num(tb, row["age_days"]), Days
		}
		m.Position = parsePosition(tb, row["measure"])
		m.Oedema = row["oedema"] == "y"
		m.Weight = num(tb, row["weight_kg"])
		m.LenHei = num(tb, row["lenhei_cm"])
		m.HeadC = num(tb, row["headc_cm"])
		m.ArmC = num(tb, row["armc_cm"])
		m.TriSkin = num(tb, row["triskin_mm"])
		m.SubSkin = num(tb, row["subskin_mm"])
		ms = append(ms, m)
	}
	return ms
}

// TestNoAllocs checks that Assess and Z allocate nothing, on every reference
// row.
func TestNoAllocs(t *testing.T) {
	ms := referenceMeasurements(t)
	young, older := benchMeasurements()
	ms = append(ms, young, older)
	i := 0
	allocs := testing.AllocsPerRun(len(ms), func() {
		m := &ms[i%len(ms)]
		r, _ := Assess(m)
		benchSink = r.Scores[0]
		benchSink, _ = Z(Indicator(i%int(NumIndicators)), m)
		i++
	})
	if allocs != 0 {
		t.Errorf("got %v allocations per Assess and Z, want 0", allocs)
	}
}
