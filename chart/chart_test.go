package chart

import (
	"encoding/xml"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"contigo/growth"
)

// svgDoc is the part of a chart the tests read back.
type svgDoc struct {
	Curves []struct {
		SD     string `xml:"data-sd,attr"`
		Points string `xml:"points,attr"`
	} `xml:"g>polyline"`
	Points []struct {
		Country string `xml:"data-country,attr"`
		CX      string `xml:"data-cx,attr"`
		CY      string `xml:"data-cy,attr"`
	} `xml:"g>g"`
}

// parse reads a rendered chart back; it fails the test unless it is XML.
func parse(t *testing.T, b []byte) svgDoc {
	t.Helper()
	var d svgDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		t.Fatalf("chart is not XML: %v", err)
	}
	pts := d.Points[:0]
	for _, p := range d.Points {
		if p.CX != "" { // not a legend marker
			pts = append(pts, p)
		}
	}
	d.Points = pts
	return d
}

// curveY returns the y of the polyline pts at x, interpolated between its
// vertices.
func curveY(t *testing.T, pts string, x float64) float64 {
	t.Helper()
	var px, py float64
	for i, p := range strings.Fields(pts) {
		xs, ys, _ := strings.Cut(p, ",")
		cx, _ := strconv.ParseFloat(xs, 64)
		cy, _ := strconv.ParseFloat(ys, 64)
		if i > 0 && px <= x && x <= cx {
			if cx == px {
				return cy
			}
			return py + (cy-py)*(x-px)/(cx-px)
		}
		px, py = cx, cy
	}
	t.Fatalf("x %v not on the curve", x)
	return 0
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestWHOValues checks the curves against WHO's published tables (boys'
// weight-for-age at 12 months, girls' length-for-age at 24 months, to the
// printed 0.1) and that a measurement on a curve scores that curve's z.
func TestWHOValues(t *testing.T) {
	who := []struct {
		table growth.ChartTable
		sex   growth.Sex
		x     float64
		want  [7]float64 // -3..+3 SD
	}{
		{growth.ChartWeightForAge, growth.Male, 365, [7]float64{6.9, 7.7, 8.6, 9.6, 10.8, 12.0, 13.3}},
		{growth.ChartLenHeiForAge, growth.Female, 730, [7]float64{76.7, 80.0, 83.2, 86.4, 89.6, 92.9, 96.1}},
	}
	for _, c := range who {
		for i, k := range SDs {
			v, ok := growth.ChartSD(c.table, c.sex, c.x, k)
			if !ok || math.Round(v*10)/10 != c.want[i] {
				t.Errorf("table %d sex %d x %v SD %v: %.3f, WHO prints %.1f", c.table, c.sex, c.x, k, v, c.want[i])
			}
		}
	}
	for _, k := range []float64{0, -2, -3} {
		w, _ := growth.ChartSD(growth.ChartWeightForLength, growth.Female, 80.3, k)
		m := growth.NewMeasurement()
		m.Sex, m.Age, m.AgeUnit, m.Position, m.Weight, m.LenHei = growth.Female, 400, growth.Days, growth.Lying, w, 80.3
		z, err := growth.Z(growth.WeightForLenHei, &m)
		if err != nil || !z.OK || math.Abs(z.Unrounded-k) > 1e-9 {
			t.Errorf("weight %v at 80.3 cm scores %+v, want z %v", w, z, k)
		}
	}
}

// TestPointsOnCurves is the golden test: a child exactly on the median, on
// -2 SD and on -3 SD is drawn on those curves, for every chart.
func TestPointsOnCurves(t *testing.T) {
	cases := []struct {
		table growth.ChartTable
		sex   growth.Sex
		xs    [3]float64
	}{
		{growth.ChartWeightForAge, growth.Male, [3]float64{200, 365, 600}},
		{growth.ChartLenHeiForAge, growth.Female, [3]float64{30, 1000, 1800}},
		{growth.ChartWeightForLength, growth.Female, [3]float64{55.5, 80.3, 101.7}},
		{growth.ChartWeightForHeight, growth.Male, [3]float64{70, 95.4, 118.2}},
		{growth.ChartBMIForAge, growth.Female, [3]float64{100, 500, 700}},
		{growth.ChartArmCForAge, growth.Male, [3]float64{120, 900, 1700}},
	}
	for _, c := range cases {
		sds := [3]float64{0, -2, -3}
		var ps []Point
		for i, k := range sds {
			y, ok := growth.ChartSD(c.table, c.sex, c.xs[i], k)
			if !ok {
				t.Fatalf("table %d: no SD at %v", c.table, c.xs[i])
			}
			ps = append(ps, Point{X: c.xs[i], Y: y, Date: time.Date(2025, 1, 1+i, 0, 0, 0, 0, time.UTC), Country: []string{"CO", "EC", "PE"}[i]})
		}
		b, err := SVG(Spec{Table: c.table, Sex: c.sex, Points: ps, AgeInMonths: true, Labels: Labels{Title: "t"}})
		if err != nil {
			t.Fatal(err)
		}
		d := parse(t, b)
		if len(d.Points) != 3 {
			t.Fatalf("table %d: %d points drawn, want 3", c.table, len(d.Points))
		}
		for i, k := range sds {
			p := d.Points[i]
			if want := []string{"CO", "EC", "PE"}[i]; p.Country != want {
				t.Errorf("table %d point %d country %s, want %s", c.table, i, p.Country, want)
			}
			var curve string
			for _, cv := range d.Curves {
				if cv.SD == strconv.FormatFloat(k, 'g', -1, 64) {
					curve = cv.Points
				}
			}
			if curve == "" {
				t.Fatalf("table %d: no %v SD curve", c.table, k)
			}
			cx, cy := num(t, p.CX), num(t, p.CY)
			if got := curveY(t, curve, cx); math.Abs(got-cy) > 0.6 {
				t.Errorf("table %d: point on %v SD at x %v drawn at y %v, curve at %v", c.table, k, c.xs[i], cy, got)
			}
		}
	}
}

// TestBlackAndWhite checks that nothing but greys is used and that every
// country gets its own marker and a legend entry.
func TestBlackAndWhite(t *testing.T) {
	ps := []Point{
		{X: 100, Y: 6, Date: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Country: "VE"},
		{X: 200, Y: 7.5, Date: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Country: "CO"},
		{X: 300, Y: 8, Date: time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC), Country: "EC"},
	}
	b, err := SVG(Spec{Table: growth.ChartWeightForAge, Sex: growth.Female, Points: ps, Labels: Labels{Title: "Peso <para> la edad", Classification: "z -1.2", Median: "Mediana", SD: "DE", Child: "Niña"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, col := range regexp.MustCompile(`#[0-9a-fA-F]{3,6}`).FindAllString(s, -1) {
		h := strings.TrimPrefix(col, "#")
		if len(h) == 3 && !(h[0] == h[1] && h[1] == h[2]) || len(h) == 6 && !(h[0:2] == h[2:4] && h[2:4] == h[4:6]) {
			t.Errorf("colour %s is not a grey", col)
		}
	}
	for _, want := range []string{"Peso &lt;para&gt; la edad", "z -1.2", "Mediana", "±2 DE", `class="legend-country" data-country="VE"`, `data-country="EC"`} {
		if !strings.Contains(s, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	d := parse(t, b)
	seen := map[string]string{}
	for _, p := range d.Points {
		seen[p.Country] = p.CX
	}
	if len(seen) != 3 {
		t.Errorf("countries drawn %v", seen)
	}
	if _, err := SVG(Spec{Table: growth.ChartWeightForAge}); err == nil {
		t.Error("unknown sex accepted")
	}
}

// FuzzSVG: any points give well-formed XML without NaN or Inf in it.
func FuzzSVG(f *testing.F) {
	f.Add(uint8(0), true, 365.0, 9.6, 700.0, 7.7)
	f.Add(uint8(2), false, 80.3, 10.0, -4.0, 1e300)
	f.Fuzz(func(t *testing.T, tab uint8, female bool, x1, y1, x2, y2 float64) {
		sex := growth.Male
		if female {
			sex = growth.Female
		}
		ps := []Point{{X: x1, Y: y1, Country: "CO"}, {X: x2, Y: y2, Country: "<EC>", Date: time.Unix(1e9, 0)}}
		b, err := SVG(Spec{Table: growth.ChartTable(tab % 6), Sex: sex, Points: ps, AgeInMonths: true, Labels: Labels{Title: "&"}})
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
			t.Fatalf("non-finite number in the chart")
		}
		parse(t, b)
	})
}
