package api

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"contigo/records"
)

func TestTokenRoundTrip(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	in := Claims{Subject: "unit-7", Role: RoleHealthWorker, Countries: []string{"CO", "EC"}, IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(), ID: "j1"}
	tok, err := SignToken(testKey, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyToken(testKey, tok, now.Add(time.Minute))
	if err != nil {
		t.Fatalf("VerifyToken: %v", err)
	}
	if got.Subject != in.Subject || got.Role != in.Role || len(got.Countries) != 2 || got.ID != "j1" {
		t.Errorf("got %+v, want %+v", got, in)
	}
	if !got.Reaches("EC") || got.Reaches("PE") {
		t.Errorf("Reaches wrong for %v", got.Countries)
	}
}

func TestVerifyTokenRejects(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	good := Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}
	sign := func(c Claims) string {
		tok, err := SignToken(testKey, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := sign(good)
	parts := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	expired := good
	expired.IssuedAt, expired.ExpiresAt = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	future := good
	future.IssuedAt, future.ExpiresAt = now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
	for _, tt := range []struct{ name, token string }{
		{"empty", ""},
		{"two parts", parts[0] + "." + parts[1]},
		{"garbage", "a.b.c"},
		{"alg none", enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"alg none with signature", enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]},
		{"alg HS512", enc([]byte(`{"alg":"HS512","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]},
		{"wrong signature", parts[0] + "." + parts[1] + "." + enc(make([]byte, 32))},
		{"tampered claims", parts[0] + "." + enc([]byte(`{"sub":"s","role":"admin","countries":["CO","EC"],"iat":1,"exp":9999999999}`)) + "." + parts[2]},
		{"expired", sign(expired)},
		{"issued in the future", sign(future)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyToken(testKey, tt.token, now)
			if !errors.Is(err, records.ErrUnauthorized) {
				t.Errorf("got %v, want ErrUnauthorized", err)
			}
		})
	}
	t.Run("other key", func(t *testing.T) {
		_, err := VerifyToken([]byte(strings.Repeat("k", 32)), valid, now)
		if !errors.Is(err, records.ErrUnauthorized) {
			t.Errorf("got %v, want ErrUnauthorized", err)
		}
	})
}

func TestSignTokenValidates(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  []byte
		c    Claims
	}{
		{"short key", []byte("short"), Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}, ExpiresAt: time.Now().Add(time.Hour).Unix()}},
		{"no subject", testKey, Claims{Role: RoleAdmin, Countries: []string{"CO"}, ExpiresAt: time.Now().Add(time.Hour).Unix()}},
		{"bad role", testKey, Claims{Subject: "s", Role: "root", Countries: []string{"CO"}, ExpiresAt: time.Now().Add(time.Hour).Unix()}},
		{"no country", testKey, Claims{Subject: "s", Role: RoleAdmin, ExpiresAt: time.Now().Add(time.Hour).Unix()}},
		{"lower-case country", testKey, Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"co"}, ExpiresAt: time.Now().Add(time.Hour).Unix()}},
		{"no expiry", testKey, Claims{Subject: "s", Role: RoleAdmin, Countries: []string{"CO"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := SignToken(tt.key, tt.c); err == nil {
				t.Error("got nil error")
			}
		})
	}
}
