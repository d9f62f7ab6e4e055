package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
)

// handleSearch serves GET /fhir/:type and POST /fhir/:type/_search (form
// parameters in the body): a searchset Bundle with paging links, or only
// the total for _summary=count.
func (s *Server) handleSearch(c echo.Context) error {
	typ := c.Param("type")
	if err := readableType(typ); err != nil {
		return err
	}
	if typ == "AuditEvent" {
		if !allowed(claims(c).Role, permAudit) {
			return errorf(records.ErrForbidden, "role %s may not read audit events", claims(c).Role)
		}
		return s.handleAuditSearch(c)
	}
	params, err := s.searchParams(c)
	if err != nil {
		return err
	}
	req, err := fhir.ParseSearchWith(typ, params, fhir.SearchOptions{Lenient: lenient(c)})
	if err != nil {
		return err
	}
	return s.runSearch(c, req)
}

// lenient reports whether the request asks for Prefer: handling=lenient
// (http://hl7.org/fhir/R4/search.html#errors); strict is the default.
func lenient(c echo.Context) bool {
	for _, h := range c.Request().Header.Values("Prefer") {
		for pref := range strings.SplitSeq(h, ",") {
			for part := range strings.SplitSeq(pref, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
				if strings.EqualFold(k, "handling") && strings.EqualFold(strings.Trim(v, `"`), "lenient") {
					return true
				}
			}
		}
	}
	return false
}

// runSearch answers a parsed search in the request's country: chained
// parameters resolved, the page, the resources _include and _revinclude
// add (each audited as a disclosure), the Bundle.
func (s *Server) runSearch(c echo.Context, req fhir.SearchRequest) error {
	ctx, cc := c.Request().Context(), country(c)
	if err := s.resolveChains(ctx, cc, &req); err != nil {
		return err
	}
	page, err := s.search(ctx, cc, req.Query, req.Summary == "count")
	if err != nil {
		return err
	}
	var included []records.Resource
	var warnings []fhir.Issue
	if req.Summary != "count" {
		if included, warnings, err = s.includes(ctx, cc, req, page.Resources); err != nil {
			return err
		}
	}
	auditOf(c).disclose(page.Resources...)
	auditOf(c).disclose(included...)
	b, err := fhir.SearchBundleWith(base(c), req, page, included, warnings...)
	if err != nil {
		return err
	}
	return writeBundle(c, http.StatusOK, b)
}

// resolveChains turns each chained parameter (subject.identifier=X) into
// a subject condition on the Patients with that identifier: by its claim
// for system|value, by the Patient search otherwise (both indexed).
func (s *Server) resolveChains(ctx context.Context, cc records.Country, req *fhir.SearchRequest) error {
	for _, ch := range req.Chains {
		q, err := ch.PatientQuery()
		if err != nil {
			return err
		}
		page, err := s.search(ctx, cc, q, false)
		if err != nil {
			return err
		}
		var ids []string
		for _, r := range page.Resources {
			ids = append(ids, r.ID)
		}
		req.Query.Conds = append(req.Query.Conds, fhir.SubjectCond(ids))
	}
	return nil
}

// includes returns the resources that req's _include and _revinclude add
// to matches (none twice, none that is a match), at most
// fhir.MaxIncluded, with a warning when more were left out. Each is read
// by its record's id (the reference names it) in country cc: the same
// reach and role as the search itself.
func (s *Server) includes(ctx context.Context, cc records.Country, req fhir.SearchRequest, matches []records.Resource) ([]records.Resource, []fhir.Issue, error) {
	if len(req.Include) == 0 && len(req.RevInclude) == 0 {
		return nil, nil, nil
	}
	seen := map[string]bool{}
	for _, m := range matches {
		seen[m.Type+"/"+m.ID] = true
	}
	var out []records.Resource
	truncated := false
	add := func(r records.Resource) {
		switch ref := r.Type + "/" + r.ID; {
		case seen[ref]:
		case len(out) >= fhir.MaxIncluded:
			truncated = true
		default:
			seen[ref] = true
			out = append(out, r)
		}
	}
	for _, inc := range req.Include {
		for _, m := range matches {
			for _, ref := range inc.Refs(m) {
				typ, id, _ := strings.Cut(ref, "/")
				if seen[ref] {
					continue
				}
				r, err := s.records.Read(ctx, cc, typ, id)
				if errors.Is(err, records.ErrNotFound) || errors.Is(err, records.ErrGone) {
					continue
				}
				if err != nil {
					return nil, nil, err
				}
				add(r)
			}
		}
	}
	for _, inc := range req.RevInclude {
		q := inc.RevQuery(matches)
		if len(q.Conds[0].Values) == 0 {
			continue
		}
		page, err := s.records.Search(ctx, cc, q)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range page.Resources {
			add(r)
		}
		truncated = truncated || page.Next != ""
	}
	var warnings []fhir.Issue
	if truncated {
		warnings = append(warnings, fhir.Issue{Severity: r4.IssueSeverityWarning, Code: r4.IssueTypeTooCostly,
			Diagnostics: "more resources were to be included than one page holds; the first " + strconv.Itoa(fhir.MaxIncluded) + " are"})
	}
	return out, warnings, nil
}

// search runs q, or only counts its matches. A Patient search by one exact
// identifier (system|value) is answered through the identifier's claim, an
// _id lookup that stays fast on the embedded engine at any size, and the
// Patient's head.
func (s *Server) search(ctx context.Context, cc records.Country, q records.Query, countOnly bool) (records.Page, error) {
	if ident, ok := identifierOnly(q); ok {
		page := records.Page{Resources: []records.Resource{}}
		r, err := s.records.FindByIdentifier(ctx, cc, ident)
		switch {
		case errors.Is(err, records.ErrNotFound):
		case err != nil:
			return records.Page{}, err
		default:
			page.Resources = append(page.Resources, r)
		}
		page.Total = int64(len(page.Resources))
		if countOnly {
			page.Resources = nil
		}
		return page, nil
	}
	if countOnly {
		n, err := s.records.Count(ctx, cc, q)
		return records.Page{Total: n}, err
	}
	return s.records.Search(ctx, cc, q)
}

// identifierOnly reports whether q is a first-page Patient search by exactly
// one system|value identifier, and returns it.
func identifierOnly(q records.Query) (string, bool) {
	if q.Type != "Patient" || q.After != "" || len(q.Conds) != 1 {
		return "", false
	}
	c := q.Conds[0]
	if c.Key != "identifier" || c.Op != records.OpEq || len(c.Values) != 1 {
		return "", false
	}
	sys, val, ok := strings.Cut(c.Values[0], "|")
	return c.Values[0], ok && sys != "" && val != ""
}

// searchParams returns the search parameters of the URL and, for POST
// _search, of the form body, without _format (checked by negotiate).
func (s *Server) searchParams(c echo.Context) (url.Values, error) {
	params := url.Values{}
	for k, v := range c.QueryParams() {
		params[k] = slices.Clone(v)
	}
	if c.Request().Method == http.MethodPost {
		body, err := s.readBody(c)
		if err != nil && !isEmptyBody(err) {
			return nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &records.FieldError{Field: "body", Reason: "_search wants application/x-www-form-urlencoded parameters", Kind: records.ErrMalformed}
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	delete(params, "_format")
	return params, nil
}

// isEmptyBody reports whether err is readBody's complaint about no body.
func isEmptyBody(err error) bool {
	fe, ok := err.(*records.FieldError)
	return ok && fe.Field == "body"
}

// Type history bounds: how many resources' histories one request returns.
const (
	defaultHistoryCount = 20
	maxHistoryCount     = 100
)

// handleTypeHistory serves GET /fhir/:type/_history: every version of the
// most recently changed resources of typ (_count of them, default 20),
// newest first, optionally only those changed at or after _since.
func (s *Server) handleTypeHistory(c echo.Context) error {
	typ := c.Param("type")
	if err := readableType(typ); err != nil {
		return err
	}
	if typ == "AuditEvent" {
		return errorf(records.ErrNotSupported, "AuditEvent has no history")
	}
	q := records.Query{Type: typ, Sort: []records.SortKey{{Key: "_lastUpdated", Desc: true}}, Count: defaultHistoryCount}
	if v := c.QueryParam("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &records.FieldError{Field: "_count", Reason: "want a positive integer", Kind: records.ErrMalformed}
		}
		q.Count = min(n, maxHistoryCount)
	}
	var since time.Time
	if v := c.QueryParam("_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return &records.FieldError{Field: "_since", Reason: "want an instant such as 2025-01-31T00:00:00Z", Kind: records.ErrMalformed}
		}
		since = t
		q.Conds = append(q.Conds, records.Cond{Key: "_lastUpdated", Op: records.OpGe, Values: []string{t.UTC().Format(fhir.TimeFormat)}})
	}
	ctx := c.Request().Context()
	page, err := s.records.Search(ctx, country(c), q)
	if err != nil {
		return err
	}
	var versions []records.Resource
	for _, r := range page.Resources {
		vs, err := s.records.History(ctx, country(c), typ, r.ID)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if !v.Updated.Before(since) {
				versions = append(versions, v)
			}
		}
	}
	slices.SortStableFunc(versions, func(a, b records.Resource) int { return b.Updated.Compare(a.Updated) })
	auditOf(c).disclose(versions...)
	b, err := fhir.HistoryBundle(base(c), typ+"/_history", versions)
	if err != nil {
		return err
	}
	return writeBundle(c, http.StatusOK, b)
}
