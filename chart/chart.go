// Package chart draws WHO growth charts as SVG: the -3..+3 SD curves of one
// growth standard for a child's sex, the child's measurements as points
// joined in time order and marked by the country where each was taken, the
// current classification and a legend. Charts are black and white: curves
// differ by line style and carry their SD label, countries differ by marker
// shape, so a photocopy reads as well as a screen.
package chart

import (
	"fmt"
	"math"
	"slices"
	"time"

	"contigo/growth"
)

// A Point is one measurement of the child: X in the chart's unit (age in
// days, or length/height in cm), Y the measured value, taken on Date in
// Country (ISO 3166-1 alpha-2, "" when unknown).
type Point struct {
	X, Y    float64
	Date    time.Time
	Country string
	Z       float64 // z-score, shown in the point's tooltip when ZOK
	ZOK     bool
}

// Labels are the texts drawn on a chart, already in the reader's language.
type Labels struct {
	Title          string // e.g. "Weight-for-age, girls"
	XAxis          string // e.g. "Age (months)" or "Length (cm)"
	YAxis          string // e.g. "Weight (kg)"
	Classification string // current classification line, "" for none
	Median         string // legend: the median curve
	SD             string // legend: the SD curves, e.g. "z-score lines"
	Child          string // legend: the child's measurements
	NoPoints       string // shown when the child has no point in range
	Country        func(code string) string
}

// A Spec is everything one chart shows.
type Spec struct {
	Table  growth.ChartTable
	Sex    growth.Sex
	Points []Point // any order; drawn in date order
	Labels Labels
	// AgeInMonths draws the x axis of an age chart in months (X stays in
	// days); it is ignored for weight-for-length/height.
	AgeInMonths bool
}

// Geometry of every chart, in SVG user units (px at 100%).
const (
	Width      = 800
	Height     = 600
	plotLeft   = 70
	plotRight  = Width - 60
	plotTop    = 80
	plotBottom = Height - 130
)

// SDs are the z-score lines drawn, lowest first.
var SDs = []float64{-3, -2, -1, 0, 1, 2, 3}

// Frame maps data to SVG coordinates.
type Frame struct {
	XMin, XMax, YMin, YMax float64
}

// PX returns the SVG x of data x.
func (f Frame) PX(x float64) float64 {
	return plotLeft + (x-f.XMin)/(f.XMax-f.XMin)*(plotRight-plotLeft)
}

// PY returns the SVG y of data y.
func (f Frame) PY(y float64) float64 {
	return plotBottom - (y-f.YMin)/(f.YMax-f.YMin)*(plotBottom-plotTop)
}

// ageChart reports whether t is drawn against age.
func ageChart(t growth.ChartTable) bool {
	return t != growth.ChartWeightForLength && t != growth.ChartWeightForHeight
}

// FrameOf chooses the chart's window: for age charts 0-24 months when
// every point is under 2 years, else 0-5 years (from 3 months for MUAC);
// for weight-for-length/height the whole table; y from the -3 SD curve to
// the +3 SD curve, widened to every point, rounded out to whole ticks.
func FrameOf(s *Spec) (Frame, error) {
	first, last := growth.ChartRange(s.Table)
	if first == last {
		return Frame{}, fmt.Errorf("chart: unknown table %d", s.Table)
	}
	if s.Sex != growth.Male && s.Sex != growth.Female {
		return Frame{}, fmt.Errorf("chart: sex unknown")
	}
	f := Frame{XMin: first, XMax: last}
	if ageChart(s.Table) {
		f.XMax = 731
		for _, p := range s.Points {
			if p.X > 730 {
				f.XMax = last
			}
		}
	}
	f.YMin, f.YMax = math.Inf(1), math.Inf(-1)
	for _, x := range samples(f) {
		if lo, ok := growth.ChartSD(s.Table, s.Sex, x, -3); ok {
			f.YMin = min(f.YMin, lo)
		}
		if hi, ok := growth.ChartSD(s.Table, s.Sex, x, 3); ok {
			f.YMax = max(f.YMax, hi)
		}
	}
	for _, p := range s.Points {
		if p.X >= f.XMin && p.X <= f.XMax {
			f.YMin, f.YMax = min(f.YMin, p.Y), max(f.YMax, p.Y)
		}
	}
	step := niceStep(f.YMax - f.YMin)
	f.YMin = math.Floor(f.YMin/step) * step
	f.YMax = math.Ceil(f.YMax/step) * step
	return f, nil
}

// samples returns the x values at which curves are evaluated: about one
// per pixel, always including both ends.
func samples(f Frame) []float64 {
	n := plotRight - plotLeft
	out := make([]float64, 0, n+1)
	for i := 0; i <= n; i++ {
		x := f.XMin + (f.XMax-f.XMin)*float64(i)/float64(n)
		out = append(out, x)
	}
	return out
}

// niceStep returns a tick step of 1, 2 or 5 times a power of ten giving
// 5 to 12 ticks over span.
func niceStep(span float64) float64 {
	if !(span > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(span/10)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(m*p) <= 12 {
			return m * p
		}
	}
	return 10 * p
}

// sorted returns the points in date order (stable for equal dates).
func sorted(ps []Point) []Point {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Point) int { return a.Date.Compare(b.Date) })
	return out
}
