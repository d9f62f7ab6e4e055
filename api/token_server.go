package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"contigo/records"
)

// RevocationCacheTTL is how long a replica trusts its last look-up that a
// token id is not revoked: a token revoked on another replica stays valid
// here for at most this long. On the replica that revoked it, it is
// refused at once; a revoked id is cached as revoked for good.
const RevocationCacheTTL = 5 * time.Second

// revocationCache remembers look-ups of the revoked collection.
type revocationCache struct {
	mu sync.Mutex
	m  map[string]revEntry
}

type revEntry struct {
	revoked bool
	until   time.Time // when to look again (not revoked) or forget (revoked: the token's expiry)
}

// maxRevocationCache bounds the cache; past it, stale entries are dropped.
const maxRevocationCache = 100_000

func (rc *revocationCache) get(id string, now time.Time) (revoked, ok bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	e, ok := rc.m[id]
	if !ok || (!e.revoked && !now.Before(e.until)) {
		return false, false
	}
	return e.revoked, true
}

func (rc *revocationCache) put(id string, e revEntry, now time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.m == nil {
		rc.m = map[string]revEntry{}
	}
	if len(rc.m) >= maxRevocationCache {
		for k, v := range rc.m {
			if !now.Before(v.until) {
				delete(rc.m, k)
			}
		}
	}
	rc.m[id] = e
}

// revoked reports whether the token id jti is revoked, from the cache or
// the database. A database failure is an error (the request is refused
// with 503), never a pass.
func (s *Server) revoked(ctx context.Context, cl Claims) (bool, error) {
	if cl.ID == "" {
		return false, nil // only an external provider's token may lack a jti
	}
	key := cl.Issuer + "|" + cl.ID
	now := s.now()
	if r, ok := s.revCache.get(key, now); ok {
		return r, nil
	}
	_, err := s.tokens.Revocation(ctx, key)
	switch {
	case errors.Is(err, records.ErrNotFound):
		s.revCache.put(key, revEntry{until: now.Add(RevocationCacheTTL)}, now)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("check revocation: %w", err)
	}
	s.revCache.put(key, revEntry{revoked: true, until: time.Unix(cl.ExpiresAt, 0).Add(ClockSkew)}, now)
	return true, nil
}

// verifyBearer checks a bearer token: one of this node's (signed by a key
// of its key set) or, if configured, one of the external OpenID Connect
// provider; then that its id is not revoked.
func (s *Server) verifyBearer(ctx context.Context, token string) (Claims, error) {
	token = strings.TrimSpace(token)
	var cl Claims
	var err error
	if s.oidc != nil && issuerOf(token) == s.oidc.cfg.Issuer {
		cl, err = s.oidc.verify(ctx, token, s.now(), s.maxLife)
	} else {
		cl, err = s.keys.Verify(token, s.now(), s.maxLife)
		if err == nil && cl.Issuer != "" {
			err = fmt.Errorf("bearer token names an issuer: %w", records.ErrUnauthorized)
		}
	}
	if err != nil {
		return Claims{}, err
	}
	r, err := s.revoked(ctx, cl)
	if err != nil {
		return Claims{}, err
	}
	if r {
		return Claims{}, fmt.Errorf("bearer token is revoked: %w", records.ErrUnauthorized)
	}
	return cl, nil
}

// issuerOf returns the iss claim of a token without verifying it ("" if
// it cannot be read), to pick the verifier.
func issuerOf(token string) string {
	mc := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, mc); err != nil {
		return ""
	}
	iss, _ := mc["iss"].(string)
	return iss
}

// revokeRequest is the body of POST /auth/revoke.
type revokeRequest struct {
	JTI     string `json:"jti"`               // the token id to revoke
	Issuer  string `json:"iss,omitempty"`     // the external provider's issuer, for its tokens; "" for this node's
	Reason  string `json:"reason,omitempty"`  // why, kept with the revocation
	Expires int64  `json:"exp,omitempty"`     // the token's expiry (Unix seconds), if known: the record can be purged after it
	Country string `json:"country,omitempty"` // where to audit; default the admin's first country hosted here
}

// handleRevoke serves POST /auth/revoke: an admin revokes a token id. The
// revocation is stored in the database (every replica sees it within
// RevocationCacheTTL, this one at once) and audited.
func (s *Server) handleRevoke(c echo.Context) error {
	cl := claims(c)
	a := auditOf(c)
	a.interaction, a.action, a.resourceType = "revoke-token", "E", ""
	home := s.homeCountry(cl)
	if home == "" {
		return errorf(records.ErrForbidden, "token reaches no country of this node")
	}
	c.Set(keyCountry, string(home))
	if cl.Role != RoleAdmin {
		return errorf(records.ErrForbidden, "role %s may not revoke tokens", cl.Role)
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var req revokeRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	req.JTI = strings.TrimSpace(req.JTI)
	if req.JTI == "" || len(req.JTI) > 200 {
		return &records.FieldError{Field: "jti", Reason: "name the token id to revoke (1 to 200 characters)", Kind: records.ErrInvalid}
	}
	if len(req.Reason) > 500 {
		return &records.FieldError{Field: "reason", Reason: "at most 500 characters", Kind: records.ErrInvalid}
	}
	r := records.Revocation{ID: req.Issuer + "|" + req.JTI, At: s.now().UTC(), By: cl.Subject, Reason: req.Reason}
	if req.Expires > 0 {
		r.Expires = time.Unix(req.Expires, 0)
	}
	if err := s.tokens.Revoke(c.Request().Context(), r); err != nil {
		return err
	}
	s.revCache.put(r.ID, revEntry{revoked: true, until: r.At.Add(MaxLifetimeCeiling)}, s.now())
	a.resourceID = req.JTI
	return c.JSON(http.StatusOK, map[string]any{"jti": req.JTI, "revoked": true, "at": r.At.Format(time.RFC3339)})
}

// homeCountry returns the first country hosted here that cl reaches, "" if none.
func (s *Server) homeCountry(cl Claims) records.Country {
	for _, cc := range s.countries {
		if cl.Reaches(cc) {
			return cc
		}
	}
	return ""
}
