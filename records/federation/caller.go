package federation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"contigo/records"
)

// HeaderCaller is the HTTP header that carries the original user's
// identity and purpose from node to node.
const HeaderCaller = "Contigo-Caller"

// CallerTTL is how long a Caller assertion is valid after it is signed:
// one request's worth. With CallerSkew on either side, a receiving node
// accepts an assertion for at most CallerTTL + 2*CallerSkew = 60 s; the
// receiving node also refuses a second use of its jti (api: a replay
// cache in the database, shared by its replicas).
const CallerTTL = 30 * time.Second

// CallerSkew is the clock difference allowed between nodes.
const CallerSkew = 15 * time.Second

// Purpose is why a record is read across a border. Each maps to a code of
// HL7 v3 PurposeOfUse for AuditEvent.purposeOfEvent.
type Purpose string

// Purposes.
const (
	PurposeTreatment    Purpose = "treatment"     // continuing care (v3 TREAT)
	PurposeEmergency    Purpose = "emergency"     // emergency read, reason required (v3 ETREAT)
	PurposeReferral     Purpose = "referral"      // handing care over to the next country (v3 COC)
	PurposePublicHealth Purpose = "public-health" // surveillance and indicators (v3 PUBHLTH)
)

// Code returns the HL7 v3 PurposeOfUse code
// (http://terminology.hl7.org/CodeSystem/v3-ActReason) of p, "" if unknown.
func (p Purpose) Code() string {
	switch p {
	case PurposeTreatment:
		return "TREAT"
	case PurposeEmergency:
		return "ETREAT"
	case PurposeReferral:
		return "COC"
	case PurposePublicHealth:
		return "PUBHLTH"
	}
	return ""
}

// Caller is the user on whose behalf a node calls a peer: who, in which
// role, from which country, and why. The calling node signs it with its
// federation key and sends it in HeaderCaller over mutual TLS; the
// receiving node verifies the signature against the client certificate of
// the connection, checks that the certificate speaks for From, applies its
// own rules to Role and Purpose, and writes both into its AuditEvent.
type Caller struct {
	Subject   string          `json:"sub"`              // the user's opaque id on the calling node
	Role      string          `json:"role"`             // the user's role there, e.g. health-worker
	From      records.Country `json:"from"`             // the country the user works in
	Purpose   Purpose         `json:"purpose"`          // why
	Reason    string          `json:"reason,omitempty"` // required for emergency; audited, never logged
	RequestID string          `json:"rid,omitempty"`    // the calling node's request id, to correlate audits
	Audience  records.Country `json:"aud"`              // the country (so the node) the request is for
	Method    string          `json:"m"`                // the HTTP method of the request
	Path      string          `json:"p"`                // the URL path of the request, without the query
	ID        string          `json:"jti"`              // unique id: the receiving node accepts it once
	IssuedAt  int64           `json:"iat"`              // Unix seconds
	Expires   int64           `json:"exp"`              // Unix seconds
}

// Target is the request a Caller assertion must name: checked by the
// receiving node against the request it got.
type Target struct {
	Audience records.Country // the country of the request's URL, hosted by the receiving node
	Method   string          // the request's method
	Path     string          // the request's URL path
}

// ErrBadCaller is the kind of every Caller verification failure; it
// matches records.ErrForbidden, since the TLS layer already authenticated
// the node.
var ErrBadCaller = fmt.Errorf("bad caller assertion: %w", records.ErrForbidden)

// validate checks the fields that do not depend on the connection.
func (c *Caller) validate() error {
	var errs []string
	if c.Subject == "" {
		errs = append(errs, "sub missing")
	}
	if c.Role == "" {
		errs = append(errs, "role missing")
	}
	if _, err := records.ParseCountry(string(c.From)); err != nil || strings.ToUpper(string(c.From)) != string(c.From) {
		errs = append(errs, "from is not an upper-case country code")
	}
	if c.Purpose.Code() == "" {
		errs = append(errs, fmt.Sprintf("unknown purpose %q", c.Purpose))
	}
	if c.Purpose == PurposeEmergency && strings.TrimSpace(c.Reason) == "" {
		errs = append(errs, "an emergency read needs a reason")
	}
	if c.Audience == "" || c.Method == "" || c.Path == "" {
		errs = append(errs, "aud, method and path are required")
	}
	if c.ID == "" {
		errs = append(errs, "jti missing")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrBadCaller, strings.Join(errs, "; "))
	}
	return nil
}

// Sign returns the header value for c: base64url(JSON) "." base64url(signature),
// signed by key (the node's federation private key: ECDSA, Ed25519 or
// RSA), valid from now for CallerTTL, with a new jti if c has none. It
// fails if c is incomplete (no subject, role, country, a known purpose, an
// emergency without a reason, no audience, method or path) or signing fails.
func (c Caller) Sign(key crypto.Signer, now time.Time) (string, error) {
	c.IssuedAt, c.Expires = now.Unix(), now.Add(CallerTTL).Unix()
	if c.ID == "" {
		c.ID = records.NewID()
	}
	if err := c.validate(); err != nil {
		return "", err
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sign caller: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	sig, err := signPayload(key, []byte(payload))
	if err != nil {
		return "", fmt.Errorf("sign caller: %w", err)
	}
	return payload + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// VerifyCaller checks a HeaderCaller value received on a connection whose
// verified client certificate is peer, for the request want: the signature
// is peer's, the assertion names want's audience, method and path, is
// current at now (CallerSkew allowed, CallerTTL at most between iat and
// exp), complete, and From is one of the countries peer speaks for. It
// does not remember jtis: the caller must refuse a second use of c.ID.
// Every failure matches ErrBadCaller and records.ErrForbidden; the message
// never repeats the header's content.
func VerifyCaller(header string, peer *x509.Certificate, want Target, now time.Time) (Caller, error) {
	if peer == nil {
		return Caller{}, fmt.Errorf("%w: no client certificate", ErrBadCaller)
	}
	payload, sig64, ok := strings.Cut(header, ".")
	if !ok {
		return Caller{}, fmt.Errorf("%w: want payload.signature", ErrBadCaller)
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil {
		return Caller{}, fmt.Errorf("%w: signature is not base64url", ErrBadCaller)
	}
	if err := verifyPayload(peer.PublicKey, []byte(payload), sig); err != nil {
		return Caller{}, fmt.Errorf("%w: %v", ErrBadCaller, err)
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Caller{}, fmt.Errorf("%w: payload is not base64url", ErrBadCaller)
	}
	var c Caller
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Caller{}, fmt.Errorf("%w: payload is not a caller", ErrBadCaller)
	}
	if err := c.validate(); err != nil {
		return Caller{}, err
	}
	skew := int64(CallerSkew / time.Second)
	if t := now.Unix(); t+skew < c.IssuedAt || t-skew > c.Expires || c.Expires-c.IssuedAt > int64(CallerTTL/time.Second) || c.Expires < c.IssuedAt {
		return Caller{}, fmt.Errorf("%w: expired or not yet valid", ErrBadCaller)
	}
	if c.Audience != want.Audience || c.Method != want.Method || c.Path != want.Path {
		return Caller{}, fmt.Errorf("%w: the assertion names another node, method or path than this request's", ErrBadCaller)
	}
	if !slices.Contains(CertCountries(peer), c.From) {
		return Caller{}, fmt.Errorf("%w: the peer's certificate does not speak for %s", ErrBadCaller, c.From)
	}
	return c, nil
}

func signPayload(key crypto.Signer, payload []byte) ([]byte, error) {
	if _, ok := key.Public().(ed25519.PublicKey); ok {
		return key.Sign(rand.Reader, payload, crypto.Hash(0))
	}
	digest := sha256.Sum256(payload)
	return key.Sign(rand.Reader, digest[:], crypto.SHA256)
}

func verifyPayload(pub any, payload, sig []byte) error {
	digest := sha256.Sum256(payload)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(k, digest[:], sig) {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(k, payload, sig) {
			return nil
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil {
			return nil
		}
	default:
		return errors.New("unsupported key type")
	}
	return errors.New("signature does not verify")
}
