package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/federation"
)

// keyCaller holds the verified federation.Caller of a peer request.
const keyCaller = "contigo.caller"

// peerCaller returns the verified caller of a request from a peer node;
// ok is false for a request from a user of this node.
func peerCaller(c echo.Context) (federation.Caller, bool) {
	cl, ok := c.Get(keyCaller).(federation.Caller)
	return cl, ok
}

// countryRoute serves /countries/{cc}/fhir/...: a request from a peer
// node (it carries Contigo-Caller) is verified and served if cc is hosted
// here; a user's request is served here if cc is hosted, forwarded to the
// node hosting cc if a peer does, and 404 otherwise.
func (s *Server) countryRoute(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cc, err := records.ParseCountry(c.Param("cc"))
		if err != nil {
			return errorf(records.ErrNotFound, "country: not an ISO 3166-1 alpha-2 code")
		}
		if c.Request().Header.Get(federation.HeaderCaller) != "" {
			return s.servePeer(c, cc, next)
		}
		if s.hosted[cc] {
			c.Set(keyCountry, string(cc))
			return next(c)
		}
		if s.fed.isPeer(cc) {
			return s.forward(c, cc)
		}
		return errorf(records.ErrNotFound, "country %s is not part of this federation", cc)
	}
}

// peerRoutes are the routes (method and template suffix) a peer may call:
// reads of one record ($everything, $summary), Patient search and
// $match, and referrals in.
var peerRoutes = map[string]bool{
	"GET /metadata":                true,
	"GET /:type":                   true, // Patient only, checked below
	"GET /:type/:id":               true,
	"GET /:type/:id/_history":      true,
	"GET /:type/:id/_history/:vid": true,
	"GET /Patient/:id/$everything": true,
	"GET /Patient/:id/$summary":    true,
	"POST /Patient/$match":         true,
	"POST /Patient/$referral":      true,
}

// peerWriteRoutes are the routes a peer may also call with PeerWrites.
var peerWriteRoutes = map[string]bool{
	"POST /:type":    true,
	"PUT /:type/:id": true,
}

// servePeer verifies a request from a peer node and serves it as the
// caller: the connection's client certificate must come from the
// federation CA (the TLS listener checks that) and sign the Contigo-Caller
// assertion, which must speak for a country of that certificate; the node
// answers peers only for the countries it hosts (403 otherwise), only on
// peerRoutes, and applies its own role rules to the caller's role. A
// person's record is read only with the person's Consent, or in an
// emergency (purpose emergency, with a reason, by a health worker).
func (s *Server) servePeer(c echo.Context, cc records.Country, next echo.HandlerFunc) error {
	r := c.Request()
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return errorf(records.ErrForbidden, "a peer request needs a client certificate of the federation (call the node's peer listener)")
	}
	caller, err := federation.VerifyCaller(r.Header.Get(federation.HeaderCaller), r.TLS.VerifiedChains[0][0],
		federation.Target{Audience: cc, Method: r.Method, Path: r.URL.Path}, s.now())
	if err != nil {
		return err
	}
	// Single use, across replicas: the jti is remembered in the database
	// until the assertion could no longer be accepted anyway.
	if err := s.tokens.UseOnce(r.Context(), "caller", string(caller.From)+"|"+caller.ID,
		time.Unix(caller.Expires, 0).Add(federation.CallerSkew)); err != nil {
		if errors.Is(err, records.ErrConflict) {
			return fmt.Errorf("%w: assertion used before (replay)", federation.ErrBadCaller)
		}
		return err
	}
	if !s.hosted[cc] {
		return errorf(records.ErrForbidden, "this node does not answer peers for country %s", cc)
	}
	if slices.Contains(federation.CertCountries(r.TLS.VerifiedChains[0][0]), cc) {
		return errorf(records.ErrForbidden, "the peer's certificate claims country %s, which this node hosts", cc)
	}
	route := r.Method + " " + strings.TrimPrefix(c.Path(), "/countries/:cc/fhir")
	write := s.fed.peerWrites && peerWriteRoutes[route]
	if (!peerRoutes[route] && !write) || (route == "GET /:type" && c.Param("type") != "Patient") || c.Param("type") == "AuditEvent" {
		return errorf(records.ErrForbidden, "peers may read records, search Patients, $match and refer here; not %s", route)
	}
	role, err := ParseRole(caller.Role)
	if err != nil {
		return errorf(records.ErrForbidden, "caller role is not one this node knows")
	}
	if caller.Purpose == federation.PurposeEmergency && role != RoleHealthWorker {
		return errorf(records.ErrForbidden, "an emergency read is for health workers")
	}
	c.Set(keyCountry, string(cc))
	c.Set(keyCaller, caller)
	// Let the usual authentication, role rules and audit run: a token of
	// this node, for the caller, valid for this request's country only.
	now := s.now()
	tok, err := s.keys.Sign(Claims{Subject: "peer " + string(caller.From) + "/" + caller.Subject, Role: role,
		Countries: []string{string(cc)}, IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Minute).Unix()})
	if err != nil {
		return err
	}
	r.Header.Set(echo.HeaderAuthorization, "Bearer "+tok)
	pid, typ := "", cmpOr(c.Param("type"), "Patient")
	switch {
	case caller.Purpose == federation.PurposeEmergency && r.Method == http.MethodGet:
	case c.Param("id") != "" && (r.Method == http.MethodGet || write):
		pid = records.PersonOf(typ, c.Param("id"))
	case write && typ != "Patient": // a new resource in someone's record
		if pid, err = s.peekSubject(c, typ); err != nil {
			return err
		}
	}
	if pid != "" {
		id, action, interaction := c.Param("id"), "R", "read"
		switch r.Method {
		case http.MethodPost:
			action, interaction = "C", "create"
		case http.MethodPut:
			action, interaction = "U", "update"
		}
		if err := s.requireConsent(r.Context(), cc, pid); err != nil {
			s.appendAudit(c, records.AuditEntry{Actor: "peer " + string(caller.From) + "/" + caller.Subject, Role: caller.Role,
				Country: cc, Action: action, Interaction: interaction, ResourceType: typ, ResourceID: id, PersonID: pid, Outcome: statusOf(c, err)})
			return err
		}
	}
	return next(c)
}

// peekSubject returns the Patient a resource in the request body is
// about, leaving the body for the handler. A body that does not parse
// has no subject: the handler answers it.
func (s *Server) peekSubject(c echo.Context, typ string) (string, error) {
	body, err := s.readBody(c)
	if err != nil {
		return "", err
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	res, err := fhir.Parse(body, typ, s.now())
	if err != nil {
		return "", nil
	}
	return fhir.Subject(res), nil
}

// appendAudit writes e (ID, time, request id and purpose filled in) to the
// audit log of country e.Country, or of in if set; a failure is logged.
func (s *Server) appendAudit(c echo.Context, e records.AuditEntry, in ...records.Country) {
	e.ID, e.Time, e.RequestID = records.NewID(), s.now().UTC(), requestID(c)
	if e.Purpose == "" {
		e.Purpose = purposeOf(c)
	}
	where := e.Country
	if len(in) > 0 {
		where = in[0]
	}
	ctx := context.WithoutCancel(c.Request().Context())
	if err := s.records.Store().AppendAudit(ctx, where, e); err != nil {
		s.log.ErrorContext(ctx, "append audit entry", "request_id", e.RequestID, "err", err)
	}
}

// cmpOr returns a unless it is empty, else b.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// purposeOf is the purpose of the request for its audit entry: the peer
// caller's, or the user's Contigo-Purpose header; an emergency carries its
// reason ("emergency: <reason>"), audited, never logged.
func purposeOf(c echo.Context) string {
	p, reason := "", ""
	if caller, ok := peerCaller(c); ok {
		p, reason = string(caller.Purpose), caller.Reason
	} else {
		p, reason = c.Request().Header.Get(HeaderPurpose), c.Request().Header.Get(HeaderReason)
	}
	switch {
	case federation.Purpose(p).Code() == "":
		return "" // not a purpose: nothing to record
	case p == string(federation.PurposeEmergency) && reason != "":
		return p + ": " + reason
	}
	return p
}

// userCaller authenticates a user of this node for a request that goes to
// a peer, and returns the Caller assertion to send: the token must reach a
// country hosted here (the user's home), the role must read records here,
// and the purpose must be known (emergency needs a reason). It returns the
// home country, where the request is audited.
func (s *Server) userCaller(c echo.Context) (federation.Caller, records.Country, error) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return federation.Caller{}, "", errorf(records.ErrUnauthorized, "no bearer token (send Authorization: Bearer <token>)")
	}
	cl, err := s.verifyBearer(c.Request().Context(), token)
	if err != nil {
		return federation.Caller{}, "", err
	}
	var home records.Country
	for _, cc := range s.countries {
		if cl.Reaches(cc) {
			home = cc
			break
		}
	}
	if home == "" {
		return federation.Caller{}, "", errorf(records.ErrForbidden, "token reaches no country of this node")
	}
	if !allowed(cl.Role, permRead) {
		return federation.Caller{}, "", errorf(records.ErrForbidden, "role %s may not read records", cl.Role)
	}
	purpose := federation.Purpose(cmpOr(c.Request().Header.Get(HeaderPurpose), string(federation.PurposeTreatment)))
	if purpose.Code() == "" {
		return federation.Caller{}, "", &records.FieldError{Field: HeaderPurpose, Reason: "want treatment, emergency, referral or public-health", Kind: records.ErrMalformed}
	}
	reason := strings.TrimSpace(c.Request().Header.Get(HeaderReason))
	if purpose == federation.PurposeEmergency && reason == "" {
		return federation.Caller{}, "", &records.FieldError{Field: HeaderReason, Reason: "an emergency read needs a reason", Kind: records.ErrMalformed}
	}
	return federation.Caller{Subject: cl.Subject, Role: string(cl.Role), From: home, Purpose: purpose, Reason: reason, RequestID: requestID(c)}, home, nil
}

// forwardHeaders are the request headers passed on to the peer.
var forwardHeaders = []string{echo.HeaderContentType, "If-Match", "If-None-Match", "If-None-Exist", "If-Modified-Since", "Prefer"}

// answerHeaders are the peer's answer headers passed back to the user.
var answerHeaders = []string{echo.HeaderContentType, "ETag", "Last-Modified", echo.HeaderLocation, "Content-Location"}

// forward sends a user's request for country cc to the peer hosting it,
// with the user's identity, role and purpose in a signed Contigo-Caller,
// and passes the answer back unchanged (status, body, ETag, Location,
// Content-Type). A peer that does not answer in time gets 504, one that
// cannot be reached or is paused by its breaker 502, both with an
// OperationOutcome naming the country. The request is audited here, in the
// user's home country, as well as on the peer.
func (s *Server) forward(c echo.Context, cc records.Country) error {
	caller, home, err := s.userCaller(c)
	if err != nil {
		return err
	}
	r := c.Request()
	var body []byte
	if r.ContentLength != 0 && r.Method != http.MethodGet && r.Method != http.MethodHead {
		if body, err = io.ReadAll(io.LimitReader(r.Body, s.maxBody+1)); err != nil {
			return errorf(records.ErrMalformed, "read request body: %v", err)
		}
		if int64(len(body)) > s.maxBody {
			return echo.ErrStatusRequestEntityTooLarge
		}
	}
	header := http.Header{}
	for _, k := range forwardHeaders {
		if v := r.Header.Get(k); v != "" {
			header.Set(k, v)
		}
	}
	path := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	var failed atomic.Pointer[peerResponse] // a 5xx answer, passed back as it came
	ans := fanOut(r.Context(), s.fed, []records.Country{cc}, func(ctx context.Context, cc records.Country) (peerResponse, error) {
		resp, err := s.fed.call(ctx, cc, caller, r.Method, path, body, header)
		if err == nil && resp.Status >= 500 {
			failed.Store(&resp)
			err = peerError(cc, resp.Status) // counts against the breaker
		}
		return resp, err
	})
	var resp peerResponse
	switch {
	case len(ans.Replies) > 0:
		resp = ans.Replies[0].Value
	case ans.Failures[0].Reason == federation.FailError && failed.Load() != nil:
		resp = *failed.Load()
	}
	if resp.Status == 0 {
		f := ans.Failures[0]
		status := http.StatusBadGateway
		if f.Reason == federation.FailTimeout {
			status = http.StatusGatewayTimeout
		}
		s.auditForward(c, home, cc, caller, status, nil)
		is := f.Issue()
		is.Severity = r4.IssueSeverityError
		return writeJSON(c, status, r4.OperationOutcome{Issue: []r4.OperationOutcomeIssue{is}})
	}
	s.auditForward(c, home, cc, caller, resp.Status, resp.Body)
	for _, k := range answerHeaders {
		if v := resp.Header.Get(k); v != "" {
			c.Response().Header().Set(k, v)
		}
	}
	c.Response().WriteHeader(resp.Status)
	_, err = c.Response().Write(resp.Body)
	return err
}

// auditForward writes the audit entry of a forwarded request in the
// user's home country: who, which country's record, why, and the answer,
// with every person of a Bundle answer (body).
func (s *Server) auditForward(c echo.Context, home, cc records.Country, caller federation.Caller, status int, body []byte) {
	action := "R"
	switch c.Request().Method {
	case http.MethodPut:
		action = "U"
	case http.MethodPost:
		action = "E"
		if p := c.Path(); strings.HasSuffix(p, "/:type") {
			action = "C"
		}
	case http.MethodDelete:
		action = "D"
	}
	typ, id := c.Param("type"), c.Param("id")
	if typ == "" && id != "" {
		typ = "Patient"
	}
	e := records.AuditEntry{Actor: caller.Subject, Role: caller.Role, Country: cc, Action: action,
		Interaction: "forward " + strings.TrimPrefix(c.Path(), "/countries/:cc/fhir"), ResourceType: typ, ResourceID: id,
		PersonID: records.PersonOf(typ, id), Outcome: status}
	a := &auditInfo{}
	if status < 300 {
		a.discloseEntries(bundleEntries(body))
	}
	withholdOrDisclose(&e, a)
	s.appendAudit(c, e, home)
}
