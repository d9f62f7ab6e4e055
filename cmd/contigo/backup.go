package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", the engine FerretDB runs on
)

func init() {
	commands["backup"] = command{summary: "online backup of the embedded engine's data dir", run: runBackup}
}

// manifestName is the file, in a backup directory, that lists what the
// backup holds and the checksum of each file.
const manifestName = "MANIFEST.json"

// backupManifest describes one backup directory.
type backupManifest struct {
	Version string       `json:"contigo_version"` // release that wrote the backup
	Created time.Time    `json:"created"`
	DataDir string       `json:"data_dir"`
	Files   []backupFile `json:"files"`
}

// backupFile is one file of a backup.
type backupFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// runBackup implements "contigo backup": a consistent copy of every
// database of the embedded engine (one <db>.sqlite per database under the
// data dir) taken with SQLite's VACUUM INTO while the service keeps running,
// checked with PRAGMA integrity_check, plus the node key, and a manifest.
func runBackup(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contigo backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("CONTIGO_DATA_DIR", "./data"), "data dir of the node (env CONTIGO_DATA_DIR)")
	out := fs.String("out", "", "directory to write; must not exist or be empty (required)")
	signingKey := fs.String("signing-key", os.Getenv("CONTIGO_SIGNING_KEY"), "the node's signing key file (default <data-dir>/signing.key)")
	noKey := fs.Bool("no-key", false, "leave the signing key out (then restore needs the key from elsewhere: pseudonymous person references derive from it)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: contigo backup --out DIR [--data-dir DIR] [--no-key]\n\nCopies every database of the embedded engine (FerretDB on SQLite) with\nSQLite's VACUUM INTO, a transactionally consistent snapshot taken while\n\"contigo serve\" keeps serving, checks each copy with PRAGMA integrity_check,\ncopies the signing key (mode 0600) and writes MANIFEST.json with checksums.\nA node on MongoDB is backed up with MongoDB's tools (docs/operations.md).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	key := ""
	if !*noKey {
		key = keyPath(*signingKey, *dataDir)
	}
	m, err := backup(ctx, *dataDir, *out, key)
	if err != nil {
		fmt.Fprintf(stderr, "contigo backup: %v\n", err)
		return 1
	}
	var total int64
	for _, f := range m.Files {
		total += f.Bytes
	}
	fmt.Fprintf(stdout, "backed up %d files (%d bytes) from %s to %s\n", len(m.Files), total, *dataDir, *out)
	return 0
}

// backup writes the backup of dataDir into out and returns its manifest.
// keyFile, if not empty, is copied too.
func backup(ctx context.Context, dataDir, out, keyFile string) (backupManifest, error) {
	m := backupManifest{Version: Version(), Created: time.Now().UTC().Truncate(time.Second), DataDir: dataDir}
	dbs, err := filepath.Glob(filepath.Join(dataDir, "*.sqlite"))
	if err != nil {
		return m, fmt.Errorf("list databases: %w", err)
	}
	if len(dbs) == 0 {
		return m, fmt.Errorf("no *.sqlite database in %s: not the data dir of an embedded node", dataDir)
	}
	sort.Strings(dbs)
	if err := emptyDir(out); err != nil {
		return m, err
	}
	for _, src := range dbs {
		name := filepath.Base(src)
		dst := filepath.Join(out, name)
		if err := vacuumInto(ctx, src, dst); err != nil {
			return m, fmt.Errorf("%s: %w", name, err)
		}
		if err := integrityCheck(ctx, dst); err != nil {
			return m, fmt.Errorf("%s: copy fails its check: %w", name, err)
		}
	}
	if keyFile != "" {
		if err := copyFile(keyFile, filepath.Join(out, "signing.key"), 0o600); err != nil {
			return m, fmt.Errorf("signing key: %w", err)
		}
	}
	if m.Files, err = checksums(out); err != nil {
		return m, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, manifestName), append(b, '\n'), 0o600); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

// emptyDir creates dir (0700) or checks that it holds nothing.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("backup dir %s is not empty", dir)
	}
	return nil
}

// sqliteDSN is the database/sql name of the SQLite file path: waiting up to
// 30 s for the service's writers rather than failing with SQLITE_BUSY.
func sqliteDSN(path string) string {
	return "file:" + filepath.ToSlash(path) + "?_pragma=busy_timeout(30000)"
}

// vacuumInto writes a consistent, compacted copy of the SQLite database
// src to dst, first under a temporary name, so a failed copy never looks
// like a finished one. It reads one snapshot: writes the service commits
// meanwhile are not in the copy and are not blocked (WAL mode).
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", sqliteDSN(src))
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	tmp := dst + ".partial"
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("vacuum into: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// integrityCheck runs SQLite's full integrity check on the file at path.
func integrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

// copyFile copies src to dst, created with mode perm (never overwriting).
func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checksums lists the files of dir (but the manifest) with their sizes and
// SHA-256 sums.
func checksums(dir string) ([]backupFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("checksums: %w", err)
	}
	var files []backupFile
	for _, e := range ents {
		if e.Name() == manifestName || !e.Type().IsRegular() {
			continue
		}
		sum, n, err := fileSHA256(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("checksums: %w", err)
		}
		files = append(files, backupFile{Name: e.Name(), Bytes: n, SHA256: sum})
	}
	return files, nil
}

// fileSHA256 returns the hex SHA-256 and the size of the file at path.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readManifest reads and verifies the backup in dir: every listed file
// present with its size and checksum, nothing path-like in a name.
func readManifest(dir string) (backupManifest, error) {
	var m backupManifest
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("manifest %s: %w", filepath.Join(dir, manifestName), err)
	}
	var errs []error
	for _, f := range m.Files {
		if f.Name != filepath.Base(f.Name) || strings.HasPrefix(f.Name, ".") || url.PathEscape(f.Name) != f.Name {
			errs = append(errs, fmt.Errorf("manifest names %q: not a plain file name", f.Name))
			continue
		}
		sum, n, err := fileSHA256(filepath.Join(dir, f.Name))
		switch {
		case err != nil:
			errs = append(errs, err)
		case n != f.Bytes || sum != f.SHA256:
			errs = append(errs, fmt.Errorf("%s: size or checksum differs from the manifest", f.Name))
		}
	}
	return m, errors.Join(errs...)
}
