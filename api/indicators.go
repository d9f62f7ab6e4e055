package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/records"
	"contigo/records/nutrition"
)

// IndicatorReport is the JSON answer of GET /indicators.
type IndicatorReport struct {
	Country string                   `json:"country"`
	From    string                   `json:"from"` // inclusive
	To      string                   `json:"to"`   // exclusive
	By      string                   `json:"by,omitempty"`
	RuleSet nutrition.RuleRef        `json:"ruleset"`
	Rows    []nutrition.IndicatorRow `json:"rows"`
}

// handleIndicators serves GET /indicators?country=&from=&to=&by=: the §8
// indicator set over the country's nutrition states for [from, to),
// grouped by month, admin_area, sex, age_band or population_group, as JSON
// or (Accept: text/csv) CSV.
func (s *Server) handleIndicators(c echo.Context) error {
	if f := c.QueryParam("format"); f == "prevalence" || f == "quality" {
		return s.handleIndicatorsPrevalence(c) // indicators_prevalence.go
	}
	day := func(p string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, c.QueryParam(p))
		if err != nil {
			return t, &records.FieldError{Field: p, Reason: "want a date YYYY-MM-DD", Kind: records.ErrMalformed}
		}
		return t, nil
	}
	from, err := day("from")
	if err != nil {
		return err
	}
	to, err := day("to")
	if err != nil {
		return err
	}
	if err := checkPeriod(from, to, s.now()); err != nil {
		return err
	}
	by := c.QueryParam("by")
	switch by {
	case "", nutrition.ByMonth, nutrition.ByAdminArea, nutrition.BySex, nutrition.ByAgeBand, nutrition.ByPopGroup:
	default:
		return &records.FieldError{Field: "by", Reason: "want month, admin_area, sex, age_band or population_group", Kind: records.ErrMalformed}
	}
	cc := country(c)
	rs := s.nut.rules.For(string(cc))
	rows, err := indicatorRows(c.Request().Context(), s.records.Store(), cc, rs, from, to, by)
	if err != nil {
		return err
	}
	if wants(c) == "csv" {
		b, err := safeCSV(nutrition.IndicatorColumns, func(yield func([]string) bool) {
			for i := range rows {
				if !yield(rows[i].Record()) {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b)
	}
	return c.JSON(http.StatusOK, IndicatorReport{Country: string(cc), From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		By: by, RuleSet: rs.Ref(""), Rows: rows})
}

// indicatorRowsStore is implemented by stores that keep the indicator
// rows of the queries asked lately in step with their writes
// (records/mongo.Store).
type indicatorRowsStore interface {
	IndicatorRows(ctx context.Context, cc records.Country, rs *nutrition.RuleSet, from, to time.Time, by string) ([]nutrition.IndicatorRow, error)
}

// indicatorRows returns the indicator rows of cc for [from, to) grouped by
// by: from the store when it keeps them, else counted over every person's
// facts.
func indicatorRows(ctx context.Context, store records.Store, cc records.Country, rs *nutrition.RuleSet, from, to time.Time, by string) ([]nutrition.IndicatorRow, error) {
	if k, ok := store.(indicatorRowsStore); ok {
		return k.IndicatorRows(ctx, cc, rs, from, to, by)
	}
	facts, err := indicatorFacts(ctx, store, cc)
	if err != nil {
		return nil, err
	}
	return nutrition.IndicatorsOf(facts, rs, from, to, by)
}

// indicatorFactsStore is implemented by stores that keep an indicator
// digest beside each nutrition state (records/mongo.Store).
type indicatorFactsStore interface {
	IndicatorFacts(ctx context.Context, cc records.Country) ([]nutrition.Facts, error)
}

// indicatorFacts returns the indicator facts of every nutrition state of
// cc: from the store's digests when it keeps them, else from the states.
func indicatorFacts(ctx context.Context, store records.Store, cc records.Country) ([]nutrition.Facts, error) {
	if fs, ok := store.(indicatorFactsStore); ok {
		return fs.IndicatorFacts(ctx, cc)
	}
	var facts []nutrition.Facts
	err := eachState(ctx, store, cc, func(_ string, st *nutrition.State) error {
		facts = append(facts, nutrition.FactsOf(st))
		return nil
	})
	return facts, err
}
