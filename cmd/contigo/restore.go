package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func init() {
	commands["restore"] = command{summary: "restore a \"contigo backup\" into an empty data dir", run: runRestore}
}

// runRestore implements "contigo restore": verify a backup against its
// manifest, then copy it into a data dir that holds no database. The node
// must be stopped; restore never overwrites anything.
func runRestore(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contigo restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "backup directory written by \"contigo backup\" (required)")
	dataDir := fs.String("data-dir", envOr("CONTIGO_DATA_DIR", "./data"), "data dir to restore into; must hold no database (env CONTIGO_DATA_DIR)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: contigo restore --from BACKUP --data-dir DIR\n\nChecks every file of BACKUP against its MANIFEST.json and each database\nwith PRAGMA integrity_check, then copies them into DIR, which must not hold\nany *.sqlite or signing.key (move the old data dir aside first). Run it with\nthe node stopped.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *from == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	m, err := restore(ctx, *from, *dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "contigo restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %d files of the backup of %s (contigo %s) into %s\n",
		len(m.Files), m.Created.Format("2006-01-02T15:04:05Z"), m.Version, *dataDir)
	return 0
}

// restore verifies the backup in from and copies it into dataDir.
func restore(ctx context.Context, from, dataDir string) (backupManifest, error) {
	m, err := readManifest(from)
	if err != nil {
		return m, fmt.Errorf("backup %s: %w", from, err)
	}
	for _, f := range m.Files {
		if strings.HasSuffix(f.Name, ".sqlite") {
			if err := integrityCheck(ctx, filepath.Join(from, f.Name)); err != nil {
				return m, fmt.Errorf("backup %s: %s: %w", from, f.Name, err)
			}
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return m, fmt.Errorf("data dir: %w", err)
	}
	existing, _ := filepath.Glob(filepath.Join(dataDir, "*.sqlite*"))
	if _, err := os.Stat(filepath.Join(dataDir, "signing.key")); err == nil {
		existing = append(existing, "signing.key")
	}
	if len(existing) > 0 {
		return m, fmt.Errorf("data dir %s already holds %s: move it aside and restore into an empty one", dataDir, strings.Join(existing, ", "))
	}
	for _, f := range m.Files {
		if err := copyFile(filepath.Join(from, f.Name), filepath.Join(dataDir, f.Name), 0o600); err != nil {
			return m, fmt.Errorf("restore %s: %w", f.Name, err)
		}
	}
	return m, nil
}
