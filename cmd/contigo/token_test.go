package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"contigo/api"
)

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"token", "--role", "ministry", "--country", "co,EC", "--data-dir", dir, "--subject", "minsalud"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	keyFile := filepath.Join(dir, "signing.key")
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key %v, mode %v; want 0600", err, fi.Mode())
	}
	key, created, err := loadOrCreateKey(keyFile)
	if err != nil || created {
		t.Fatalf("reload key: %v, created %v", err, created)
	}
	cl, err := api.VerifyToken(key, strings.TrimSpace(out.String()), time.Now())
	if err != nil {
		t.Fatalf("VerifyToken: %v", err)
	}
	if cl.Role != api.RoleMinistry || strings.Join(cl.Countries, ",") != "CO,EC" || cl.Subject != "minsalud" || cl.ID == "" {
		t.Errorf("claims %+v", cl)
	}
	if d := time.Unix(cl.ExpiresAt, 0).Sub(time.Unix(cl.IssuedAt, 0)); d != 12*time.Hour {
		t.Errorf("ttl %v, want 12h", d)
	}
}

func TestTokenCommandErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"no role", []string{"--country", "CO"}},
		{"bad role", []string{"--role", "root", "--country", "CO"}},
		{"no country", []string{"--role", "admin"}},
		{"bad country", []string{"--role", "admin", "--country", "Colombia"}},
		{"bad ttl", []string{"--role", "admin", "--country", "CO", "--ttl", "-1h"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"token", "--data-dir", t.TempDir()}, tt.args...)
			if code := run(t.Context(), args, nil, &out, &errb); code != 2 {
				t.Errorf("exit %d, want 2 (stderr %s)", code, errb.String())
			}
			if out.Len() != 0 {
				t.Errorf("printed a token: %s", out.String())
			}
		})
	}
}

func TestSigningKeyFileRejected(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("c2hvcnQ=\n"), 0o600) // "short"
	if _, _, err := loadOrCreateKey(bad); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	os.WriteFile(bad, []byte("!!!"), 0o600)
	if _, _, err := loadOrCreateKey(bad); err == nil {
		t.Error("a non-base64 key was accepted")
	}
}
