package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/derive"
	"contigo/records/nutrition"
)

// Sector-lead roles: alerts and indicators.
var leadRoles = []Role{RoleNutritionLead, RoleMinistry, RoleAdmin}

// careRoles may admit to and discharge from programmes, and change alerts.
var careRoles = []Role{RoleHealthWorker, RoleMinistry, RoleAdmin, RoleNutritionLead}

// nutritionRoutes registers the sector-lead and episode endpoints. The
// country is the query parameter country (default: the node's first), and
// the token must reach it. Like the FHIR routes, the others count as
// interactive while they run, and /alerts and /indicators run in the
// search lane.
func (s *Server) nutritionRoutes(e *echo.Echo, mw ...echo.MiddlewareFunc) {
	e.Use(requestActor)
	mw = append(append([]echo.MiddlewareFunc{s.interactive}, mw...), s.queryCountry, s.authenticate, s.audit)
	e.GET("/alerts", s.roles("alerts-search", "R", leadRoles, s.searching(s.handleAlerts)), mw...)
	e.GET("/alerts/:id", s.roles("alert-read", "R", leadRoles, s.handleAlertRead), mw...)
	e.PATCH("/alerts/:id", s.roles("alert-status", "U", careRoles, s.handleAlertPatch), mw...)
	e.GET("/indicators", s.roles("indicators", "R", leadRoles, s.searching(s.handleIndicators)), mw...)
	e.POST("/episodes", s.roles("episode-admit", "C", careRoles[:3], s.handleAdmit), mw...)
	e.PATCH("/episodes/:id", s.roles("episode-close", "U", careRoles[:3], s.handleCloseEpisode), mw...)
}

// queryCountry takes the request's country from ?country= (default the
// node's first hosted country): 404 unless hosted here.
func (s *Server) queryCountry(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cc := s.countries[0]
		if v := c.QueryParam("country"); v != "" {
			p, err := records.ParseCountry(v)
			if err != nil {
				return &records.FieldError{Field: "country", Reason: "not an ISO 3166-1 alpha-2 code", Kind: records.ErrMalformed}
			}
			if !s.hosted[p] {
				return errorf(records.ErrNotFound, "country %s is not hosted on this node", p)
			}
			cc = p
		}
		c.Set(keyCountry, string(cc))
		return next(c)
	}
}

// roles names a route for the audit and lets only roles in.
func (s *Server) roles(name, action string, allow []Role, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := auditOf(c)
		a.interaction, a.action = name, action
		if !claims(c).Reaches(country(c)) {
			return errorf(records.ErrForbidden, "token does not reach country %s", country(c))
		}
		if !slices.Contains(allow, claims(c).Role) {
			return errorf(records.ErrForbidden, "role %s may not %s", claims(c).Role, name)
		}
		// A backend service's token reaches these cross-record endpoints
		// only with a system/*.read (or *.write, to change) scope.
		p := permRead
		if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
			p = permWrite
		}
		if sc := claims(c).Scope; sc != "" && !scopeAllows(sc, p, "") {
			return errorf(records.ErrForbidden, "the token's scopes (%s) do not allow %s: it needs system/*.%s", sc, name, map[perm]string{permRead: "read", permWrite: "write"}[p])
		}
		if s.nut == nil {
			return errorf(records.ErrNotSupported, "nutrition is not enabled on this node")
		}
		return h(c)
	}
}

// alertFilters maps query parameters to Flag search keys (equality, values
// separated by commas).
var alertFilters = map[string]string{
	"kind":       fhir.KeyAlertKind,
	"severity":   fhir.KeyAlertSeverity,
	"status":     fhir.KeyAlertStatus,
	"age_band":   fhir.KeyAlertAgeBand,
	"sex":        fhir.KeyAlertSex,
	"admin_area": fhir.KeyAlertAdminArea,
	"site":       fhir.KeyAlertSite,
}

// alertQuery builds the Flag search of GET /alerts.
func alertQuery(q url.Values) (records.Query, error) {
	conds := []records.Cond{{Key: fhir.KeyAlert, Op: records.OpEq, Values: []string{"1"}}}
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for k := range alertFilters {
			if !yield(k) {
				return
			}
		}
	}) {
		if v := q.Get(p); v != "" {
			conds = append(conds, records.Cond{Key: alertFilters[p], Op: records.OpEq, Values: strings.Split(v, ",")})
		}
	}
	for _, t := range []struct{ param, key string }{{"created", fhir.KeyAlertCreated}, {"updated", fhir.KeyAlertUpdated}} {
		if v := q.Get(t.param + "_since"); v != "" {
			at, err := parseInstant(t.param+"_since", v, false)
			if err != nil {
				return records.Query{}, err
			}
			conds = append(conds, records.Cond{Key: t.key, Op: records.OpGe, Values: []string{at}})
		}
		if v := q.Get(t.param + "_until"); v != "" {
			at, err := parseInstant(t.param+"_until", v, true)
			if err != nil {
				return records.Query{}, err
			}
			conds = append(conds, records.Cond{Key: t.key, Op: records.OpLt, Values: []string{at}})
		}
	}
	n := 0
	if v := q.Get("count"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return records.Query{}, &records.FieldError{Field: "count", Reason: "not a positive number", Kind: records.ErrMalformed}
		}
	}
	return records.Query{Type: "Flag", Conds: conds, Sort: []records.SortKey{{Key: fhir.KeyAlertCreated}}, Count: n, After: q.Get("cursor")}, nil
}

// parseInstant reads a date (YYYY-MM-DD) or RFC 3339 instant as a sortable
// UTC instant; an until date means the end of that day (exclusive bound).
func parseInstant(param, v string, until bool) (string, error) {
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if until {
			d = d.AddDate(0, 0, 1)
		}
		return d.UTC().Format(records.TimeFormat), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return "", &records.FieldError{Field: param, Reason: "want a date (YYYY-MM-DD) or an RFC 3339 instant", Kind: records.ErrMalformed}
	}
	if until {
		t = t.Add(time.Millisecond)
	}
	return t.UTC().Format(records.TimeFormat), nil
}

// wants reports which representation the client asked for: "csv", "fhir" or "json".
func wants(c echo.Context) string {
	switch f := c.QueryParam("format"); f {
	case "csv", "fhir", "json":
		return f
	}
	acc := c.Request().Header.Get(echo.HeaderAccept)
	switch {
	case strings.Contains(acc, "text/csv"):
		return "csv"
	case strings.Contains(acc, "application/fhir+json"):
		return "fhir"
	}
	return "json"
}

// alertColumns are the CSV columns of GET /alerts.
var alertColumns = []string{"id", "kind", "severity", "status", "created_at", "updated_at", "country", "admin_area", "site_id",
	"person_ref", "sex", "age_band", "age_months", "population_group", "trigger_date", "muac_mm", "whz", "waz", "oedema_grade",
	"classification", "previous_classification", "ruleset", "version", "country_config_version", "rule_id",
	"episode_id", "episode_type", "episode_status", "next_due_date", "missed_count", "referral_status"}

func alertRecord(a *nutrition.Alert) []string {
	f := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 2, 64)
	}
	muac := ""
	if a.Trigger.MUACmm != nil {
		muac = strconv.Itoa(*a.Trigger.MUACmm)
	}
	ts := func(t time.Time) string { return t.UTC().Format(records.TimeFormat) }
	rec := []string{a.ID, a.Kind, a.Severity, a.Status, ts(a.CreatedAt), ts(a.UpdatedAt), a.Country, a.AdminArea, a.SiteID,
		a.PersonRef, a.Sex, a.AgeBand, strconv.FormatFloat(a.AgeMonths, 'f', 1, 64), a.PopulationGroup,
		a.Trigger.Date.Format(time.DateOnly), muac, f(a.Trigger.WHZ), f(a.Trigger.WAZ), a.Trigger.OedemaGrade,
		a.Trigger.Classification, a.Trigger.PreviousClassification, a.Rule.RuleSet, a.Rule.Version, a.Rule.ConfigVersion, a.Rule.RuleID,
		"", "", "", "", "", ""}
	if e := a.Episode; e != nil {
		rec[25], rec[26], rec[27], rec[29] = e.ID, e.Type, e.Status, strconv.Itoa(e.MissedCount)
		if e.NextDueDate != nil {
			rec[28] = e.NextDueDate.Format(time.DateOnly)
		}
	}
	if a.Referral != nil {
		rec[30] = a.Referral.Status
	}
	return rec
}

// flagSearcher is implemented by stores that search the Flags of persons
// with a nutrition state in a small per-person projection
// (records/mongo.Store.SearchFlags): same results as Search, without
// reading whole records.
type flagSearcher interface {
	SearchFlags(ctx context.Context, cc records.Country, q records.Query) (records.Page, error)
}

// AlertPage is the JSON answer of GET /alerts.
type AlertPage struct {
	Alerts []nutrition.Alert `json:"alerts"`
	Total  int64             `json:"total"`
	Next   string            `json:"next,omitempty"` // URL of the next page
}

// handleAlerts serves GET /alerts: one page of the country's nutrition
// alerts, oldest first (stable cursor paging), as JSON, CSV or a Bundle of
// Flag. Person references are pseudonymous.
func (s *Server) handleAlerts(c echo.Context) error {
	q, err := alertQuery(c.QueryParams())
	if err != nil {
		return err
	}
	search := s.records.Search
	if fs, ok := s.records.Store().(flagSearcher); ok {
		search = fs.SearchFlags
	}
	page, err := search(c.Request().Context(), country(c), q)
	if err != nil {
		return err
	}
	auditOf(c).disclose(page.Resources...)
	out := AlertPage{Alerts: make([]nutrition.Alert, 0, len(page.Resources)), Total: page.Total}
	for _, r := range page.Resources {
		al, err := fhir.AlertOf(r)
		if err != nil {
			return err
		}
		out.Alerts = append(out.Alerts, al)
	}
	if page.Next != "" {
		u := *c.Request().URL
		v := u.Query()
		v.Set("cursor", page.Next)
		u.RawQuery = v.Encode()
		out.Next = c.Scheme() + "://" + c.Request().Host + u.RequestURI()
	}
	if out.Next != "" {
		c.Response().Header().Set("Link", "<"+out.Next+`>; rel="next"`)
	}
	switch wants(c) {
	case "csv":
		b, err := safeCSV(alertColumns, func(yield func([]string) bool) {
			for i := range out.Alerts {
				if !yield(alertRecord(&out.Alerts[i])) {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b)
	case "fhir":
		b, err := alertBundle(c, &out)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, fhirJSON, b)
	}
	return c.JSON(http.StatusOK, out)
}

// alertBundle renders a page of alerts as a searchset Bundle of Flag.
func alertBundle(c echo.Context, p *AlertPage) ([]byte, error) {
	self := c.Scheme() + "://" + c.Request().Host + c.Request().URL.RequestURI()
	links := []map[string]string{{"relation": "self", "url": self}}
	if p.Next != "" {
		links = append(links, map[string]string{"relation": "next", "url": p.Next})
	}
	entries := make([]map[string]any, 0, len(p.Alerts))
	for i := range p.Alerts {
		b, err := fhir.PseudonymousFlag(&p.Alerts[i])
		if err != nil {
			return nil, err
		}
		entries = append(entries, map[string]any{
			"fullUrl":  c.Scheme() + "://" + c.Request().Host + "/alerts/" + p.Alerts[i].ID,
			"resource": json.RawMessage(b),
			"search":   map[string]string{"mode": "match"},
		})
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": p.Total, "link": links}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	return json.Marshal(bundle)
}

// AlertPatch is the body of PATCH /alerts/{id}.
type AlertPatch struct {
	Status string `json:"status"` // open, acknowledged, referred, admitted, closed
	Reason string `json:"reason"` // required for closed
}

// handleAlertPatch serves PATCH /alerts/{id} (the canonical alert id or
// its record Flag's id): a status change by the
// caller, recorded in the alert's history with who and when, written to
// the person's record.
func (s *Server) handleAlertPatch(c echo.Context) error {
	id := c.Param("id")
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var p AlertPatch
	if err := decodeStrict(body, &p); err != nil {
		return &records.FieldError{Field: "body", Reason: "want {\"status\": ..., \"reason\": ...}: " + err.Error(), Kind: records.ErrMalformed}
	}
	if err := checkText("reason", p.Reason, maxReasonLength); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cc := country(c)
	id, pid, err := s.canonicalAlertID(ctx, cc, id) // the record Flag's id names the alert too
	if err != nil {
		return err
	}
	a := auditOf(c)
	a.resourceType, a.resourceID, a.personID = "Flag", fhir.FlagID(pid, id), pid
	actor := claims(c).Subject
	ctx = derive.WithCommand(WithActor(ctx, actor), &derive.Command{Kind: "alert-status", AlertID: id, Status: p.Status, Reason: p.Reason, Actor: actor})
	res, err := s.records.Write(ctx, cc, records.Write{PersonID: pid, Derive: true})
	if err != nil {
		return err
	}
	st, err := s.nut.State(res.Person)
	if err != nil {
		return err
	}
	al := st.Alert(id)
	if al == nil {
		return errorf(records.ErrNotFound, "alert %s", id)
	}
	return c.JSON(http.StatusOK, al)
}

// alertOwner returns the record id holding alert id: through the claim of
// its person ref (an _id lookup), else by searching the Flags.
func (s *Server) alertOwner(ctx context.Context, cc records.Country, id string) (string, error) {
	if ref, _, ok := strings.Cut(id, "."); ok {
		pid, err := s.records.Store().Owner(ctx, cc, personRefNS, ref)
		if err == nil && s.nut.PersonRef(cc, pid) == ref {
			return pid, nil
		}
		if err != nil && !errors.Is(err, records.ErrNotFound) {
			return "", err
		}
	}
	page, err := s.records.Search(ctx, cc, records.Query{Type: "Flag", Conds: []records.Cond{{Key: fhir.KeyAlertID, Op: records.OpEq, Values: []string{id}}}})
	if err != nil {
		return "", err
	}
	if len(page.Resources) == 0 {
		return "", errorf(records.ErrNotFound, "alert %s", id)
	}
	return records.PersonOf("Flag", page.Resources[0].ID), nil
}

type echoCtxKey struct{}

// requestActor puts the request's echo.Context into its context, so that
// the nutrition write hook can record the token's subject (set later by
// authenticate) as the user behind a FHIR write.
func requestActor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), echoCtxKey{}, c)))
		return next(c)
	}
}
