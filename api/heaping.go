package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/records"
	"contigo/records/nutrition"
)

// heapingWindowDays is the default review window of GET /data-quality/heaping.
const heapingWindowDays = 30

// heapingRoutes registers GET /data-quality/heaping for sector leads (the
// terminal-digit review of nutrition-rules §6). It is not yet called from
// Server.routes: that file's owner adds `s.heapingRoutes(e, timeout)`.
func (s *Server) heapingRoutes(e *echo.Echo, mw ...echo.MiddlewareFunc) {
	mw = append(mw, s.queryCountry, s.authenticate, s.audit)
	e.GET("/data-quality/heaping", s.roles("data-quality-heaping", "R", leadRoles, s.handleHeaping), mw...)
}

// heapingReport is the body of GET /data-quality/heaping.
type heapingReport struct {
	Country  string                     `json:"country"`
	From     string                     `json:"from"` // inclusive
	To       string                     `json:"to"`   // exclusive
	Warnings []nutrition.HeapingWarning `json:"warnings"`
}

// handleHeaping serves GET /data-quality/heaping?country=&from=&to=: the
// sites, measurers and variables whose values dated in [from, to) end in 0
// or 5 too often (nutrition.Heaping with the country's rule set). from and
// to are dates (YYYY-MM-DD); the default window is the 30 days before
// today. No person is named: only sites and measurer references.
func (s *Server) handleHeaping(c echo.Context) error {
	today := s.now().UTC().Truncate(24 * time.Hour)
	to := today.AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -heapingWindowDays)
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := c.QueryParam(p.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return &records.FieldError{Field: p.name, Reason: "want a date YYYY-MM-DD", Kind: records.ErrMalformed}
			}
			*p.t = t
		}
	}
	if !from.Before(to) {
		return &records.FieldError{Field: "to", Reason: "must be after from", Kind: records.ErrInvalid}
	}
	cc := country(c)
	var as []nutrition.Assessment
	err := eachState(c.Request().Context(), s.records.Store(), cc, func(_ string, st *nutrition.State) error {
		for i := range st.Assessments {
			if d := st.Assessments[i].Date; !d.Before(from) && d.Before(to) {
				as = append(as, st.Assessments[i])
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ws := nutrition.Heaping(as, s.nut.rules.For(string(cc)))
	if ws == nil {
		ws = []nutrition.HeapingWarning{}
	}
	return c.JSON(http.StatusOK, heapingReport{Country: string(cc), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Warnings: ws})
}
