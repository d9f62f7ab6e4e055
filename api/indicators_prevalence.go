package api

import (
	"bytes"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/growth/survey"
	"contigo/records"
	"contigo/records/nutrition"
)

// PrevalenceReport is the JSON answer of GET /indicators?format=prevalence:
// WHO's anthro_prevalence table over the children seen in the period.
type PrevalenceReport struct {
	Country   string          `json:"country"`
	From      string          `json:"from"` // inclusive
	To        string          `json:"to"`   // exclusive
	AdminArea string          `json:"admin_area,omitempty"`
	Method    survey.Method   `json:"method"`   // always "simple": the records are no sample design
	Children  int             `json:"children"` // children tabulated (each once)
	Columns   []string        `json:"columns"`  // anthro's column names, after "group"
	Rows      []PrevalenceRow `json:"rows"`
	Warnings  []string        `json:"warnings,omitempty"`
}

// PrevalenceRow is one group of a PrevalenceReport; Values[i] belongs to
// Columns[i], null where anthro gives NA.
type PrevalenceRow struct {
	Group  string     `json:"group"`
	Values []*float64 `json:"values"`
}

// handleIndicatorsPrevalence serves GET
// /indicators?format=prevalence&country=&from=&to=[&admin_area=] (and
// format=quality, the data-quality report of the same children; see
// writeQuality): the
// prevalence tables of WHO's Anthro Survey Analyser (stunting, wasting,
// underweight, overweight, z-score means and SDs with SEs and 95% CIs) over
// the country's children, each counted once by its latest assessment dated
// in [from, to), grouped as anthro groups them, with the admin area as
// "Geographical region" and the population group as "Other grouping". JSON,
// or with Accept: text/csv the CSV of "contigo prevalence".
func (s *Server) handleIndicatorsPrevalence(c echo.Context) error {
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		t, err := time.Parse(time.DateOnly, c.QueryParam(p.name))
		if err != nil {
			return &records.FieldError{Field: p.name, Reason: "want a date YYYY-MM-DD", Kind: records.ErrMalformed}
		}
		*p.t = t
	}
	if !from.Before(to) {
		return &records.FieldError{Field: "to", Reason: "must be after from", Kind: records.ErrInvalid}
	}
	if err := checkPeriod(from, to, s.now()); err != nil {
		return err
	}
	if c.QueryParam("by") != "" {
		return &records.FieldError{Field: "by", Reason: "not used with format=prevalence: every anthro grouping is in the table", Kind: records.ErrInvalid}
	}
	area := c.QueryParam("admin_area")
	cc := country(c)
	var states []nutrition.State
	err := eachState(c.Request().Context(), s.records.Store(), cc, func(_ string, st *nutrition.State) error {
		states = append(states, *st)
		return nil
	})
	if err != nil {
		return err
	}
	in := nutrition.PrevalenceInput(states, from, to, area)
	if c.QueryParam("format") == "quality" {
		return writeQuality(c, in, QualityReport{Country: string(cc), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), AdminArea: area})
	}
	rep := PrevalenceReport{Country: string(cc), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		AdminArea: area, Method: survey.MethodSimple, Columns: survey.ColumnNames(), Rows: []PrevalenceRow{}}
	if len(in.Children) == 0 {
		return c.JSON(http.StatusOK, rep) // no child seen: no table
	}
	t, err := survey.Compute(in)
	if err != nil {
		return &records.FieldError{Field: "from", Reason: "cannot tabulate the period: " + err.Error(), Kind: records.ErrInvalid}
	}
	if wants(c) == "csv" {
		var buf bytes.Buffer
		if err := t.WriteCSV(&buf); err != nil {
			return err
		}
		b, err := neutraliseCSV(buf.Bytes())
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b)
	}
	rep.Method, rep.Children, rep.Warnings = t.Method, t.N, t.Warnings
	for _, r := range t.Rows {
		row := PrevalenceRow{Group: r.Group, Values: make([]*float64, len(r.Values))}
		for i, v := range r.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				row.Values[i] = &v
			}
		}
		rep.Rows = append(rep.Rows, row)
	}
	return c.JSON(http.StatusOK, rep)
}
