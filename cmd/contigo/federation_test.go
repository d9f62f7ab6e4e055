package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	cfg, err := parseServe([]string{"--countries", "CO", "--peers", filepath.Join(dir, "co-peers.json"), "--peer-addr", "127.0.0.1:0"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	node, err := loadPeerNode(cfg)
	if err != nil {
		t.Fatal(err)
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
