package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

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

// Token policy.
const (
	// ClockSkew is how far the clocks of an issuer and this node may
	// disagree: exp, nbf and iat are checked with this much leeway.
	ClockSkew = 30 * time.Second
	// DefaultMaxLifetime bounds exp - iat of a person's token (a shift).
	DefaultMaxLifetime = 12 * time.Hour
	// MaxLifetimeCeiling is the longest lifetime a node may be configured
	// to accept, whatever its configuration says.
	MaxLifetimeCeiling = 7 * 24 * time.Hour
)

// Claims are the contents of a bearer token.
type Claims struct {
	Subject   string   `json:"sub"`             // who: a user or system name, written to audit entries
	Role      Role     `json:"role"`            // what they may do
	Countries []string `json:"countries"`       // which countries' records they may reach
	IssuedAt  int64    `json:"iat"`             // Unix seconds
	NotBefore int64    `json:"nbf,omitempty"`   // Unix seconds; 0 means IssuedAt
	ExpiresAt int64    `json:"exp"`             // Unix seconds
	ID        string   `json:"jti"`             // unique token id, the handle for revocation
	Scope     string   `json:"scope,omitempty"` // SMART system scopes of a backend service token; "" means the role alone decides
	Issuer    string   `json:"iss,omitempty"`   // set for tokens of an external OpenID Connect provider
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

// The jwt.Claims interface, so that the library checks exp, nbf and iat.

// GetExpirationTime implements jwt.Claims.
func (c Claims) GetExpirationTime() (*jwt.NumericDate, error) { return unixDate(c.ExpiresAt), nil }

// GetIssuedAt implements jwt.Claims.
func (c Claims) GetIssuedAt() (*jwt.NumericDate, error) { return unixDate(c.IssuedAt), nil }

// GetNotBefore implements jwt.Claims.
func (c Claims) GetNotBefore() (*jwt.NumericDate, error) { return unixDate(c.NotBefore), nil }

// GetIssuer implements jwt.Claims.
func (c Claims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c Claims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c Claims) GetAudience() (jwt.ClaimStrings, error) { return nil, nil }

func unixDate(s int64) *jwt.NumericDate {
	if s == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(s, 0))
}

// MinKeySize is the smallest HMAC-SHA256 signing key accepted, in bytes.
const MinKeySize = 32

// NewKey returns a new random signing key of 32 bytes.
func NewKey() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand)
	return k
}

// KeyID returns the key id ("kid" header) of an HMAC signing key: the
// first 12 hex digits of its SHA-256, so that a key names itself and a
// token names the key that signed it without revealing it.
func KeyID(key []byte) string {
	h := sha256.Sum256(key)
	return hex.EncodeToString(h[:6])
}

// KeySet holds the node's token signing keys: it signs with the newest
// and accepts every key in the set, so that a key is rotated by adding a
// new one and removing the old one only after the longest token lifetime.
type KeySet struct {
	keys [][]byte          // newest first
	byID map[string][]byte // by KeyID
}

// NewKeySet returns a key set of keys, newest first. It fails if there is
// no key, a key is shorter than MinKeySize, or two keys are the same.
func NewKeySet(keys ...[]byte) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("key set: no signing key")
	}
	ks := &KeySet{byID: map[string][]byte{}}
	for i, k := range keys {
		if len(k) < MinKeySize {
			return nil, fmt.Errorf("key set: key %d of %d bytes, want at least %d", i+1, len(k), MinKeySize)
		}
		id := KeyID(k)
		if _, dup := ks.byID[id]; dup {
			return nil, fmt.Errorf("key set: key %d repeats key %s", i+1, id)
		}
		ks.byID[id] = k
		ks.keys = append(ks.keys, k)
	}
	return ks, nil
}

// IDs returns the key ids, newest first.
func (ks *KeySet) IDs() []string {
	ids := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		ids[i] = KeyID(k)
	}
	return ids
}

// Sign returns c as a compact JWT (HS256) signed with the newest key, its
// key id in the header. It fills IssuedAt and ID when they are zero. It
// fails if the claims are incomplete (no subject, unknown role, no country,
// no expiry after the issue time).
func (ks *KeySet) Sign(c Claims) (string, error) {
	if c.IssuedAt == 0 {
		c.IssuedAt = time.Now().Unix()
	}
	if c.ID == "" {
		c.ID = records.NewID()
	}
	if err := c.valid(); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = KeyID(ks.keys[0])
	s, err := t.SignedString(ks.keys[0])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks a compact JWT signed by a key of the set and returns its
// claims. Every failure matches records.ErrUnauthorized: a malformed
// token, any algorithm but HS256 (including "none"), no or an unknown key
// id, a wrong signature, an expired token, one not valid yet (nbf) or
// issued in the future (beyond ClockSkew), a lifetime (exp - iat) longer
// than maxLife, no jti, or incomplete claims.
func (ks *KeySet) Verify(token string, now time.Time, maxLife time.Duration) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := ks.byID[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return k, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(ClockSkew), jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return Claims{}, fmt.Errorf("bearer token: %w: %w", unwrapJWT(err), records.ErrUnauthorized)
	}
	if err := c.valid(); err != nil {
		return Claims{}, fmt.Errorf("bearer token has incomplete claims: %w", records.ErrUnauthorized)
	}
	if c.ID == "" {
		return Claims{}, fmt.Errorf("bearer token has no jti: %w", records.ErrUnauthorized)
	}
	if c.ExpiresAt-c.IssuedAt > int64(maxLife/time.Second) { // in seconds: a Duration overflows past 292 years
		return Claims{}, fmt.Errorf("bearer token lives longer than this node's maximum of %s: %w", maxLife, records.ErrUnauthorized)
	}
	return c, nil
}

// unwrapJWT keeps the library's reason without the token's content.
func unwrapJWT(err error) error {
	for _, k := range []error{jwt.ErrTokenExpired, jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenSignatureInvalid, jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenRequiredClaimMissing} {
		if errors.Is(err, k) {
			return k
		}
	}
	return errors.New("token is invalid")
}

// SignToken returns c as a compact JWT signed with HMAC-SHA256 under key
// (a key set of that one key). It fails if key is too short or the claims
// are incomplete.
func SignToken(key []byte, c Claims) (string, error) {
	ks, err := NewKeySet(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return ks.Sign(c)
}

// VerifyToken checks a compact JWT signed by SignToken under key, with
// DefaultMaxLifetime; see KeySet.Verify.
func VerifyToken(key []byte, token string, now time.Time) (Claims, error) {
	ks, err := NewKeySet(key)
	if err != nil {
		return Claims{}, fmt.Errorf("bearer token: %w", records.ErrUnauthorized)
	}
	return ks.Verify(token, now, DefaultMaxLifetime)
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
	if c.NotBefore != 0 && c.NotBefore >= c.ExpiresAt {
		errs = append(errs, errors.New("not-before not before expiry"))
	}
	return errors.Join(errs...)
}
