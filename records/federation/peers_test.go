package federation

import (
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

func TestLoadPeers(t *testing.T) {
	t.Parallel()
	fed := newTestPKI(t)
	ecNode := newNode(t, fed, "ec-node", "EC")
	fed.node(t, "co-node", "CO") // co-node.pem, co-node-key.pem beside ca.pem
	file := filepath.Join(fed.dir, "peers.json")
	conf := `{
	  "ca": "ca.pem", "cert": "co-node.pem", "key": "co-node-key.pem", "timeout": "3s",
	  "peers": {
	    "ec": {"url": "` + ecNode.URL + `"},
	    "PE": {"url": "https://pe.example:8443", "timeout": "5s", "ca": "/etc/contigo/other-ca.pem"}
	  }
	}`
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := LoadPeers(file)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]records.Country{"EC", "PE"}, ps.Countries()); diff != "" {
		t.Errorf("Countries (-want +got):\n%s", diff)
	}
	pe, _ := ps.Peer("PE")
	if pe.Timeout != 5*time.Second || pe.CAFile != "/etc/contigo/other-ca.pem" || pe.CertFile != filepath.Join(fed.dir, "co-node.pem") {
		t.Errorf("PE peer %+v", pe)
	}
	if ps.Timeout("EC") != 3*time.Second || ps.Timeout("AR") != DefaultPeerTimeout {
		t.Errorf("timeouts EC %v AR %v", ps.Timeout("EC"), ps.Timeout("AR"))
	}
	if err := ps.CheckHosted([]records.Country{"CO"}); err != nil {
		t.Errorf("CheckHosted(CO): %v", err)
	}
	if err := ps.CheckHosted([]records.Country{"CO", "PE"}); !errors.Is(err, records.ErrInvalid) {
		t.Errorf("CheckHosted(CO, PE) = %v, want ErrInvalid", err)
	}

	// The registry's client reaches the EC node over mutual TLS.
	ec, ok := ps.Peer("EC")
	if !ok {
		t.Fatal("no EC peer")
	}
	client, err := ec.Client()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get(t, client, ec.URL.String(), nil); err != nil || got != "200 OK [CO]" {
		t.Errorf("GET EC node: %q, %v; want 200 from a caller speaking for CO", got, err)
	}
}

func TestParsePeersErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, json string
		kind       error
		fields     []string // each must be named in the error
	}{
		{"not json", `{`, records.ErrMalformed, nil},
		{"unknown field", `{"peer": {}}`, records.ErrMalformed, nil},
		{"everything wrong", `{"timeout": "soon", "peers": {
			"Ecuador": {"url": "https://ec"},
			"PE": {"url": "http://pe.example", "timeout": "-1s"},
			"BR": {}}}`, records.ErrInvalid,
			[]string{"timeout", "peers.Ecuador", "peers.PE.url", "peers.PE.ca", "peers.PE.timeout", "peers.BR.url", "peers.BR.key"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePeers([]byte(tt.json), "/x")
			if !errors.Is(err, tt.kind) {
				t.Fatalf("got %v, want %v", err, tt.kind)
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), f+":") {
					t.Errorf("error does not name %s:\n%v", f, err)
				}
			}
		})
	}
	if _, err := LoadPeers(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPeers(missing) = %v, want ErrNotExist", err)
	}
}
