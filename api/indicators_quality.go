package api

import (
	"bytes"
	"math"
	"net/http"

	"github.com/labstack/echo/v4"

	"contigo/growth/survey"
	"contigo/records"
)

// QualityReport is the JSON answer of GET /indicators?format=quality: the
// survey data-quality checks of WHO and SMART over the children of
// format=prevalence. Statistics that cannot be computed are null.
type QualityReport struct {
	Country   string   `json:"country"`
	From      string   `json:"from"` // inclusive
	To        string   `json:"to"`   // exclusive
	AdminArea string   `json:"admin_area,omitempty"`
	Children  int      `json:"children"`
	Items     []QItem  `json:"items"` // as the rows of "contigo quality"
	Warnings  []string `json:"warnings,omitempty"`
}

// QItem is one statistic of a QualityReport, e.g. {"WHZ", "sd", 1.08}.
type QItem struct {
	Indicator string   `json:"indicator"`
	Statistic string   `json:"statistic"`
	Value     *float64 `json:"value"`
}

// writeQuality answers with the data-quality report of in: JSON, or with
// Accept: text/csv the CSV of "contigo quality".
func writeQuality(c echo.Context, in *survey.Input, rep QualityReport) error {
	rep.Items = []QItem{}
	if len(in.Children) == 0 {
		return c.JSON(http.StatusOK, rep)
	}
	q, err := survey.ComputeQuality(in)
	if err != nil {
		return &records.FieldError{Field: "from", Reason: "cannot report on the period: " + err.Error(), Kind: records.ErrInvalid}
	}
	var buf bytes.Buffer
	if err := q.WriteCSV(&buf); err != nil {
		return err
	}
	if wants(c) == "csv" {
		b, err := neutraliseCSV(buf.Bytes())
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b)
	}
	rep.Children, rep.Warnings = q.N, q.Warnings
	q.Each(func(ind, stat string, v float64) {
		it := QItem{Indicator: ind, Statistic: stat}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			it.Value = &v
		}
		rep.Items = append(rep.Items, it)
	})
	return c.JSON(http.StatusOK, rep)
}
