package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"contigo/api"
)

func TestLoadTokenKeys(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"2026-01.key", "2026-06.key", "2026-12.next"} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), []string{"token", "newkey", filepath.Join(dir, name)}, nil, &out, &errb); code != 0 {
			t.Fatalf("newkey: %d %s", code, errb.String())
		}
	}
	if code := run(t.Context(), []string{"token", "newkey", filepath.Join(dir, "2026-01.key")}, nil, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
		t.Error("newkey overwrote a key")
	}
	tk, err := loadTokenKeys(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tk.Accept) != 2 || filepath.Base(tk.Files[0]) != "2026-06.key" || filepath.Base(tk.Files[2]) != "2026-12.next" {
		t.Errorf("files %v, want 2026-06.key signing", tk.Files)
	}
	// A key readable by others is refused, with what to do.
	if err := os.Chmod(filepath.Join(dir, "2026-01.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadTokenKeys(dir, ""); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: %v", err)
	}
	// Only .next files: nothing signs.
	only := t.TempDir()
	run(t.Context(), []string{"token", "newkey", filepath.Join(only, "a.next")}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if _, err := loadTokenKeys(only, ""); err == nil {
		t.Error("a keys dir without *.key was accepted")
	}
}

// TestTokensEndToEnd runs the README's Tokens section against a real
// node: a keys directory, revocation by jti, a backend-service client
// through "contigo client", and a key rotation across a restart.
func TestTokensEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts contigo serve twice")
	}
	bin := buildContigo(t)
	data, keys := t.TempDir(), filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("contigo %v: %v %s", args, err, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	cli("token", "newkey", filepath.Join(keys, "2026-01.key"))
	srv := startServeWith(t, bin, data, "--signing-keys-dir", keys)
	base := "http://" + srv.addr
	admin := cli("token", "--role", "admin", "--country", "CO", "--signing-keys-dir", keys, "--ttl", "1h")
	if st, b := call(t, "GET", base+"/fhir/Patient?name=x", admin, ""); st != 200 {
		t.Fatalf("admin search: %d %s", st, b)
	}

	// Revocation by jti.
	laptop := cli("token", "--role", "health-worker", "--country", "CO", "--signing-keys-dir", keys, "--jti", "laptop-7")
	if st, _ := call(t, "GET", base+"/fhir/Patient?name=x", laptop, ""); st != 200 {
		t.Fatalf("laptop token: %d", st)
	}
	if st, b := postJSON(t, base+"/auth/revoke", admin, `{"jti":"laptop-7","reason":"laptop stolen"}`); st != 200 {
		t.Fatalf("revoke: %d %s", st, b)
	}
	if st, _ := call(t, "GET", base+"/fhir/Patient?name=x", laptop, ""); st != 401 {
		t.Errorf("revoked token: %d, want 401", st)
	}

	// A backend service.
	dir := t.TempDir()
	jwks := cli("client", "key", "--out", filepath.Join(dir, "his.pem"), "--kid", "his-1")
	reg := `{"client_id":"his-co","role":"ministry","countries":["CO"],"jwks":` + jwks + `}`
	if st, b := postJSON(t, base+"/auth/clients", admin, reg); st != 201 {
		t.Fatalf("register client: %d %s", st, b)
	}
	a := cli("client", "assertion", "--client-id", "his-co", "--key", filepath.Join(dir, "his.pem"), "--aud", base+"/auth/token")
	res, err := http.PostForm(base+"/auth/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {api.ClientAssertionType}, "client_assertion": {a}, "scope": {"system/*.read"}})
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	json.NewDecoder(res.Body).Decode(&tr)
	res.Body.Close()
	if res.StatusCode != 200 || tr.AccessToken == "" {
		t.Fatalf("token endpoint: %d %+v", res.StatusCode, tr)
	}
	if st, b := call(t, "GET", base+"/fhir/Patient?name=x", tr.AccessToken, ""); st != 200 {
		t.Errorf("system token: %d %s", st, b)
	}

	// Rotation: a new key, the node restarted; the old token still works,
	// the new one is signed by the new key, the revocation survived.
	cli("token", "newkey", filepath.Join(keys, "2026-12.key"))
	srv.cmd.Process.Signal(os.Interrupt)
	select {
	case <-srv.done:
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
	srv = startServeWith(t, bin, data, "--signing-keys-dir", keys)
	base = "http://" + srv.addr
	fresh := cli("token", "--role", "health-worker", "--country", "CO", "--signing-keys-dir", keys)
	for name, tok := range map[string]string{"old key": admin, "new key": fresh} {
		if st, b := call(t, "GET", base+"/fhir/Patient?name=x", tok, ""); st != 200 {
			t.Errorf("%s after rotation: %d %s", name, st, b)
		}
	}
	if st, _ := call(t, "GET", base+"/fhir/Patient?name=x", laptop, ""); st != 401 {
		t.Errorf("revoked token after restart: %d, want 401", st)
	}
}

// postJSON posts a JSON body with a bearer token.
func postJSON(t *testing.T, url, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.Bytes()
}
