package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"contigo/records"
)

// SMART Backend Services (client credentials with a signed JWT assertion).
const (
	// ClientAssertionType is the only client_assertion_type accepted.
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// MaxAssertionLifetime bounds how far in the future a client
	// assertion's exp may lie (SMART: no more than five minutes).
	MaxAssertionLifetime = 5 * time.Minute
	// SystemTokenLifetime is the lifetime of an access token issued to a
	// backend service.
	SystemTokenLifetime = 5 * time.Minute
)

// assertionAlgs are the client assertion signature algorithms (SMART
// requires servers to support RS384 and ES384).
var assertionAlgs = []string{"RS384", "ES384"}

// smartScopes are the scopes advertised in the SMART configuration.
var smartScopes = []string{"system/*.read", "system/*.write", "system/*.*", "system/Patient.read", "system/Observation.read",
	"system/*.rs", "system/*.cruds"}

// authRoutes registers discovery, the token endpoint, client registration
// and revocation.
func (s *Server) authRoutes(e *echo.Echo, mw ...echo.MiddlewareFunc) {
	e.GET("/.well-known/smart-configuration", s.handleSmartConfig)
	e.GET("/fhir/.well-known/smart-configuration", s.handleSmartConfig)
	e.POST("/auth/token", s.handleToken, mw...)
	admin := append(slices.Clone(mw), s.authenticate, s.audit)
	e.POST("/auth/clients", s.handleAddClient, admin...)
	e.POST("/auth/revoke", s.handleRevoke, admin...)
}

// baseURL is the node's external base URL.
func (s *Server) baseURL(c echo.Context) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// tokenURL is the token endpoint, the audience of client assertions.
func (s *Server) tokenURL(c echo.Context) string { return s.baseURL(c) + "/auth/token" }

// handleSmartConfig serves the SMART App Launch discovery document.
func (s *Server) handleSmartConfig(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.JSON(http.StatusOK, map[string]any{
		"token_endpoint":                                   s.tokenURL(c),
		"grant_types_supported":                            []string{"client_credentials"},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"scopes_supported":                                 smartScopes,
		"capabilities":                                     []string{"client-confidential-asymmetric", "permission-v1", "permission-v2"},
		"response_types_supported":                         []string{"token"},
	})
}

// oauthError is an RFC 6749 section 5.2 error response.
func oauthError(c echo.Context, status int, code, desc string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="contigo", error="`+code+`"`)
	}
	return c.JSON(status, map[string]string{"error": code, "error_description": desc})
}

// handleToken serves POST /auth/token: SMART Backend Services. The client
// authenticates with a JWT it signed (RS384 or ES384) with a key of its
// registered JWKS: iss and sub its client_id, aud this endpoint, exp at
// most five minutes ahead, a jti never used before. It gets an access
// token of its registered role and countries, limited to the granted
// system scopes, valid for SystemTokenLifetime. Issued tokens are audited.
func (s *Server) handleToken(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return oauthError(c, http.StatusBadRequest, "invalid_request", "want an application/x-www-form-urlencoded body")
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		return oauthError(c, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
	}
	if f.Get("client_assertion_type") != ClientAssertionType {
		return oauthError(c, http.StatusUnauthorized, "invalid_client", "client_assertion_type must be "+ClientAssertionType)
	}
	assertion := f.Get("client_assertion")
	if assertion == "" {
		return oauthError(c, http.StatusUnauthorized, "invalid_client", "no client_assertion")
	}
	now := s.now()
	ctx := r.Context()
	var unverified jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, &unverified); err != nil || unverified.Issuer == "" {
		return oauthError(c, http.StatusUnauthorized, "invalid_client", "client_assertion is not a JWT with an iss")
	}
	client, err := s.tokens.BackendClient(ctx, unverified.Issuer)
	if errors.Is(err, records.ErrNotFound) {
		s.auditToken(c, "client:?", "", 401)
		return oauthError(c, http.StatusUnauthorized, "invalid_client", "unknown client")
	}
	if err != nil {
		return err
	}
	subject := "client:" + client.ID
	var keys jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(client.JWKS), &keys); err != nil {
		return fmt.Errorf("client %s: stored JWKS: %w", client.ID, err)
	}
	var ac jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(assertion, &ac, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		cands := keys.Keys
		if kid != "" {
			cands = keys.Key(kid)
		}
		if len(cands) != 1 {
			return nil, fmt.Errorf("no single key for kid %q", kid)
		}
		return cands[0].Key, nil
	}, jwt.WithValidMethods(assertionAlgs), jwt.WithLeeway(ClockSkew), jwt.WithExpirationRequired(),
		jwt.WithIssuer(client.ID), jwt.WithSubject(client.ID), jwt.WithAudience(s.tokenURL(c)),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		s.auditToken(c, subject, client.Countries[0], 401)
		return oauthError(c, http.StatusUnauthorized, "invalid_client", "client_assertion: "+unwrapJWT(err).Error()+" (signed by a registered key with RS384 or ES384, iss and sub the client_id, aud "+s.tokenURL(c)+")")
	}
	if ac.ExpiresAt.After(now.Add(MaxAssertionLifetime + ClockSkew)) {
		s.auditToken(c, subject, client.Countries[0], 400)
		return oauthError(c, http.StatusBadRequest, "invalid_grant", "client_assertion: exp more than five minutes ahead")
	}
	if ac.ID == "" {
		s.auditToken(c, subject, client.Countries[0], 400)
		return oauthError(c, http.StatusBadRequest, "invalid_grant", "client_assertion: no jti")
	}
	if err := s.tokens.UseOnce(ctx, "client-assertion", client.ID+"|"+ac.ID, ac.ExpiresAt.Add(ClockSkew)); err != nil {
		if errors.Is(err, records.ErrConflict) {
			s.auditToken(c, subject, client.Countries[0], 400)
			return oauthError(c, http.StatusBadRequest, "invalid_grant", "client_assertion: jti used before (replay)")
		}
		return err
	}
	role, err := ParseRole(client.Role)
	if err != nil {
		return fmt.Errorf("client %s: %w", client.ID, err)
	}
	granted, err := grantScopes(f.Get("scope"), role)
	if err != nil {
		s.auditToken(c, subject, client.Countries[0], 400)
		return oauthError(c, http.StatusBadRequest, "invalid_scope", err.Error())
	}
	tok, err := s.keys.Sign(Claims{Subject: subject, Role: role, Countries: client.Countries, Scope: granted,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(SystemTokenLifetime).Unix()})
	if err != nil {
		return err
	}
	s.auditToken(c, subject, client.Countries[0], 200)
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
	return c.JSON(http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "bearer", "expires_in": int(SystemTokenLifetime / time.Second), "scope": granted,
	})
}

// auditToken records a token request of a backend service: who asked, the
// outcome. Nothing of the assertion is kept.
func (s *Server) auditToken(c echo.Context, subject, cc string, outcome int) {
	country := records.Country(cc)
	if !s.hosted[country] {
		country = s.countries[0]
	}
	e := records.AuditEntry{ID: records.NewID(), Time: s.now().UTC(), Actor: subject, Role: "system", Country: country,
		Action: "E", Interaction: "token", Outcome: outcome, RequestID: requestID(c)}
	if err := s.records.Store().AppendAudit(c.Request().Context(), country, e); err != nil {
		s.ops.auditFailures.Inc()
		s.log.ErrorContext(c.Request().Context(), "append audit entry", "request_id", e.RequestID, "err", err)
	}
}

// scope is one parsed SMART system scope: a resource type (or "*") and
// whether it reads and writes.
type scope struct {
	typ         string
	read, write bool
}

// parseScope reads a SMART v1 (system/T.read|write|*) or v2
// (system/T.cruds) system scope.
func parseScope(s string) (scope, error) {
	rest, ok := strings.CutPrefix(s, "system/")
	typ, perms, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || typ == "" {
		return scope{}, fmt.Errorf("scope %q: want system/<Type or *>.<read, write, * or cruds letters>", s)
	}
	sc := scope{typ: typ}
	switch perms {
	case "read":
		sc.read = true
	case "write":
		sc.write = true
	case "*":
		sc.read, sc.write = true, true
	default:
		if perms == "" || strings.Trim(perms, "cruds") != "" {
			return scope{}, fmt.Errorf("scope %q: unknown permissions %q", s, perms)
		}
		sc.read = strings.ContainsAny(perms, "rs")
		sc.write = strings.ContainsAny(perms, "cud")
	}
	return sc, nil
}

// grantScopes validates the requested scopes against the client's role:
// every scope must be one the role could use (a nutrition lead reaches no
// FHIR records; only ministries and admins read AuditEvent). It returns
// the granted scopes, space-separated.
func grantScopes(requested string, role Role) (string, error) {
	fields := strings.Fields(requested)
	if len(fields) == 0 {
		return "", errors.New("name at least one scope, e.g. system/*.read")
	}
	for _, f := range fields {
		sc, err := parseScope(f)
		if err != nil {
			return "", err
		}
		if sc.read && !allowed(role, permRead) || sc.write && !allowed(role, permWrite) {
			return "", fmt.Errorf("scope %s is beyond the client's role %s", f, role)
		}
		if sc.typ == "AuditEvent" && !allowed(role, permAudit) {
			return "", fmt.Errorf("scope %s is beyond the client's role %s", f, role)
		}
	}
	return strings.Join(fields, " "), nil
}

// scopeAllows reports whether the space-separated scopes allow p on
// resource type typ ("" for interactions on no single type, such as a
// transaction, which need a "*" scope).
func scopeAllows(scopes string, p perm, typ string) bool {
	if p == permAudit {
		typ = "AuditEvent"
	}
	for _, f := range strings.Fields(scopes) {
		sc, err := parseScope(f)
		if err != nil || (sc.typ != "*" && sc.typ != typ) {
			continue
		}
		if (p == permWrite && sc.write) || (p != permWrite && sc.read) {
			return true
		}
	}
	return false
}

// addClientRequest is the body of POST /auth/clients.
type addClientRequest struct {
	ClientID  string          `json:"client_id"`
	JWKS      json.RawMessage `json:"jwks"`
	Role      string          `json:"role"`
	Countries []string        `json:"countries"`
}

// handleAddClient serves POST /auth/clients: an admin registers (or
// replaces) a backend-service client with its public keys, role and
// countries, which must be among the admin's. Audited.
func (s *Server) handleAddClient(c echo.Context) error {
	cl := claims(c)
	a := auditOf(c)
	a.interaction, a.action = "register-client", "C"
	home := s.homeCountry(cl)
	c.Set(keyCountry, string(cmpOr(string(home), string(s.countries[0]))))
	if home == "" {
		return errorf(records.ErrForbidden, "token reaches no country of this node")
	}
	if cl.Role != RoleAdmin {
		return errorf(records.ErrForbidden, "role %s may not register clients", cl.Role)
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var req addClientRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	var errs []error
	if req.ClientID == "" || len(req.ClientID) > 100 || strings.ContainsAny(req.ClientID, " |") {
		errs = append(errs, &records.FieldError{Field: "client_id", Reason: "1 to 100 characters, no space or |", Kind: records.ErrInvalid})
	}
	if _, err := ParseRole(req.Role); err != nil {
		errs = append(errs, &records.FieldError{Field: "role", Reason: "want health-worker, ministry, nutrition-lead or admin", Kind: records.ErrInvalid})
	}
	if len(req.Countries) == 0 {
		errs = append(errs, &records.FieldError{Field: "countries", Reason: "name at least one country", Kind: records.ErrInvalid})
	}
	for i, s := range req.Countries {
		if cc, err := records.ParseCountry(s); err != nil || string(cc) != s || !cl.Reaches(cc) {
			errs = append(errs, &records.FieldError{Field: fmt.Sprintf("countries[%d]", i), Reason: "an upper-case country code your token reaches", Kind: records.ErrInvalid})
		}
	}
	if err := checkClientJWKS(req.JWKS); err != nil {
		errs = append(errs, &records.FieldError{Field: "jwks", Reason: err.Error(), Kind: records.ErrInvalid})
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	a.resourceID = req.ClientID
	if err := s.tokens.PutClient(c.Request().Context(), records.Client{ID: req.ClientID, JWKS: string(req.JWKS), Role: req.Role,
		Countries: req.Countries, Added: s.now().UTC(), By: cl.Subject}); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"client_id": req.ClientID, "role": req.Role, "countries": req.Countries,
		"token_endpoint": s.tokenURL(c)})
}

// checkClientJWKS accepts a JWKS of public signing keys only: RSA of at
// least 2048 bits or EC P-384, each with a kid when there are several.
func checkClientJWKS(raw json.RawMessage) error {
	var ks jose.JSONWebKeySet
	if len(raw) == 0 {
		return errors.New("missing: the client's public keys as a JSON Web Key Set")
	}
	if err := json.Unmarshal(raw, &ks); err != nil {
		return fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	if len(ks.Keys) == 0 {
		return errors.New("no key")
	}
	for i, k := range ks.Keys {
		if !k.IsPublic() {
			return fmt.Errorf("key %d is private: send the public key only", i)
		}
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				return fmt.Errorf("key %d: RSA key of %d bits, want at least 2048", i, pk.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if pk.Curve != elliptic.P384() {
				return fmt.Errorf("key %d: EC key not on P-384 (ES384)", i)
			}
		default:
			return fmt.Errorf("key %d: want an RSA or EC P-384 key", i)
		}
		if len(ks.Keys) > 1 && k.KeyID == "" {
			return fmt.Errorf("key %d has no kid", i)
		}
	}
	return nil
}
