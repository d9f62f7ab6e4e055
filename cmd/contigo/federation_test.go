package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"contigo/records"
	"contigo/records/federation"
)

func TestFederationInit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"federation", "init", dir, "--countries", "CO,ec,PE", "--port", "19441"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "--peers "+filepath.Join(dir, "ec-peers.json")+" --peer-addr 127.0.0.1:19442") {
		t.Errorf("printed commands:\n%s", out.String())
	}
	peers, err := federation.LoadPeers(filepath.Join(dir, "co-peers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := peers.Countries(); len(got) != 2 || got[0] != "EC" || got[1] != "PE" {
		t.Errorf("CO's peers: %v", got)
	}
	if p, _ := peers.Peer("PE"); p.URL.String() != "https://127.0.0.1:19443" {
		t.Errorf("PE url %v", p.URL)
	}

	// serve reads it: the API's federation and the peer listener's TLS.
	cfg, err := parseServe([]string{"--countries", "CO", "--peers", filepath.Join(dir, "co-peers.json"), "--peer-addr", "127.0.0.1:0", "--peer-writes"},
		func(k string) string { return map[string]string{"CONTIGO_FEDERATED_TIMEOUT": "2s"}[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	node, err := loadPeerNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f := node.api(); f == nil || f.Overall != 2*time.Second || !f.PeerWrites {
		t.Errorf("federation settings %+v", f)
	}
	if node.api() == nil || node.tls == nil || len(node.tls.Certificates) != 1 || node.tls.ClientCAs == nil {
		t.Errorf("peer node %+v", node)
	}
	// A node that also claims a peer's country is refused.
	cfg.Countries = []records.Country{"CO", "EC"}
	if _, err := loadPeerNode(cfg); err == nil {
		t.Error("hosting a peer's country accepted")
	}
	// No --peers: no federation.
	cfg.Peers = ""
	if node, err := loadPeerNode(cfg); err != nil || node.api() != nil {
		t.Errorf("without peers: %v %v", node, err)
	}

	if code := run(t.Context(), []string{"federation", "init"}, nil, io.Discard, io.Discard); code != 2 {
		t.Errorf("no directory: exit %d", code)
	}
	if code := run(t.Context(), []string{"federation", "init", t.TempDir(), "--countries", "CO,Colombia"}, nil, io.Discard, io.Discard); code != 2 {
		t.Errorf("bad country: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err != nil {
		t.Error(err)
	}
}

// freePort returns a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNode starts "contigo serve" with args and waits (bounded) until
// both its listeners are up; it returns the user address.
func startNode(t *testing.T, bin string, args ...string) string {
	t.Helper()
	addr, err := startNodeErr(t, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startNodeErr is startNode returning an error when serve exits before
// listening (for example on a port another process took meanwhile).
func startNodeErr(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "CONTIGO_MONGODB_URI=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	addrc, peerc := make(chan string, 1), make(chan struct{}, 1)
	var logs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.Write(append(sc.Bytes(), '\n'))
			mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				switch line.Msg {
				case "listening":
					addrc <- line.Addr
				case "listening for peers (mutual TLS)":
					peerc <- struct{}{}
				}
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	var addr string
	for addr == "" || peerc != nil {
		select {
		case addr = <-addrc:
		case <-peerc:
			peerc = nil
		case err := <-done:
			done <- err // for the cleanup, which waits for the exit too
			mu.Lock()
			defer mu.Unlock()
			return "", fmt.Errorf("serve exited: %v\n%s", err, logs.String())
		case <-time.After(2 * time.Minute):
			return "", errors.New("serve did not listen within 2 minutes")
		}
	}
	return addr, nil
}

// TestServeFederation runs two "contigo serve" nodes, CO and EC, set up by
// "contigo federation init", and reads a CO record from EC.
func TestServeFederation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildContigo(t)
	dir, co, ec := startPair(t, bin)
	token := func(cc, dataDir string) string {
		out, err := exec.Command(bin, "token", "--role", "health-worker", "--country", cc, "--data-dir", dataDir, "--ttl", "1h").Output()
		if err != nil {
			t.Fatalf("contigo token: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	coTok, ecTok := token("CO", filepath.Join(dir, "co")), token("EC", filepath.Join(dir, "ec"))
	st, body := call(t, "POST", "http://"+co+"/fhir/Patient", coTok,
		`{"resourceType":"Patient","identifier":[{"system":"urn:ve:cedula","value":"V-1"}],"name":[{"family":"Pérez","given":["Ana"]}],"gender":"female","birthDate":"2024-01-02"}`)
	if st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	var p struct{ ID string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	// EC reads through CO: no consent, 403 from CO passed back.
	if st, body := call(t, "GET", "http://"+ec+"/countries/CO/fhir/Patient/"+p.ID, ecTok, ""); st != 403 || !strings.Contains(string(body), "Consent") {
		t.Errorf("read from EC: %d %s", st, body)
	}
	// EC's token on CO's node is refused: each node has its own key.
	if st, _ := call(t, "GET", "http://"+co+"/fhir/Patient/"+p.ID, ecTok, ""); st != 401 {
		t.Errorf("EC token on CO: %d", st)
	}
	// A federated identifier search from EC finds CO's record (a stub).
	if st, body := call(t, "GET", "http://"+ec+"/fhir/Patient?identifier=urn:ve:cedula|V-1&_federated=true", ecTok, ""); st != 200 || !strings.Contains(string(body), p.ID) {
		t.Errorf("federated search: %d %s", st, body)
	}
}

// startPair runs two "contigo serve" nodes, CO and EC, federated by
// "contigo federation init"; it returns the directory holding their data
// (co/, ec/) and their user addresses.
func startPair(t *testing.T, bin string) (dir, co, ec string) {
	t.Helper()
	for try := 1; ; try++ {
		dir, co, ec, err := tryPair(t, bin)
		if err == nil {
			return dir, co, ec
		}
		// The free ports are found by listening and closing: another test's
		// server may take one in between. Try again with new ports.
		if try == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("start pair, try %d: %v", try, err)
	}
}

func tryPair(t *testing.T, bin string) (dir, co, ec string, err error) {
	dir = t.TempDir()
	coPort, ecPort := freePort(t), freePort(t)
	pki := filepath.Join(dir, "pki")
	if out, err := exec.Command(bin, "federation", "init", pki, "--countries", "CO,EC", "--port", strconv.Itoa(coPort)).CombinedOutput(); err != nil {
		t.Fatalf("federation init: %v\n%s", err, out)
	}
	// init numbers ports from the first: give EC the one we reserved.
	ecPeers := filepath.Join(pki, "co-peers.json")
	b, err := os.ReadFile(ecPeers)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ecPeers, bytes.ReplaceAll(b, []byte(":"+strconv.Itoa(coPort+1)), []byte(":"+strconv.Itoa(ecPort))), 0o644); err != nil {
		t.Fatal(err)
	}
	if co, err = startNodeErr(t, bin, "--countries", "CO", "--data-dir", filepath.Join(dir, "co"), "--peers", filepath.Join(pki, "co-peers.json"), "--peer-addr", "127.0.0.1:"+strconv.Itoa(coPort)); err != nil {
		return "", "", "", err
	}
	if ec, err = startNodeErr(t, bin, "--countries", "EC", "--data-dir", filepath.Join(dir, "ec"), "--peers", filepath.Join(pki, "ec-peers.json"), "--peer-addr", "127.0.0.1:"+strconv.Itoa(ecPort)); err != nil {
		return "", "", "", err
	}
	return dir, co, ec, nil
}
