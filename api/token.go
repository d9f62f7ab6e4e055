package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"contigo/records"
)

// Role is what a token's holder may do.
type Role string

// Roles. See Allowed for what each may do.
const (
	RoleHealthWorker  Role = "health-worker"  // read and write records of its countries
	RoleMinistry      Role = "ministry"       // read, search and write records (FHIR integration), read audit events
	RoleNutritionLead Role = "nutrition-lead" // alerts and indicators only: no FHIR records
	RoleAdmin         Role = "admin"          // everything, in its countries
)

// Roles lists every role, for help texts and validation.
var Roles = []Role{RoleHealthWorker, RoleMinistry, RoleNutritionLead, RoleAdmin}

// ParseRole returns the Role named s; an error matching records.ErrInvalid
// if there is no such role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", &records.FieldError{Field: "role", Reason: fmt.Sprintf("unknown role %q (want one of health-worker, ministry, nutrition-lead, admin)", s)}
}

// Claims are the contents of a bearer token.
type Claims struct {
	Subject   string   `json:"sub"`       // who: a user or system name, written to audit entries
	Role      Role     `json:"role"`      // what they may do
	Countries []string `json:"countries"` // which countries' records they may reach
	IssuedAt  int64    `json:"iat"`       // Unix seconds
	ExpiresAt int64    `json:"exp"`       // Unix seconds
	ID        string   `json:"jti"`       // unique token id
}

// Reaches reports whether the claims name country cc.
func (c Claims) Reaches(cc records.Country) bool {
	for _, s := range c.Countries {
		if records.Country(s) == cc {
			return true
		}
	}
	return false
}

// MinKeySize is the smallest HMAC-SHA256 signing key accepted, in bytes.
const MinKeySize = 32

// NewKey returns a new random signing key of 32 bytes.
func NewKey() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand)
	return k
}

// jwtHeader is the only header this node signs and accepts.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// SignToken returns c as a compact JWT signed with HMAC-SHA256 under key. It
// fills IssuedAt and ID when they are zero. It fails if key is too short or
// the claims are incomplete (no subject, unknown role, no country, no expiry).
func SignToken(key []byte, c Claims) (string, error) {
	if len(key) < MinKeySize {
		return "", fmt.Errorf("sign token: key of %d bytes, want at least %d", len(key), MinKeySize)
	}
	if c.IssuedAt == 0 {
		c.IssuedAt = time.Now().Unix()
	}
	if c.ID == "" {
		c.ID = records.NewID()
	}
	if err := c.valid(); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac(key, signing)), nil
}

func mac(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func (c Claims) valid() error {
	var errs []error
	if c.Subject == "" {
		errs = append(errs, errors.New("no subject"))
	}
	if _, err := ParseRole(string(c.Role)); err != nil {
		errs = append(errs, err)
	}
	if len(c.Countries) == 0 {
		errs = append(errs, errors.New("no country"))
	}
	for _, s := range c.Countries {
		if cc, err := records.ParseCountry(s); err != nil || string(cc) != s {
			errs = append(errs, fmt.Errorf("country %q is not an upper-case ISO 3166-1 alpha-2 code", s))
		}
	}
	if c.ExpiresAt <= c.IssuedAt {
		errs = append(errs, errors.New("expiry not after issue time"))
	}
	return errors.Join(errs...)
}

// VerifyToken checks a compact JWT signed by SignToken under key and returns
// its claims. Every failure matches records.ErrUnauthorized: a malformed
// token, any algorithm but HS256 (including "none"), a wrong signature, an
// expired token or one issued in the future (beyond a minute of clock skew),
// or incomplete claims.
func VerifyToken(key []byte, token string, now time.Time) (Claims, error) {
	fail := func(why string) (Claims, error) {
		return Claims{}, fmt.Errorf("bearer token %s: %w", why, records.ErrUnauthorized)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fail("is malformed")
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return fail("is malformed")
	}
	var h struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return fail("is malformed")
	}
	if h.Alg != "HS256" {
		return fail("uses an algorithm other than HS256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fail("is malformed")
	}
	if len(key) < MinKeySize || !hmac.Equal(sig, mac(key, parts[0]+"."+parts[1])) {
		return fail("has a wrong signature")
	}
	rawClaims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fail("is malformed")
	}
	var c Claims
	if err := json.Unmarshal(rawClaims, &c); err != nil {
		return fail("is malformed")
	}
	if err := c.valid(); err != nil {
		return fail("has incomplete claims")
	}
	const skew = time.Minute
	switch {
	case now.Unix() >= c.ExpiresAt:
		return fail("has expired")
	case time.Unix(c.IssuedAt, 0).After(now.Add(skew)):
		return fail("is issued in the future")
	}
	return c, nil
}
