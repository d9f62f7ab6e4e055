package federation

import (
	"crypto"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"contigo/records"
)

// FuzzFromPatientJSON: no panic; every rejection is ErrMalformed; what is
// accepted can be scored against itself.
func FuzzFromPatientJSON(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","name":[{"family":"De la Cruz","given":["María José"]}],"birthDate":"2023-04"}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"text":"a b c d"}],"contact":[{"relationship":[{"text":"Madre"}],"name":{"given":["Ana"]}}]}`))
	f.Add([]byte(`{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-nationality","extension":[{"url":"code","valueCodeableConcept":{"text":"VE"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := FromPatientJSON(body)
		if err != nil {
			if !errors.Is(err, records.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if m := Score(p, p); m.Score < 0 || m.Score > 1 {
			t.Fatalf("self score %v", m.Score)
		}
	})
}

// FuzzParsePeers: no panic; errors are ErrMalformed or ErrInvalid; an
// accepted file has an https URL and a positive timeout for every peer.
func FuzzParsePeers(f *testing.F) {
	f.Add([]byte(`{"ca":"ca.pem","cert":"c.pem","key":"k.pem","peers":{"EC":{"url":"https://ec:8443","timeout":"2s"}}}`))
	f.Add([]byte(`{"peers":{"pe":{"url":"http://x"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParsePeers(data, "/etc/contigo")
		if err != nil {
			if !errors.Is(err, records.ErrMalformed) && !errors.Is(err, records.ErrInvalid) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrInvalid", err)
			}
			return
		}
		for _, cc := range ps.Countries() {
			p, _ := ps.Peer(cc)
			if p.URL == nil || p.URL.Scheme != "https" || p.Timeout <= 0 || p.CAFile == "" {
				t.Fatalf("accepted peer %+v", p)
			}
		}
	})
}

// FuzzVerifyCaller: no panic; every rejection is ErrBadCaller.
func FuzzVerifyCaller(f *testing.F) {
	ca, err := NewCA("fuzz", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	nc, err := ca.Issue("n", nil, []records.Country{"EC"}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	pair, err := tls.X509KeyPair(nc.CertPEM, nc.KeyPEM)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	h, err := Caller{Subject: "u", Role: "health-worker", From: "EC", Purpose: PurposeTreatment, Audience: "PE", Method: "GET", Path: "/p"}.Sign(pair.PrivateKey.(crypto.Signer), now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h)
	f.Add("e30.")
	f.Fuzz(func(t *testing.T, header string) {
		c, err := VerifyCaller(header, pair.Leaf, Target{Audience: "PE", Method: "GET", Path: "/p"}, now)
		if err != nil {
			if !errors.Is(err, ErrBadCaller) {
				t.Fatalf("error %v is not ErrBadCaller", err)
			}
			return
		}
		if c.From != "EC" || c.Purpose.Code() == "" {
			t.Fatalf("accepted %+v", c)
		}
	})
}
