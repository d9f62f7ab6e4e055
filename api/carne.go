package api

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/chart"
	"contigo/growth"
	"contigo/i18n"
	"contigo/records/nutrition"
)

// The carné's page template.
//
//go:embed templates/carne.html
var templateFS embed.FS

var carneTemplate = template.Must(template.ParseFS(templateFS, "templates/carne.html"))

// carneCharts are the charts printed on the carné.
var carneCharts = []string{"wflh", "wfa", "lhfa"}

// carnePage is the data of the carné template.
type carnePage struct {
	p           *i18n.Printer
	Lang        string
	Name        string
	Birth       string
	Sex         string
	Identifiers []string
	Unanswered  []string
	Rows        []carneRow
	Charts      []template.HTML
	Footer      string
}

// T prints message key in the page's language.
func (c *carnePage) T(key string, args ...any) string { return c.p.T(key, args...) }

// carneRow is one visit of the carné.
type carneRow struct {
	Date, Country, Site, Weight, Length, MUAC, Oedema, WHZ, HAZ, Status string
	Alert                                                               bool
}

// handleCarne serves GET /fhir/Patient/:id/$carne: a one-page printable
// HTML card of the child's record across countries (every measured visit,
// z-scores, status, growth charts), in the request's language, for the
// family to carry.
func (s *Server) handleCarne(c echo.Context) error {
	id := c.Param("id")
	a := auditOf(c)
	a.resourceType, a.personID = "Patient", id
	rec, err := s.readChildRecord(c, id)
	if err != nil {
		return err
	}
	p := printer(c)
	page := carnePage{p: p, Lang: p.Tag().String(), Name: rec.Name, Identifiers: rec.Identifiers, Unanswered: rec.Unanswered}
	if !rec.Birth.IsZero() {
		page.Birth = rec.Birth.Format(time.DateOnly)
	}
	switch rec.Sex {
	case growth.Male:
		page.Sex = p.T("carne.male")
	case growth.Female:
		page.Sex = p.T("carne.female")
	}
	for i := range rec.Visits {
		page.Rows = append(page.Rows, carneRowOf(&rec.Visits[i], p))
	}
	if rec.Sex == growth.Male || rec.Sex == growth.Female {
		for _, ind := range carneCharts {
			svg, err := chart.SVG(chartSpec(rec, ind, p))
			if err != nil {
				return err
			}
			page.Charts = append(page.Charts, template.HTML(svg)) // generated and escaped by package chart
		}
	}
	page.Footer = p.T("carne.printed", time.Now().UTC().Format(time.DateOnly), "Contigo "+countryName(p, string(rec.Country)))
	var b bytes.Buffer
	if err := carneTemplate.Execute(&b, &page); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Content-Language", page.Lang)
	return c.HTMLBlob(http.StatusOK, b.Bytes())
}

// carneRowOf formats visit v for the carné.
func carneRowOf(v *chartVisit, p *i18n.Printer) carneRow {
	m := &v.M
	r := carneRow{Date: m.Date.Format(time.DateOnly), Country: countryName(p, string(v.Country)), Site: m.Site, Oedema: m.Oedema}
	if m.WeightKg != nil {
		r.Weight = p.T("%.2f", *m.WeightKg)
	}
	if m.LengthCm != nil {
		r.Length = p.T("%.1f", *m.LengthCm)
		switch m.Position {
		case nutrition.PositionLying:
			r.Length += " (" + p.T("carne.lying") + ")"
		case nutrition.PositionStanding:
			r.Length += " (" + p.T("carne.standing") + ")"
		}
	}
	if m.MUACmm != nil {
		r.MUAC = p.T("%d", *m.MUACmm)
	}
	if sc := v.R.Scores[growth.WeightForLenHei]; sc.OK {
		r.WHZ = p.T("%.2f", sc.Z)
	}
	if sc := v.R.Scores[growth.LenHeiForAge]; sc.OK {
		r.HAZ = p.T("%.2f", sc.Z)
	}
	switch sc := v.R.Scores[growth.WeightForLenHei]; {
	case oedemaPresent(m.Oedema):
		r.Status, r.Alert = p.T("carne.oedema")+" "+m.Oedema, true
	case sc.OK:
		key := zClass("wflh", sc.Z)
		r.Status, r.Alert = p.T(key), key == "class.severe_wasting" || key == "class.moderate_wasting"
	}
	return r
}
