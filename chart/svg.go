package chart

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"contigo/growth"
)

// lineStyles are the stroke attributes of each |SD| (0, 1, 2, 3): black and
// white distinguishable by width and dash pattern.
var lineStyles = [4]string{
	`stroke="#000" stroke-width="2.2"`,
	`stroke="#555" stroke-width="1" stroke-dasharray="1 3"`,
	`stroke="#222" stroke-width="1.4" stroke-dasharray="7 4"`,
	`stroke="#000" stroke-width="1.4" stroke-dasharray="12 3 2 3"`,
}

// markers are the shapes given to countries in order of first appearance,
// each centred on 0,0.
var markers = []string{
	`<circle r="5" fill="#000"/>`,
	`<rect x="-5" y="-5" width="10" height="10" fill="#fff" stroke="#000" stroke-width="1.8"/>`,
	`<path d="M0-6L5.5 4H-5.5Z" fill="#000"/>`,
	`<path d="M0-6L6 0L0 6L-6 0Z" fill="#fff" stroke="#000" stroke-width="1.8"/>`,
	`<path d="M-5-5L5 5M-5 5L5-5" stroke="#000" stroke-width="2.2"/>`,
	`<circle r="5" fill="#fff" stroke="#000" stroke-width="1.8"/>`,
}

// f1 formats a coordinate with one decimal.
func f1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// esc escapes text for SVG.
func esc(s string) string { return html.EscapeString(s) }

// SVG renders the chart of s.
func SVG(s Spec) ([]byte, error) {
	f, err := FrameOf(&s)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="chart-title" font-family="sans-serif" font-size="13">`, Width, Height, Width, Height)
	fmt.Fprintf(&b, `<title id="chart-title">%s</title>`, esc(s.Labels.Title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, Width, Height)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="18" font-weight="bold">%s</text>`, plotLeft, esc(s.Labels.Title))
	if s.Labels.Classification != "" {
		fmt.Fprintf(&b, `<text class="classification" x="%d" y="54" font-size="15">%s</text>`, plotLeft, esc(s.Labels.Classification))
	}
	axes(&b, f, &s)
	curves(&b, f, &s)
	points(&b, f, &s)
	legend(&b, &s)
	b.WriteString(`</svg>`)
	return b.Bytes(), nil
}

// axes draws the grid, ticks and axis titles.
func axes(b *bytes.Buffer, f Frame, s *Spec) {
	b.WriteString(`<g class="grid" stroke="#ddd" stroke-width="0.6">`)
	ystep := niceStep(f.YMax - f.YMin)
	var yticks []float64
	for y := f.YMin; y <= f.YMax+ystep/1e6; y += ystep {
		yticks = append(yticks, y)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%s" y2="%s"/>`, plotLeft, plotRight, f1(f.PY(y)), f1(f.PY(y)))
	}
	type tick struct {
		x     float64
		label string
	}
	var xticks []tick
	if ageChart(s.Table) && s.AgeInMonths {
		months := (f.XMax - f.XMin) / growth.DaysPerMonth
		step := 2.0
		if months > 30 {
			step = 6
		}
		for m := math.Ceil(f.XMin/growth.DaysPerMonth/step) * step; m*growth.DaysPerMonth <= f.XMax+1; m += step {
			xticks = append(xticks, tick{m * growth.DaysPerMonth, strconv.Itoa(int(m))})
		}
	} else {
		step := niceStep(f.XMax - f.XMin)
		for x := math.Ceil(f.XMin/step) * step; x <= f.XMax+step/1e6; x += step {
			xticks = append(xticks, tick{x, strconv.FormatFloat(x, 'f', -1, 64)})
		}
	}
	for _, t := range xticks {
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%d" y2="%d"/>`, f1(f.PX(t.x)), f1(f.PX(t.x)), plotTop, plotBottom)
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#000"/>`, plotLeft, plotTop, plotRight-plotLeft, plotBottom-plotTop)
	b.WriteString(`<g class="ticks" font-size="12">`)
	for _, y := range yticks {
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end">%s</text>`, plotLeft-6, f1(f.PY(y)+4), strconv.FormatFloat(math.Round(y*100)/100, 'f', -1, 64))
	}
	for _, t := range xticks {
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`, f1(f.PX(t.x)), plotBottom+18, t.label)
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, (plotLeft+plotRight)/2, plotBottom+38, esc(s.Labels.XAxis))
	fmt.Fprintf(b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s</text>`, (plotTop+plotBottom)/2, esc(s.Labels.YAxis))
}

// curves draws the SD lines, each labelled at its right end.
func curves(b *bytes.Buffer, f Frame, s *Spec) {
	b.WriteString(`<g class="curves" fill="none">`)
	for _, k := range SDs {
		var pts []string
		var lastX, lastY float64
		for _, x := range samples(f) {
			y, ok := growth.ChartSD(s.Table, s.Sex, x, k)
			if !ok {
				continue
			}
			lastX, lastY = f.PX(x), f.PY(y)
			pts = append(pts, f1(lastX)+","+f1(lastY))
		}
		if len(pts) == 0 {
			continue
		}
		fmt.Fprintf(b, `<polyline class="sd" data-sd="%g" %s points="%s"/>`, k, lineStyles[int(math.Abs(k))], strings.Join(pts, " "))
		fmt.Fprintf(b, `<text x="%s" y="%s" fill="#000" stroke="none" font-size="12">%s</text>`, f1(lastX+5), f1(lastY+4), sdLabel(k))
	}
	b.WriteString(`</g>`)
}

// sdLabel returns "0", "+2", "-3" and so on.
func sdLabel(k float64) string {
	if k > 0 {
		return "+" + strconv.FormatFloat(k, 'f', -1, 64)
	}
	return strconv.FormatFloat(k, 'f', -1, 64)
}

// countries returns the countries of the points in order of first
// appearance (by date).
func countries(ps []Point) []string {
	var out []string
	for _, p := range ps {
		seen := false
		for _, c := range out {
			seen = seen || c == p.Country
		}
		if !seen {
			out = append(out, p.Country)
		}
	}
	return out
}

// marker returns the marker of country c.
func marker(cs []string, c string) string {
	for i, x := range cs {
		if x == c {
			return markers[i%len(markers)]
		}
	}
	return markers[0]
}

// points draws the child's measurements in date order, joined by a line.
func points(b *bytes.Buffer, f Frame, s *Spec) {
	ps := sorted(s.Points)
	cs := countries(ps)
	var in []Point
	for _, p := range ps {
		if p.X >= f.XMin && p.X <= f.XMax && growth.Present(p.Y) {
			in = append(in, p)
		}
	}
	if len(in) == 0 {
		if s.Labels.NoPoints != "" {
			fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="15">%s</text>`, (plotLeft+plotRight)/2, (plotTop+plotBottom)/2, esc(s.Labels.NoPoints))
		}
		return
	}
	b.WriteString(`<g class="child">`)
	if len(in) > 1 {
		var pts []string
		for _, p := range in {
			pts = append(pts, f1(f.PX(p.X))+","+f1(f.PY(p.Y)))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="#000" stroke-width="2.6" points="%s"/>`, strings.Join(pts, " "))
	}
	for _, p := range in {
		title := p.Date.Format("2006-01-02") + " " + countryName(s, p.Country) + ": " + strconv.FormatFloat(p.Y, 'f', -1, 64)
		if p.ZOK {
			title += fmt.Sprintf(" (z %+.2f)", p.Z)
		}
		fmt.Fprintf(b, `<g class="point" data-country="%s" data-date="%s" data-cx="%s" data-cy="%s" transform="translate(%s %s)"><title>%s</title>%s</g>`,
			esc(p.Country), p.Date.Format("2006-01-02"), f1(f.PX(p.X)), f1(f.PY(p.Y)), f1(f.PX(p.X)), f1(f.PY(p.Y)), esc(title), marker(cs, p.Country))
	}
	b.WriteString(`</g>`)
}

// countryName names country code c in the reader's language.
func countryName(s *Spec, c string) string {
	if s.Labels.Country != nil {
		return s.Labels.Country(c)
	}
	return c
}

// legend draws the key below the plot: the curve styles and one marker
// per country.
func legend(b *bytes.Buffer, s *Spec) {
	y := plotBottom + 66
	x := plotLeft
	b.WriteString(`<g class="legend" font-size="12">`)
	entries := []struct {
		style, label string
	}{
		{lineStyles[0], s.Labels.Median},
		{lineStyles[1], "±1 " + s.Labels.SD},
		{lineStyles[2], "±2 " + s.Labels.SD},
		{lineStyles[3], "±3 " + s.Labels.SD},
	}
	for _, e := range entries {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" %s/>`, x, x+34, y-4, y-4, e.style)
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`, x+40, y, esc(e.label))
		x += 160
	}
	y += 28
	x = plotLeft
	cs := countries(sorted(s.Points))
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#000" stroke-width="2.6"/>`, x, x+34, y-4, y-4)
	fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`, x+40, y, esc(s.Labels.Child))
	x += max(160, 40+labelWidth(s.Labels.Child)+24)
	for _, c := range cs {
		name := countryName(s, c)
		if x+20+labelWidth(name) > Width-10 { // wrap to the next row
			x, y = plotLeft, y+24
		}
		fmt.Fprintf(b, `<g class="legend-country" data-country="%s" transform="translate(%d %d)">%s</g>`, esc(c), x+8, y-4, marker(cs, c))
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`, x+20, y, esc(name))
		x += 20 + labelWidth(name) + 24
	}
	b.WriteString(`</g>`)
}

// labelWidth estimates the width of a 12 px legend label: 7 px a character
// is generous for sans-serif, so labels never overlap.
func labelWidth(s string) int { return 7 * utf8.RuneCountInString(s) }
