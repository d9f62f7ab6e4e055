package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/records"
)

// Context keys set by the middleware.
const (
	keyCountry = "contigo.country" // string: the country of the request
	keyClaims  = "contigo.claims"  // Claims: the verified token
	keyAudit   = "contigo.audit"   // *auditInfo: what the handler touched
)

// perm is a kind of access a route needs.
type perm uint8

const (
	permRead   perm = iota // read, search, history, $everything of records
	permWrite              // create, update, transaction, batch
	permAudit              // read and search AuditEvent
	permExport             // Bulk Data $export of a whole country (bulk.go)
)

// allowed reports whether role may do p. Ministries integrate through FHIR
// and "read and write the same records" as health workers (issue 3), so they
// may write too, and they oversee access (audit events). Nutrition leads see
// alerts and indicators, never records.
func allowed(role Role, p perm) bool {
	switch role {
	case RoleAdmin:
		return true
	case RoleMinistry:
		return true
	case RoleHealthWorker:
		return p == permRead || p == permWrite
	}
	return false
}

// errorf returns an error of kind with a message; kind stays matchable.
func errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), kind)
}

// defaultCountry serves /fhir/... for the node's first hosted country.
func (s *Server) defaultCountry(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(keyCountry, string(s.countries[0]))
		return next(c)
	}
}

// country returns the country of the request.
func country(c echo.Context) records.Country {
	cc, _ := c.Get(keyCountry).(string)
	return records.Country(cc)
}

// claims returns the verified token of the request.
func claims(c echo.Context) Claims {
	cl, _ := c.Get(keyClaims).(Claims)
	return cl
}

// authenticate verifies the bearer token: 401 if missing or bad. The
// capability statement is public, so that clients can discover the server
// before they hold a token.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if publicRoute(c.Path()) {
			return next(c)
		}
		cl, err := s.bearer(c)
		if err != nil {
			if lerr := s.lim.authFailed(c); lerr != nil {
				return lerr // not audited: the audit log is no sink for floods
			}
			s.auditUnauthenticated(c, err)
			return err
		}
		if lerr := s.lim.tokenRequest(c, cl.Subject); lerr != nil {
			return lerr
		}
		c.Set(keyClaims, cl)
		return next(c) // the country is checked by interaction, so that a 403 is audited
	}
}

// auditInfo is what a handler touched, for the audit entry.
type auditInfo struct {
	interaction  string
	action       string
	resourceType string
	resourceID   string
	personID     string
	disclosed    []disclosure // one more entry each: the batch entries
	persons      []string     // every other person whose data the answer holds
}

// audit appends an audit entry for every authenticated request to a route
// that touches records, whatever its outcome, after the handler returns.
// The entry is written even if the client hung up (context.WithoutCancel);
// a failure to write it is logged, as the response is already decided.
func (s *Server) audit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := &auditInfo{}
		c.Set(keyAudit, a)
		err := next(c)
		if a.interaction == "" {
			return err // unmatched route or unaudited (metadata)
		}
		cl := claims(c)
		if a.personID == "" && a.resourceID != "" {
			a.personID = records.PersonOf(a.resourceType, a.resourceID)
		}
		e := records.AuditEntry{
			ID:           records.NewID(),
			Time:         s.now().UTC(),
			Actor:        cl.Subject,
			Role:         string(cl.Role),
			Country:      country(c),
			Action:       a.action,
			Interaction:  a.interaction,
			ResourceType: a.resourceType,
			ResourceID:   a.resourceID,
			PersonID:     a.personID,
			Outcome:      statusOf(c, err),
			RequestID:    requestID(c),
			Purpose:      purposeOf(c),
		}
		withholdOrDisclose(&e, a)
		ctx := context.WithoutCancel(c.Request().Context())
		if aerr := s.records.Store().AppendAudit(ctx, e.Country, e); aerr != nil {
			s.ops.auditFailures.Inc()
			s.log.ErrorContext(ctx, "append audit entry", "request_id", e.RequestID, "err", aerr)
		}
		s.auditDisclosures(ctx, e, a.disclosed)
		return err
	}
}

// interaction names a route for the audit and checks that the token
// reaches the request's country and that its role may do this: 403
// otherwise, audited like any other outcome.
func (s *Server) interaction(name, action string, p perm, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, _ := c.Get(keyAudit).(*auditInfo)
		if a == nil {
			a = &auditInfo{}
			c.Set(keyAudit, a)
		}
		a.interaction, a.action = name, action
		a.resourceType, a.resourceID = c.Param("type"), c.Param("id")
		if !claims(c).Reaches(country(c)) {
			return errorf(records.ErrForbidden, "token does not reach country %s", country(c))
		}
		if !allowed(claims(c).Role, p) {
			return errorf(records.ErrForbidden, "role %s may not %s", claims(c).Role, name)
		}
		if sc := claims(c).Scope; sc != "" && !scopeAllows(sc, p, routeType(c)) {
			return errorf(records.ErrForbidden, "the token's scopes (%s) do not allow %s on %s", sc, name, cmpOr(routeType(c), "several types"))
		}
		return h(c)
	}
}

// auditOf returns the audit record of the request, for handlers to refine.
func auditOf(c echo.Context) *auditInfo {
	if a, ok := c.Get(keyAudit).(*auditInfo); ok {
		return a
	}
	return &auditInfo{}
}

// routeType returns the resource type a FHIR route works on: the type
// parameter, or the type named in the route template (/Patient/$match),
// "" for routes on several types (transaction, batch).
func routeType(c echo.Context) string {
	if t := c.Param("type"); t != "" {
		return t
	}
	_, rest, ok := strings.Cut(c.Path(), "/fhir/")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(rest, "/")
	if t == "" || strings.HasPrefix(t, "$") || strings.HasPrefix(t, ":") {
		return ""
	}
	return t
}
