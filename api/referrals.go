package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/records"
)

// ReferralSummary is one incoming referral as GET /referrals lists it: who
// (pseudonymously), from which country, since when. No names, identifiers,
// record ids or free text, so nutrition leads can see it.
type ReferralSummary struct {
	PersonRef   string `json:"person_ref"`
	FromCountry string `json:"from_country"`
	ReferredAt  string `json:"referred_at"`
	Status      string `json:"status"`
}

// ReferralList is the JSON answer of GET /referrals.
type ReferralList struct {
	Country   string            `json:"country"`
	Referrals []ReferralSummary `json:"referrals"`
	Next      string            `json:"next,omitempty"` // cursor for the next page
}

// referralRoutes registers GET /referrals: the referrals other countries'
// nodes delivered here ($refer), for health workers and sector leads of
// the country (?country=, default the node's first).
func (s *Server) referralRoutes(e *echo.Echo, mw ...echo.MiddlewareFunc) {
	mw = append(mw, s.queryCountry, s.authenticate, s.audit)
	allow := []Role{RoleHealthWorker, RoleNutritionLead, RoleMinistry, RoleAdmin}
	e.GET("/referrals", s.roles("referrals-search", "R", allow, s.handleReferrals), mw...)
}

// handleReferrals serves GET /referrals?country=&status=active|inactive&count=&cursor=: oldest first.
func (s *Server) handleReferrals(c echo.Context) error {
	status := c.QueryParam("status")
	if status == "" {
		status = "active"
	}
	if status != "active" && status != "inactive" {
		return &records.FieldError{Field: "status", Reason: "want active or inactive", Kind: records.ErrMalformed}
	}
	q := records.Query{
		Type: "Flag",
		Conds: []records.Cond{
			{Key: "code", Op: records.OpEq, Values: []string{ReferralSystem + "|" + ReferralCode}},
			{Key: "status", Op: records.OpEq, Values: []string{status}},
		},
		Sort:  []records.SortKey{{Key: "_lastUpdated"}},
		After: c.QueryParam("cursor"),
	}
	if v := c.QueryParam("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return &records.FieldError{Field: "count", Reason: "not a positive number", Kind: records.ErrMalformed}
		}
		q.Count = n
	}
	cc := country(c)
	page, err := s.records.Search(c.Request().Context(), cc, q)
	if err != nil {
		return err
	}
	auditOf(c).disclose(page.Resources...)
	out := ReferralList{Country: string(cc), Referrals: []ReferralSummary{}, Next: page.Next}
	for _, r := range page.Resources {
		out.Referrals = append(out.Referrals, s.referralSummary(cc, r))
	}
	return c.JSON(http.StatusOK, out)
}

// referralSummary reads the pseudonymous summary of a referral Flag.
func (s *Server) referralSummary(cc records.Country, r records.Resource) ReferralSummary {
	var f struct {
		Status string `json:"status"`
		Code   struct {
			Text string `json:"text"`
		} `json:"code"`
		Period struct {
			Start string `json:"start"`
		} `json:"period"`
	}
	_ = json.Unmarshal(r.Body, &f) // Bodies were written by fhir.Parse.
	from := ""
	// receiveReferral writes "Referral from XX: reason".
	if rest, ok := strings.CutPrefix(f.Code.Text, "Referral from "); ok && len(rest) >= 2 {
		from = rest[:2]
	}
	return ReferralSummary{
		PersonRef:   s.nut.PersonRef(cc, records.PersonOf("Flag", r.ID)),
		FromCountry: from,
		ReferredAt:  f.Period.Start,
		Status:      f.Status,
	}
}
