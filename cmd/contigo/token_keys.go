package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"contigo/api"
)

// tokenKeys are the token signing keys of a node: the newest signs, all
// are accepted.
type tokenKeys struct {
	Sign   []byte   // the key that signs new tokens
	Accept [][]byte // older or upcoming keys, accepted too
	Files  []string // where they came from, signing key first, for the log
}

// loadTokenKeys reads the token keys: from dir if set, else the single
// key file single (created if absent, as before key rotation existed).
//
// In dir, every "*.key" file is a key in use: the one whose name sorts
// last signs (name them by date, 2026-12-05.key), the others are still
// accepted. Every "*.next" file is accepted but does not sign yet, so a
// new key reaches every replica before any replica signs with it. Key
// files hold base64 text (at least api.MinKeySize bytes) and must not be
// readable by group or others.
func loadTokenKeys(dir, single string) (tokenKeys, error) {
	if dir == "" {
		k, _, err := loadOrCreateKey(single)
		if err != nil {
			return tokenKeys{}, err
		}
		return tokenKeys{Sign: k, Files: []string{single}}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return tokenKeys{}, fmt.Errorf("signing keys dir: %w", err)
	}
	var signing, next []string
	for _, e := range ents {
		switch {
		case e.IsDir():
		case strings.HasSuffix(e.Name(), ".key"):
			signing = append(signing, e.Name())
		case strings.HasSuffix(e.Name(), ".next"):
			next = append(next, e.Name())
		}
	}
	if len(signing) == 0 {
		return tokenKeys{}, fmt.Errorf("signing keys dir %s: no *.key file (the newest by name signs tokens)", dir)
	}
	slices.Sort(signing)
	slices.Reverse(signing)
	var tk tokenKeys
	for i, name := range append(signing, next...) {
		path := filepath.Join(dir, name)
		k, err := readKeyFile(path)
		if err != nil {
			return tokenKeys{}, err
		}
		if i == 0 {
			tk.Sign = k
		} else {
			tk.Accept = append(tk.Accept, k)
		}
		tk.Files = append(tk.Files, path)
	}
	return tk, nil
}

// readKeyFile reads one token key file, private to its owner.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s: mode %v lets others read it; chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: not base64: %w", path, err)
	}
	if len(key) < api.MinKeySize {
		return nil, fmt.Errorf("signing key %s: %d bytes, want at least %d", path, len(key), api.MinKeySize)
	}
	return key, nil
}

// writeNewKey writes a new random token key to path (mode 0600); it
// refuses to overwrite a file.
func writeNewKey(path string) ([]byte, error) {
	key := api.NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("new key: %s exists already", path)
	}
	if err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write key %s: %w", path, err)
	}
	return key, nil
}
