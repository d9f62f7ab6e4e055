package api

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/records"
)

// disclosure is one resource a request created, changed or returned beyond
// the one its main audit entry names: each entry of a batch Bundle, each
// resource a search included (_include, _revinclude).
type disclosure struct {
	via          string // how it was touched: "batch" when empty, "include" for _include
	interaction  string // read, create, update
	action       string // R, C, U
	resourceType string
	resourceID   string
	outcome      int
}

// disclosureOf describes a batch entry that succeeded with res.
func disclosureOf(method string, res records.Resource, status int) disclosure {
	d := disclosure{resourceType: res.Type, resourceID: res.ID, outcome: status}
	switch method {
	case "POST":
		d.interaction, d.action = "create", "C"
	case "PUT":
		d.interaction, d.action = "update", "U"
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
	return VerifyToken(s.key, strings.TrimSpace(token), s.now())
}

// auditUnauthenticated records a refused authentication: when, where
// (route and method), the request id, outcome 401. Nothing of the token
// and no resource id or person is kept: the caller is unknown and the URL
// may name a patient.
func (s *Server) auditUnauthenticated(c echo.Context) {
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
		Outcome:     401,
		RequestID:   requestID(c),
	}
	ctx := context.WithoutCancel(c.Request().Context())
	if err := s.records.Store().AppendAudit(ctx, cc, e); err != nil {
		s.log.ErrorContext(ctx, "append audit entry", "request_id", e.RequestID, "err", err)
	}
}
