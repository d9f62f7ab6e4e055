package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"contigo/chart"
	"contigo/growth"
	"contigo/i18n"
	"contigo/records"
)

// chartIndicators are the indicators of GET .../$growth-chart.
var chartIndicators = map[string]bool{"wfa": true, "lhfa": true, "wflh": true, "bfa": true, "acfa": true}

// chartRoutes registers the growth chart and the carné, reads of a
// person's record like $everything (authenticated, role and country
// checked, audited).
func (s *Server) chartRoutes(add func(method, path string, h echo.HandlerFunc)) {
	add("GET", "/Patient/:id/$growth-chart", s.interaction("growth-chart", "R", permRead, s.handleGrowthChart))
	add("GET", "/Patient/:id/$carne", s.interaction("carne", "R", permRead, s.handleCarne))
}

// printer returns the message printer of the request's language: the lang
// query parameter, else Accept-Language, else Spanish.
func printer(c echo.Context) *i18n.Printer {
	if l := c.QueryParam("lang"); l != "" {
		return i18n.New(i18n.Match(l))
	}
	return i18n.New(i18n.Match(c.Request().Header.Get("Accept-Language")))
}

// handleGrowthChart serves GET /fhir/Patient/:id/$growth-chart?indicator=
// wfa|lhfa|wflh|bfa|acfa as an SVG image: the WHO curves for the child's
// sex, the child's measurements from every linked country (unless
// _federated=false), the current classification by that indicator and a
// legend, in the request's language.
func (s *Server) handleGrowthChart(c echo.Context) error {
	id := c.Param("id")
	a := auditOf(c)
	a.resourceType, a.personID = "Patient", id
	ind := c.QueryParam("indicator")
	if ind == "" {
		ind = "wflh"
	}
	if !chartIndicators[ind] {
		return errorf(records.ErrMalformed, "indicator must be one of wfa, lhfa, wflh, bfa, acfa")
	}
	rec, err := s.readChildRecord(c, id)
	if err != nil {
		return err
	}
	if rec.Sex != growth.Male && rec.Sex != growth.Female {
		return errorf(records.ErrInvalid, "the Patient's gender must be male or female for a WHO growth chart")
	}
	spec := chartSpec(rec, ind, printer(c))
	b, err := chart.SVG(spec)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/svg+xml; charset=utf-8", b)
}
