package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"contigo/internal/servetest"
	"contigo/records"
)

func TestParseServe(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	t.Run("defaults", func(t *testing.T) {
		cfg, err := parseServe(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:8080" || cfg.DataDir != "./data" || cfg.MongoDBURI != "" || len(cfg.Countries) != 1 || cfg.Countries[0] != "CO" || cfg.MaxBody != 1<<20 {
			t.Errorf("defaults %+v", cfg)
		}
	})
	t.Run("env and flags", func(t *testing.T) {
		cfg, err := parseServe([]string{"--addr", "127.0.0.1:9", "--countries", "pe,EC,pe"},
			env(map[string]string{"CONTIGO_ADDR": "0.0.0.0:1", "CONTIGO_DATA_DIR": "/tmp/x", "CONTIGO_MAX_BODY": "4096", "CONTIGO_LOG_LEVEL": "debug"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := []records.Country{"PE", "EC"}
		if cfg.Addr != "127.0.0.1:9" || cfg.DataDir != "/tmp/x" || cfg.MaxBody != 4096 || cfg.LogLevel.String() != "DEBUG" || len(cfg.Countries) != 2 || cfg.Countries[0] != want[0] || cfg.Countries[1] != want[1] {
			t.Errorf("got %+v", cfg)
		}
	})
	t.Run("every error at once", func(t *testing.T) {
		_, err := parseServe([]string{"--countries", "Colombia", "--log-level", "loud", "--max-body", "1"},
			env(map[string]string{"CONTIGO_REQUEST_TIMEOUT": "soon"}), io.Discard)
		for _, want := range []string{"CONTIGO_REQUEST_TIMEOUT", "--countries", "--log-level", "--max-body"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v does not mention %s", err, want)
			}
		}
	})
	t.Run("help", func(t *testing.T) {
		var out bytes.Buffer
		_, err := parseServe([]string{"--help"}, env(nil), &out)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err %v, want flag.ErrHelp", err)
		}
		for name, envName := range serveEnv {
			if !strings.Contains(out.String(), "--"+name) || !strings.Contains(out.String(), envName) {
				t.Errorf("help lacks --%s / %s", name, envName)
			}
		}
	})
}

// buildContigo builds the binary into a temporary directory.
func buildContigo(t *testing.T) string { return servetest.Build(t) }

// server is a "contigo serve" subprocess.
type server struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

// startServe starts "contigo serve" on a free loopback port and waits
// (bounded) until it listens.
func startServe(t *testing.T, bin, dataDir string) *server {
	t.Helper()
	return startServeWith(t, bin, dataDir)
}

// startServeWith is startServe with more arguments for serve.
func startServeWith(t *testing.T, bin, dataDir string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "CONTIGO_MONGODB_URI=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	var logs bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addrc <- line.Addr
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.addr = <-addrc:
		return s
	case err := <-s.done:
		t.Fatalf("serve exited before listening: %v\n%s", err, logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not listen within 2 minutes\n%s", logs.String())
	}
	return nil
}

// mintToken runs "contigo token" for a health worker.
func mintToken(t *testing.T, bin, dataDir string) string {
	t.Helper()
	return mintTokenRole(t, bin, dataDir, "health-worker")
}

// mintTokenRole runs "contigo token" for role in CO.
func mintTokenRole(t *testing.T, bin, dataDir, role string) string {
	t.Helper()
	out, err := exec.Command(bin, "token", "--role", role, "--country", "CO", "--data-dir", dataDir, "--ttl", "1h").Output()
	if err != nil {
		t.Fatalf("contigo token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// call sends one request with a bounded wait and returns status and body.
func call(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// post sends a FHIR POST with a bounded wait; ok is false when no answer
// came (a killed server): such a write is not acknowledged.
func post(url, token, body string) (code int, ok bool) {
	return send("POST", url, token, "", body)
}

// putIfMatch sends a PUT with If-Match W/"version" and returns the status
// (0 without an answer).
func putIfMatch(url, token, version, body string) int {
	code, _ := send("PUT", url, token, version, body)
	return code
}

func send(method, url, token, ifMatch, body string) (int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/fhir+json")
	if ifMatch != "" {
		req.Header.Set("If-Match", `W/"`+ifMatch+`"`)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, false
	}
	return resp.StatusCode, true
}

// TestDurabilityAfterSIGKILL writes through a real "contigo serve", kills
// it with SIGKILL right after the last acknowledgement, restarts it on the
// same data dir and reads every acknowledged write back. Then SIGTERM
// drains and exits 0.
func TestDurabilityAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildContigo(t)
	dataDir := t.TempDir()
	if err := os.Chmod(dataDir, 0o755); err != nil { // issue 9: a data dir others may read
		t.Fatal(err)
	}
	srv := startServe(t, bin, dataDir)
	token := mintToken(t, bin, dataDir)
	if fi, err := os.Stat(filepath.Join(dataDir, "signing.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key: %v, mode %v", err, fi.Mode())
	}
	base := "http://" + srv.addr + "/fhir"

	acked := map[string][]byte{} // Type/id -> body acknowledged
	code, body := call(t, "POST", base+"/Patient", token, `{"resourceType":"Patient","identifier":[{"system":"urn:contigo:test","value":"dur-1"}],"name":[{"family":"Durán","given":["Inés"]}],"gender":"female","birthDate":"2024-01-15"}`)
	if code != http.StatusCreated {
		t.Fatalf("create Patient: %d %s", code, body)
	}
	var p struct{ ID string }
	json.Unmarshal(body, &p)
	acked["Patient/"+p.ID] = body
	wantPrivateTree(t, dataDir)
	for i, kg := range []string{"7.1", "7.4", "7.9"} {
		obs := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/` + p.ID + `"},` +
			`"effectiveDateTime":"2025-0` + string(rune('1'+i)) + `-10","valueQuantity":{"value":` + kg + `,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`
		code, body := call(t, "POST", base+"/Observation", token, obs)
		if code != http.StatusCreated {
			t.Fatalf("create Observation: %d %s", code, body)
		}
		var o struct{ ID string }
		json.Unmarshal(body, &o)
		acked["Observation/"+o.ID] = body
	}
	// Acknowledged: kill at once, no chance to flush anything more.
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done

	srv = startServe(t, bin, dataDir)
	base = "http://" + srv.addr + "/fhir"
	for ref, want := range acked {
		code, got := call(t, "GET", base+"/"+ref, token, "")
		if code != http.StatusOK {
			t.Errorf("after SIGKILL and restart, GET %s: %d %s", ref, code, got)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("GET %s after restart:\n got %s\nwant %s", ref, got, want)
		}
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(time.Minute):
		t.Error("serve did not stop within a minute of SIGTERM")
	}
}

// wantPrivateTree fails unless dir and everything in it (the database
// files the engine wrote, the signing key) are private to this user:
// directories 0700, files 0600.
func wantPrivateTree(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Type()&fs.ModeSymlink == 0 && fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
		if strings.Contains(d.Name(), "sqlite") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("no database file under %s", dir)
	}
}
