package federation

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"contigo/records"
)

func TestCaller(t *testing.T) {
	t.Parallel()
	fed := newTestPKI(t)
	nc, _, keyFile := fed.node(t, "ec-node", "EC")
	pair, err := tls.X509KeyPair(nc.CertPEM, nc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	emergency := Caller{Subject: "u-9", Role: "health-worker", From: "EC", Purpose: PurposeEmergency,
		Reason: "unconscious child, no caregiver present", RequestID: "r-1", Audience: "PE", Method: "GET", Path: "/countries/PE/fhir/Patient/p1"}
	target := Target{Audience: "PE", Method: "GET", Path: "/countries/PE/fhir/Patient/p1"}
	h, err := emergency.Sign(key, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyCaller(h, pair.Leaf, target, now.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "u-9" || got.Reason != emergency.Reason || got.Purpose.Code() != "ETREAT" || got.Expires-got.IssuedAt != 30 || got.ID == "" {
		t.Errorf("verified caller %+v", got)
	}

	other, _, _ := fed.node(t, "pe-node", "PE")
	otherPair, err := tls.X509KeyPair(other.CertPEM, other.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, _ := strings.Cut(h, ".")
	for _, tt := range []struct {
		name   string
		header string
		now    time.Time
		cert   *tls.Certificate
	}{
		{"expired", h, now.Add(3 * time.Minute), &pair},
		{"expired beyond 60 s", h, now.Add(46 * time.Second), &pair},
		{"from the future", h, now.Add(-3 * time.Minute), &pair},
		{"from the future beyond the skew", h, now.Add(-16 * time.Second), &pair},
		{"signed by another node", h, now, &otherPair},
		{"tampered payload", strings.Replace(payload, "a", "b", 1) + "." + sig, now, &pair},
		{"no signature", payload, now, &pair},
		{"garbage", "!!.!!", now, &pair},
		{"no certificate", h, now, nil},
	} {
		var err error
		if tt.cert == nil {
			_, err = VerifyCaller(tt.header, nil, target, tt.now)
		} else {
			_, err = VerifyCaller(tt.header, tt.cert.Leaf, target, tt.now)
		}
		if !errors.Is(err, ErrBadCaller) || !errors.Is(err, records.ErrForbidden) {
			t.Errorf("%s: got %v, want ErrBadCaller", tt.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "unconscious") {
			t.Errorf("%s: error repeats the reason: %v", tt.name, err)
		}
	}

	// The assertion names one request: another node, method or path is refused.
	for _, other := range []Target{
		{Audience: "CO", Method: "GET", Path: target.Path},
		{Audience: "PE", Method: "POST", Path: target.Path},
		{Audience: "PE", Method: "GET", Path: "/countries/PE/fhir/Patient/p2"},
	} {
		if _, err := VerifyCaller(h, pair.Leaf, other, now); !errors.Is(err, ErrBadCaller) {
			t.Errorf("target %+v: got %v, want ErrBadCaller", other, err)
		}
	}
	if _, err := VerifyCaller(h, pair.Leaf, target, now.Add(44*time.Second)); err != nil {
		t.Errorf("within exp + skew: %v", err)
	}

	for _, c := range []Caller{
		{Subject: "u", Role: "r", From: "EC", Purpose: PurposeTreatment},
		{Role: "health-worker", From: "EC", Purpose: PurposeTreatment},
		{Subject: "u", From: "EC", Purpose: PurposeTreatment},
		{Subject: "u", Role: "r", From: "Ecuador", Purpose: PurposeTreatment},
		{Subject: "u", Role: "r", From: "EC", Purpose: "curiosity"},
		{Subject: "u", Role: "r", From: "EC", Purpose: PurposeEmergency, Reason: "  "},
	} {
		if _, err := c.Sign(key, now); !errors.Is(err, ErrBadCaller) {
			t.Errorf("Sign(%+v) = %v, want ErrBadCaller", c, err)
		}
	}

	// Ed25519 node keys work too.
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Caller{Subject: "u", Role: "r", From: "EC", Purpose: PurposeReferral, Audience: "PE", Method: "POST", Path: "/x"}).Sign(edKey, now); err != nil {
		t.Errorf("ed25519: %v", err)
	}
}
