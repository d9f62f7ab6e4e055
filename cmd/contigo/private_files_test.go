package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A data directory left 0755 with 0644 database files and a 0644 key
// elsewhere: the directory becomes 0700 and its files 0600, and the key is
// refused, naming it; a private key is accepted.
func TestPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(dir, "co.sqlite"), filepath.Join(dir, "co.sqlite-wal"), filepath.Join(dir, "sub", "x.sqlite")}
	for _, f := range files {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(f, 0o644)
	}
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "sub"), 0o755)
	key := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(key, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(key, 0o644)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	err := privateFiles(dir, key, log)
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("world-readable key: err %v, want a refusal naming %s and its mode", err, key)
	}
	os.Chmod(key, 0o600)
	if err := privateFiles(dir, key, log); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "sub"): 0o700, files[0]: 0o600, files[1]: 0o600, files[2]: 0o600, key: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}
	// A file made after the check is private too (umask 077).
	f := filepath.Join(dir, "new.sqlite")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
		t.Errorf("new file: mode %04o, want 0600", fi.Mode().Perm())
	}
}
