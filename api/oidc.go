package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"contigo/records"
)

// OIDCConfig accepts bearer tokens issued by an external OpenID Connect
// provider (a ministry's identity provider), mapped to this node's roles
// and countries by claim names.
type OIDCConfig struct {
	Issuer       string       // the provider's issuer URL; tokens must carry it as iss; required
	Audience     string       // the aud tokens must name; required
	JWKSURL      string       // the provider's keys; "" reads jwks_uri from Issuer/.well-known/openid-configuration
	RoleClaim    string       // the claim holding the role (a string or a list; the first known role wins); default "role"
	CountryClaim string       // the claim holding the countries (a string, space- or comma-separated, or a list); default "countries"
	SubjectClaim string       // the claim naming the person for the audit; default "sub"
	Client       *http.Client // fetches discovery and keys; nil means a client with a 10 s timeout
}

// oidcVerifier checks tokens of the configured provider. Its key set is
// fetched on first use and again when a token names an unknown key id, at
// most once every oidcRefreshEvery (so unknown kids cannot flood the
// provider).
type oidcVerifier struct {
	cfg OIDCConfig

	mu      sync.Mutex
	keys    *jose.JSONWebKeySet
	fetched time.Time
}

// oidcRefreshEvery bounds how often an unknown kid refetches the JWKS.
const oidcRefreshEvery = 10 * time.Second

// oidcAlgs are the signature algorithms accepted from the provider.
var oidcAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

func newOIDCVerifier(cfg *OIDCConfig) (*oidcVerifier, error) {
	if cfg == nil {
		return nil, nil
	}
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("oidc: no issuer"))
	}
	if cfg.Audience == "" {
		errs = append(errs, errors.New("oidc: no audience"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := *cfg
	c.RoleClaim = cmpOr(c.RoleClaim, "role")
	c.CountryClaim = cmpOr(c.CountryClaim, "countries")
	c.SubjectClaim = cmpOr(c.SubjectClaim, "sub")
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcVerifier{cfg: c}, nil
}

// key returns the provider's public key kid, fetching the key set if it
// is not known yet or kid is unknown (rate-limited).
func (v *oidcVerifier) key(ctx context.Context, kid string, now time.Time) (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	find := func() any {
		if v.keys == nil {
			return nil
		}
		for _, k := range v.keys.Key(kid) {
			if k.Valid() && k.IsPublic() && (k.Use == "" || k.Use == "sig") {
				return k.Key
			}
		}
		return nil
	}
	if k := find(); k != nil {
		return k, nil
	}
	if v.keys != nil && now.Sub(v.fetched) < oidcRefreshEvery {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	ks, err := v.fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc keys: %w", err)
	}
	v.keys, v.fetched = ks, now
	if k := find(); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

// fetch reads the JWKS, from JWKSURL or the discovery document.
func (v *oidcVerifier) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	url := v.cfg.JWKSURL
	if url == "" {
		var disc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := v.getJSON(ctx, strings.TrimSuffix(v.cfg.Issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
			return nil, err
		}
		if disc.Issuer != v.cfg.Issuer || disc.JWKSURI == "" {
			return nil, fmt.Errorf("discovery document names issuer %q (want %q) and jwks_uri %q", disc.Issuer, v.cfg.Issuer, disc.JWKSURI)
		}
		url = disc.JWKSURI
	}
	var ks jose.JSONWebKeySet
	if err := v.getJSON(ctx, url, &ks); err != nil {
		return nil, err
	}
	return &ks, nil
}

func (v *oidcVerifier) getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	resp, err := v.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	return nil
}

// verify checks a token of the provider: signature by a key of its JWKS,
// iss, aud, exp (required), nbf and iat with ClockSkew, a lifetime of at
// most maxLife; then maps the role and country claims. Every failure
// matches records.ErrUnauthorized.
func (v *oidcVerifier) verify(ctx context.Context, token string, now time.Time, maxLife time.Duration) (Claims, error) {
	fail := func(format string, args ...any) (Claims, error) {
		return Claims{}, fmt.Errorf("oidc token: %s: %w", fmt.Sprintf(format, args...), records.ErrUnauthorized)
	}
	mc := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, mc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.key(ctx, kid, now)
	}, jwt.WithValidMethods(oidcAlgs), jwt.WithLeeway(ClockSkew), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
		jwt.WithIssuer(v.cfg.Issuer), jwt.WithAudience(v.cfg.Audience), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return fail("%v", unwrapJWT(err))
	}
	exp, _ := mc.GetExpirationTime()
	iat, _ := mc.GetIssuedAt()
	nbf, _ := mc.GetNotBefore()
	start := iat
	if start == nil {
		start = nbf
	}
	if start == nil {
		return fail("no iat")
	}
	if exp.Unix()-start.Unix() > int64(maxLife/time.Second) {
		return fail("lives longer than this node's maximum of %s", maxLife)
	}
	cl := Claims{Issuer: v.cfg.Issuer, IssuedAt: start.Unix(), ExpiresAt: exp.Unix()}
	if nbf != nil {
		cl.NotBefore = nbf.Unix()
	}
	cl.ID, _ = mc["jti"].(string)
	sub, _ := mc[v.cfg.SubjectClaim].(string)
	if sub == "" {
		return fail("no %s claim", v.cfg.SubjectClaim)
	}
	cl.Subject = "oidc:" + sub
	for _, r := range claimStrings(mc[v.cfg.RoleClaim]) {
		if role, err := ParseRole(r); err == nil {
			cl.Role = role
			break
		}
	}
	if cl.Role == "" {
		return fail("claim %s names no role of this node", v.cfg.RoleClaim)
	}
	for _, s := range claimStrings(mc[v.cfg.CountryClaim]) {
		cc, err := records.ParseCountry(s)
		if err != nil {
			return fail("claim %s holds a value that is not a country code", v.cfg.CountryClaim)
		}
		cl.Countries = append(cl.Countries, string(cc))
	}
	if len(cl.Countries) == 0 {
		return fail("claim %s names no country", v.cfg.CountryClaim)
	}
	return cl, nil
}

// claimStrings reads a claim that is a string (space- or comma-separated
// values) or a list of strings.
func claimStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.FieldsFunc(x, func(r rune) bool { return r == ' ' || r == ',' })
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
