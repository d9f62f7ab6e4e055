package api

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/records"
)

// disclosure is one resource a request created, changed or returned beyond
// the one its main audit entry names: each entry of a batch Bundle, each
// resource a search included (_include, _revinclude).
type disclosure struct {
	via          string // how it was touched: "batch" when empty, "include" for _include
	interaction  string // read, create, update, delete
	action       string // R, C, U
	resourceType string
	resourceID   string
	outcome      int
}

// disclosureOf describes a batch entry that succeeded with res.
func disclosureOf(method string, res records.Resource, status int) disclosure {
	d := disclosure{resourceType: res.Type, resourceID: res.ID, outcome: status}
	switch {
	case method == "POST" || (method == "PUT" && status == 201): // a conditional PUT that created
		d.interaction, d.action = "create", "C"
	case method == "PUT":
		d.interaction, d.action = "update", "U"
	case method == "DELETE":
		d.interaction, d.action = "delete", "D"
	default:
		d.interaction, d.action = "read", "R"
	}
	return d
}

// auditDisclosures appends one audit entry per disclosure, like main (same
// actor, country, request id), naming its resource and person, so that
// AuditEvent?patient=X lists every request that touched X.
func (s *Server) auditDisclosures(ctx context.Context, main records.AuditEntry, ds []disclosure) {
	for _, d := range ds {
		e := main
		e.ID = records.NewID()
		e.Interaction, e.Action = cmpOr(d.via, "batch")+"-"+d.interaction, d.action
		e.ResourceType, e.ResourceID = d.resourceType, d.resourceID
		e.PersonID = records.PersonOf(d.resourceType, d.resourceID)
		e.Outcome = d.outcome
		if err := s.records.Store().AppendAudit(ctx, e.Country, e); err != nil {
			s.log.ErrorContext(ctx, "append audit entry", "request_id", e.RequestID, "err", err)
		}
	}
}

// bearer verifies the request's bearer token.
func (s *Server) bearer(c echo.Context) (Claims, error) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" {
		return Claims{}, errorf(records.ErrUnauthorized, "no bearer token (send Authorization: Bearer <token>)")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Claims{}, errorf(records.ErrUnauthorized, "authorization is not a bearer token")
	}
	return s.verifyBearer(c.Request().Context(), token)
}

// auditUnauthenticated records a refused authentication: when, where
// (route and method), the request id, the outcome (401, or 503 when the
// revocation list could not be read). Nothing of the token
// and no resource id or person is kept: the caller is unknown and the URL
// may name a patient.
func (s *Server) auditUnauthenticated(c echo.Context, err error) {
	cc := country(c)
	if !s.hosted[cc] {
		cc = s.countries[0]
	}
	e := records.AuditEntry{
		ID:          records.NewID(),
		Time:        s.now().UTC(),
		Actor:       "unauthenticated",
		Role:        "unauthenticated",
		Country:     cc,
		Action:      "E",
		Interaction: "authenticate " + c.Request().Method + " " + c.Path(),
		Outcome:     statusOf(c, err),
		RequestID:   requestID(c),
	}
	ctx := context.WithoutCancel(c.Request().Context())
	if err := s.records.Store().AppendAudit(ctx, cc, e); err != nil {
		s.ops.auditFailures.Inc()
		s.log.ErrorContext(ctx, "append audit entry", "request_id", e.RequestID, "err", err)
	}
}

// maxAuditPersons bounds the persons one audit entry names; a page is
// never larger (searches, $match and lists cap their pages well below).
const maxAuditPersons = 2000

// disclose adds the persons of resources to the request's audit entry.
func (a *auditInfo) disclose(rs ...records.Resource) {
	for _, r := range rs {
		if p := records.PersonOf(r.Type, r.ID); p != "" {
			a.persons = append(a.persons, p)
		}
	}
}

// discloseEntries adds the persons of searchset entries (local or from a
// peer: their fullUrl ends in <type>/<id>) to the request's audit entry.
func (a *auditInfo) discloseEntries(es []searchEntry) {
	for _, e := range es {
		if e.Search != nil && e.Search.Mode == "outcome" {
			continue
		}
		rest, id := cutLast(e.FullURL)
		_, typ := cutLast(rest)
		if p := records.PersonOf(typ, id); p != "" {
			a.persons = append(a.persons, p)
		}
	}
}

// cutLast splits s at its last slash.
func cutLast(s string) (string, string) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// withholdOrDisclose completes e from a: a refusal (4xx, 5xx) disclosed
// nothing beyond the opaque ids the URL names, which stay so that a denied
// attempt on X (403) shows in X's access history; a success names every
// person whose data left, once each. A refused authentication (401) is
// audited apart, without any id (auditUnauthenticated).
func withholdOrDisclose(e *records.AuditEntry, a *auditInfo) {
	if e.Outcome >= 400 {
		return
	}
	seen := map[string]bool{e.PersonID: true}
	for _, p := range a.persons {
		if !seen[p] && len(e.Persons) < maxAuditPersons {
			seen[p] = true
			e.Persons = append(e.Persons, p)
		}
	}
}

// bundleEntries returns the entries of a Bundle answer with a fullUrl
// (<type>/<id> filled in from the resource when absent); nil if body is
// not a Bundle.
func bundleEntries(body []byte) []searchEntry {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			FullURL  string       `json:"fullUrl"`
			Search   *entrySearch `json:"search"`
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" {
		return nil
	}
	out := make([]searchEntry, 0, len(b.Entry))
	for _, e := range b.Entry {
		u := e.FullURL
		if e.Resource.ResourceType != "" && e.Resource.ID != "" {
			u = e.Resource.ResourceType + "/" + e.Resource.ID
		}
		out = append(out, searchEntry{FullURL: u, Search: e.Search})
	}
	return out
}
