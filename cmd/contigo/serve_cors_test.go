package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseServeCORSOrigins(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	cfg, err := parseServe(nil, env(nil), io.Discard)
	if err != nil || len(cfg.CORSOrigins) != 0 {
		t.Fatalf("default: %v %v", cfg.CORSOrigins, err)
	}
	cfg, err = parseServe(nil, env(map[string]string{"CONTIGO_CORS_ORIGINS": "https://app.minsalud.example, http://localhost:3000/"}), io.Discard)
	if err != nil || strings.Join(cfg.CORSOrigins, " ") != "https://app.minsalud.example http://localhost:3000" {
		t.Fatalf("env: %v %v", cfg.CORSOrigins, err)
	}
	cfg, err = parseServe([]string{"--cors-origins", "*"}, env(map[string]string{"CONTIGO_CORS_ORIGINS": "https://a.example"}), io.Discard)
	if err != nil || strings.Join(cfg.CORSOrigins, " ") != "*" {
		t.Fatalf("flag over env: %v %v", cfg.CORSOrigins, err)
	}
	for _, bad := range []string{"app.example", "https://a.example/path", "ftp://a.example", "https://"} {
		if _, err := parseServe([]string{"--cors-origins", bad}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--cors-origins") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}
