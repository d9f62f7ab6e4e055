package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// privateFiles makes the data directory and everything in it private to
// the service user before the store opens: directories 0700, files 0600
// (each change logged with the path and the old mode). A signing key that
// others may read (group or world bits) is refused, not fixed: anyone on
// the host may already hold a copy and mint tokens, so it must be replaced.
// New files are created private too (restrictUmask).
func privateFiles(dataDir, keyFile string, log *slog.Logger) error {
	restrictUmask()
	if err := refuseSharedKey(keyFile, "signing key", "who could mint tokens; make a new key (remove the file: serve creates one with mode 0600)"); err != nil {
		return err
	}
	return filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // not followed: its target is not ours to change
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		want := fi.Mode().Perm() &^ 0o077
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() == want || (!d.IsDir() && !fi.Mode().IsRegular()) {
			return nil
		}
		if err := os.Chmod(path, want); err != nil {
			return fmt.Errorf("make %s private to the service user: %w", path, err)
		}
		log.Warn("made private to the service user", "path", path, "mode_was", fmt.Sprintf("%04o", fi.Mode().Perm()), "mode", fmt.Sprintf("%04o", want))
		return nil
	})
}

// refuseSharedKey fails if the key file at path (a missing one is fine)
// may be read or written by users other than its owner, saying which file,
// its mode and what to do.
func refuseSharedKey(path, what, remedy string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %04o: readable or writable by other users of this host, %s, "+
			"or, if it never left this host, chmod 600 it", what, path, m, remedy)
	}
	return nil
}
