package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"contigo/api"
)

// tokenOptions are serve's token flags.
type tokenOptions struct {
	KeysDir      string        // directory of token keys (token_keys.go); "" means signing.key alone
	MaxLifetime  time.Duration // longest accepted token lifetime
	PublicURL    string        // external base URL: the SMART token endpoint and assertion audience
	OIDCIssuer   string        // external OpenID Connect provider; "" means none
	OIDCAudience string
	OIDCJWKSURL  string
	RoleClaim    string
	CountryClaim string
}

// oidc returns the provider configuration, nil if none.
func (o tokenOptions) oidc() *api.OIDCConfig {
	if o.OIDCIssuer == "" {
		return nil
	}
	return &api.OIDCConfig{Issuer: o.OIDCIssuer, Audience: o.OIDCAudience, JWKSURL: o.OIDCJWKSURL, RoleClaim: o.RoleClaim, CountryClaim: o.CountryClaim}
}

// tokenFlags defines the token flags on fs; the returned function
// validates them after parsing.
func tokenFlags(fs *flag.FlagSet) func() (tokenOptions, error) {
	var o tokenOptions
	fs.StringVar(&o.KeysDir, "signing-keys-dir", "", "directory of token signing keys: the newest *.key (by name) signs, every *.key and *.next is accepted (README, Tokens); default: <data-dir>/signing.key alone")
	fs.DurationVar(&o.MaxLifetime, "max-token-lifetime", api.DefaultMaxLifetime, "longest token lifetime (exp - iat) accepted; at most 168h")
	fs.StringVar(&o.PublicURL, "public-url", "", "the node's external base URL, e.g. https://contigo.example.org: names the SMART token endpoint, the audience of client assertions (default: from each request's Host)")
	fs.StringVar(&o.OIDCIssuer, "oidc-issuer", "", "also accept tokens of this OpenID Connect provider (its issuer URL; keys from its discovery document)")
	fs.StringVar(&o.OIDCAudience, "oidc-audience", "", "the aud the provider's tokens must name (required with --oidc-issuer)")
	fs.StringVar(&o.OIDCJWKSURL, "oidc-jwks-url", "", "the provider's JWKS URL (default: jwks_uri of <issuer>/.well-known/openid-configuration)")
	fs.StringVar(&o.RoleClaim, "oidc-role-claim", "role", "the claim of the provider's tokens holding the role (health-worker, ministry, nutrition-lead, admin)")
	fs.StringVar(&o.CountryClaim, "oidc-country-claim", "countries", "the claim holding the countries (a list, or codes separated by spaces or commas)")
	return func() (tokenOptions, error) {
		var errs []error
		if o.MaxLifetime <= 0 || o.MaxLifetime > api.MaxLifetimeCeiling {
			errs = append(errs, fmt.Errorf("--max-token-lifetime %s: want more than 0 and at most %s", o.MaxLifetime, api.MaxLifetimeCeiling))
		}
		if o.PublicURL != "" {
			if u, err := url.Parse(o.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				errs = append(errs, fmt.Errorf("--public-url %q: want an absolute http(s) URL", o.PublicURL))
			}
		}
		if o.OIDCIssuer != "" && o.OIDCAudience == "" {
			errs = append(errs, errors.New("--oidc-audience: required with --oidc-issuer"))
		}
		if o.OIDCIssuer == "" && (o.OIDCAudience != "" || o.OIDCJWKSURL != "") {
			errs = append(errs, errors.New("--oidc-audience and --oidc-jwks-url need --oidc-issuer"))
		}
		return o, errors.Join(errs...)
	}
}
