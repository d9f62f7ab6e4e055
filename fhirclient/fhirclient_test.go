// Package fhirclient drives a real "contigo serve" process with a
// third-party FHIR client library, fhir-kit-client 2.0.3 from npm, the way
// a ministry's integration engine would (issue 11). It holds tests only.
package fhirclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"contigo/internal/servetest"
)

// TestFhirKitClient installs fhir-kit-client (pinned by
// testdata/package-lock.json) into a cache directory, starts "contigo
// serve" on the embedded engine, mints a token with "contigo token" and
// runs testdata/drive.mjs against it. Without node and npm it skips, but
// under CI=true it fails.
func TestFhirKitClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no npm install, no server process")
	}
	node, npm := lookTool(t, "node"), lookTool(t, "npm")
	dir := installClient(t, npm)

	bin := servetest.Build(t)
	data := t.TempDir()
	addr := servetest.Start(t, bin, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--log-format", "json"}, []string{"CONTIGO_MONGODB_URI="})
	tok := mintToken(t, bin, data, "health-worker")
	exportTok := mintToken(t, bin, data, "ministry") // $export needs ministry or admin

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "drive.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CONTIGO_BASE=http://"+addr+"/fhir",
		"CONTIGO_TOKEN="+tok,
		"CONTIGO_EXPORT_TOKEN="+exportTok,
		fmt.Sprintf("CONTIGO_RUN=%d", time.Now().UnixNano()),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	ok := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			Step, Result, Error string
			Detail              json.RawMessage
		}
		if json.Unmarshal([]byte(line), &r) != nil {
			t.Logf("drive.mjs: %s", line)
			continue
		}
		switch r.Result {
		case "ok":
			ok++
			t.Logf("ok      %s", r.Step)
		case "skipped":
			t.Logf("skipped %s (TODO: not served yet)", r.Step)
		default:
			t.Errorf("%s: %s %s", r.Step, r.Error, r.Detail)
		}
	}
	if err != nil {
		t.Fatalf("drive.mjs: %v\n%s", err, stderr.String())
	}
	if ok < 12 {
		t.Errorf("%d steps passed, want at least 12", ok)
	}
}

// mintToken runs "contigo token" for role in country CO on the node's
// data directory.
func mintToken(t *testing.T, bin, data, role string) string {
	t.Helper()
	tok, err := exec.Command(bin, "token", "--role", role, "--country", "CO", "--data-dir", data, "--ttl", "1h").Output()
	if err != nil {
		t.Fatalf("contigo token --role %s: %v", role, err)
	}
	return strings.TrimSpace(string(tok))
}

// lookTool finds a program: a missing one skips the test, or fails it
// under CI=true.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

// installClient installs testdata/package.json (locked) with npm into a
// directory of the user's cache named for the lock's hash, once, and puts
// drive.mjs next to its node_modules. The install goes to a temporary
// directory first and is renamed into place, so that concurrent test
// processes never see half of one.
func installClient(t *testing.T, npm string) string {
	t.Helper()
	pkg, err := os.ReadFile("testdata/package.json")
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile("testdata/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(append(pkg, 0), lock...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "contigo", "fhirclient")
	dir := filepath.Join(root, hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fhir-kit-client", "package.json")); err != nil {
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		tmp, err := os.MkdirTemp(root, "install-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		for name, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--no-update-notifier")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("npm install: %v\n%s", err, out)
			}
			t.Skipf("npm install failed (no registry?): %v\n%s", err, out)
		}
		if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
			if _, serr := os.Stat(dir); serr != nil { // not installed meanwhile by another process
				t.Fatalf("install fhir-kit-client: %v", err)
			}
		}
	}
	script, err := os.ReadFile("testdata/drive.mjs")
	if err != nil {
		t.Fatal(err)
	}
	// Each run writes its own copy: the cached directory is shared.
	f, err := os.CreateTemp(dir, "drive-*.mjs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.Write(script); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, "drive.mjs")); err != nil {
		t.Fatal(err)
	}
	return dir
}
