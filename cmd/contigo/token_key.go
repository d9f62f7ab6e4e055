package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"contigo/api"
)

// keyPath returns the signing key file: flagPath if set, else
// <dataDir>/signing.key.
func keyPath(flagPath, dataDir string) string {
	if flagPath != "" {
		return flagPath
	}
	return filepath.Join(dataDir, "signing.key")
}

// loadOrCreateKey reads the token signing key at path (base64 text), or, if
// the file does not exist, creates it with a new random key, readable by the
// owner only (0600). created reports which happened.
func loadOrCreateKey(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, false, fmt.Errorf("signing key %s: not base64: %w", path, err)
		}
		if len(key) < api.MinKeySize {
			return nil, false, fmt.Errorf("signing key %s: %d bytes, want at least %d", path, len(key), api.MinKeySize)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	key = api.NewKey()
	// O_EXCL: if serve and token race to create it, one wins and the other
	// reads the winner's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		k, _, err := loadOrCreateKey(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create signing key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("write signing key %s: %w", path, err)
	}
	return key, true, nil
}

// envOr returns the environment variable name, or def if it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
