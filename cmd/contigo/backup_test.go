package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestBackupWhileServingAndRestore backs up a running node's embedded
// engine while writes go on, restores the backup into a new data dir,
// starts a node on it and reads back what was acknowledged before the
// backup began, with a token of the original key.
func TestBackupWhileServingAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildContigo(t)
	dataDir := t.TempDir()
	srv := startServe(t, bin, dataDir)
	token := mintToken(t, bin, dataDir)
	base := "http://" + srv.addr + "/fhir"
	code, body := call(t, "POST", base+"/Patient", token, `{"resourceType":"Patient","name":[{"family":"Rojas","given":["Ana"]}],"gender":"female","birthDate":"2024-02-01"}`)
	if code != http.StatusCreated {
		t.Fatalf("create Patient: %d %s", code, body)
	}
	var p struct{ ID string }
	json.Unmarshal(body, &p)

	if out, err := exec.Command(bin, "healthcheck", "--url", "http://"+srv.addr+"/readyz").CombinedOutput(); err != nil {
		t.Errorf("healthcheck of a ready node: %v\n%s", err, out)
	}

	// Writes keep going while the backup runs (bounded: 10 of them).
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 10 {
			code, body := call(t, "POST", base+"/Patient", token, `{"resourceType":"Patient","gender":"male","birthDate":"2024-03-`+fmt.Sprintf("%02d", i+1)+`"}`)
			if code != http.StatusCreated {
				t.Errorf("write during backup: %d %s", code, body)
			}
		}
	})
	backupDir := filepath.Join(t.TempDir(), "b")
	out, err := exec.Command(bin, "backup", "--data-dir", dataDir, "--out", backupDir).CombinedOutput()
	wg.Wait()
	if err != nil {
		t.Fatalf("contigo backup: %v\n%s", err, out)
	}
	m, err := readManifest(backupDir)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	names := map[string]bool{}
	for _, f := range m.Files {
		names[f.Name] = true
	}
	if !names["signing.key"] || len(m.Files) < 2 {
		t.Fatalf("backup holds %v, want the databases and signing.key", names)
	}
	if fi, err := os.Stat(filepath.Join(backupDir, "signing.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backed-up key: %v %v, want mode 0600", err, fi)
	}
	if out, err := exec.Command(bin, "backup", "--data-dir", dataDir, "--out", backupDir).CombinedOutput(); err == nil {
		t.Errorf("backup into a non-empty dir succeeded: %s", out)
	}

	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done

	// A restore refuses a data dir that holds a database.
	if out, err := exec.Command(bin, "restore", "--from", backupDir, "--data-dir", dataDir).CombinedOutput(); err == nil || !strings.Contains(string(out), "move it aside") {
		t.Errorf("restore over live data: %v %s", err, out)
	}
	restored := t.TempDir()
	if out, err := exec.Command(bin, "restore", "--from", backupDir, "--data-dir", restored).CombinedOutput(); err != nil {
		t.Fatalf("contigo restore: %v\n%s", err, out)
	}
	srv = startServe(t, bin, restored)
	code, got := call(t, "GET", "http://"+srv.addr+"/fhir/Patient/"+p.ID, token, "")
	if code != http.StatusOK || !bytes.Contains(got, []byte("Rojas")) {
		t.Errorf("read from the restored node: %d %s", code, got)
	}
}

// TestRestoreRefusesTamperedBackup changes one byte of a backed-up file.
func TestRestoreRefusesTamperedBackup(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "signing.key"), []byte("a-key\n"), 0o600)
	files, err := checksums(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(backupManifest{Version: "1", Files: files})
	os.WriteFile(filepath.Join(dir, manifestName), b, 0o600)
	if _, err := readManifest(dir); err != nil {
		t.Fatalf("intact backup: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "signing.key"), []byte("b-key\n"), 0o600)
	if _, err := restore(t.Context(), dir, t.TempDir()); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("tampered backup: %v, want a checksum error", err)
	}
	b, _ = json.Marshal(backupManifest{Files: []backupFile{{Name: "../escape"}}})
	os.WriteFile(filepath.Join(dir, manifestName), b, 0o600)
	if _, err := readManifest(dir); err == nil {
		t.Error("a manifest naming ../escape was accepted")
	}
}

// TestHealthcheckAndVersion runs the two small commands in-process.
func TestHealthcheckAndVersion(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"healthcheck", "--url", "http://" + addr + "/readyz", "--timeout", "2s"}, nil, &out, &errOut); code != 1 {
		t.Errorf("healthcheck of a closed port: exit %d, want 1", code)
	}
	if code := run(t.Context(), []string{"healthcheck", "--url", "ftp://x"}, nil, &out, &errOut); code != 2 {
		t.Errorf("healthcheck of ftp://: exit %d, want 2", code)
	}
	old := version
	version = "9.8.7"
	t.Cleanup(func() { version = old })
	out.Reset()
	if code := run(t.Context(), []string{"version"}, nil, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "9.8.7\ngo") {
		t.Errorf("version: exit %d, output %q", code, out.String())
	}
}
