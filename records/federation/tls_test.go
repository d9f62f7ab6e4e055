package federation

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

// testPKI is a federation CA with the certificates of a few nodes, written
// to a temporary directory.
type testPKI struct {
	dir string
	ca  *CA
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := NewCA("test federation CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: t.TempDir(), ca: ca}
	if err := os.WriteFile(filepath.Join(p.dir, "ca.pem"), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// node issues a certificate for a node on 127.0.0.1 hosting countries and
// returns it with its file paths.
func (p *testPKI) node(t *testing.T, name string, countries ...records.Country) (nc NodeCert, certFile, keyFile string) {
	t.Helper()
	nc, err := p.ca.Issue(name, []string{"127.0.0.1", "localhost"}, countries, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err = nc.WriteFiles(p.dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return nc, certFile, keyFile
}

func (p *testPKI) caFile() string { return filepath.Join(p.dir, "ca.pem") }

// newNode starts a TLS server on loopback that requires a client
// certificate from the federation CA and answers with the countries the
// caller's certificate speaks for and, if a caller header came, its
// verified subject.
func newNode(t *testing.T, p *testPKI, name string, countries ...records.Country) *httptest.Server {
	t.Helper()
	_, certFile, keyFile := p.node(t, name, countries...)
	cfg, err := ServerTLSConfig(p.caFile(), certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from := PeerCountries(r.TLS)
		msg := fmt.Sprint(from)
		if h := r.Header.Get(HeaderCaller); h != "" {
			c, err := VerifyCaller(h, r.TLS.PeerCertificates[0], Target{Audience: "PE", Method: r.Method, Path: r.URL.Path}, time.Now())
			if err != nil {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			msg += " " + c.Subject + " " + string(c.Purpose)
		}
		fmt.Fprint(w, msg)
	}))
	srv.TLS = cfg
	srv.Config.ErrorLog = discardLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, client *http.Client, url string, header map[string]string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var sb strings.Builder
	if _, err := fmt.Fprint(&sb, resp.Status, " "); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	return sb.String() + strings.TrimSpace(string(buf[:n])), nil
}

func clientFor(t *testing.T, cfg *tls.Config) *http.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.Clone() // the transport writes to its config
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	fed := newTestPKI(t)
	peru := newNode(t, fed, "pe-node", "PE")
	_, ecCert, ecKey := fed.node(t, "ec-node", "EC")

	rogue := newTestPKI(t) // another CA: a forger's
	forged, _, _ := rogue.node(t, "ec-node", "EC")
	_, rogueCert, rogueKey := rogue.node(t, "rogue", "EC")

	good, err := ClientTLSConfig(fed.caFile(), ecCert, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("certificate from the federation CA", func(t *testing.T) {
		t.Parallel()
		got, err := get(t, clientFor(t, good), peru.URL, nil)
		if err != nil || got != "200 OK [EC]" {
			t.Errorf("got %q, %v; want 200 naming EC", got, err)
		}
	})
	t.Run("forged certificate from another CA", func(t *testing.T) {
		t.Parallel()
		cfg, err := ClientTLSConfigPEM(fed.ca.CertPEM, forged.CertPEM, forged.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := get(t, clientFor(t, cfg), peru.URL, nil); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
			t.Errorf("forged certificate: got %q, %v; want the server to refuse its authority", got, err)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		t.Parallel()
		cfg, err := ClientTLSConfig(fed.caFile(), ecCert, ecKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = nil
		if got, err := get(t, clientFor(t, cfg), peru.URL, nil); err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Errorf("no certificate: got %q, %v; want the server to require one", got, err)
		}
	})
	t.Run("server from another CA", func(t *testing.T) {
		t.Parallel()
		cfg, err := ServerTLSConfig(rogue.caFile(), rogueCert, rogueKey)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.TLS = cfg
		srv.Config.ErrorLog = discardLog()
		srv.StartTLS()
		t.Cleanup(srv.Close)
		if got, err := get(t, clientFor(t, good), srv.URL, nil); err == nil || !strings.Contains(err.Error(), "unknown authority") {
			t.Errorf("impostor server: got %q, %v; want its certificate refused", got, err)
		}
	})
	t.Run("caller assertion over mTLS", func(t *testing.T) {
		t.Parallel()
		key, err := LoadSigner(ecKey)
		if err != nil {
			t.Fatal(err)
		}
		h, err := Caller{Subject: "u-17", Role: "health-worker", From: "EC", Purpose: PurposeTreatment, Audience: "PE", Method: "GET", Path: "/"}.Sign(key, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got, err := get(t, clientFor(t, good), peru.URL, map[string]string{HeaderCaller: h})
		if err != nil || got != "200 OK [EC] u-17 treatment" {
			t.Errorf("got %q, %v", got, err)
		}
		// The same assertion claiming Colombia, which EC's certificate
		// does not speak for, is refused.
		h, err = Caller{Subject: "u-17", Role: "health-worker", From: "CO", Purpose: PurposeTreatment, Audience: "PE", Method: "GET", Path: "/"}.Sign(key, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := get(t, clientFor(t, good), peru.URL, map[string]string{HeaderCaller: h}); err != nil || !strings.HasPrefix(got, "403") {
			t.Errorf("got %q, %v; want 403", got, err)
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	fed := newTestPKI(t)
	_, cert, key := fed.node(t, "n", "CO")
	junk := filepath.Join(fed.dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, ca, cert, key string }{
		{"missing ca", filepath.Join(fed.dir, "nope.pem"), cert, key},
		{"ca not pem", junk, cert, key},
		{"key does not fit", fed.caFile(), cert, junk},
		{"cert and key swapped", fed.caFile(), key, cert},
	} {
		if _, err := ServerTLSConfig(tt.ca, tt.cert, tt.key); err == nil {
			t.Errorf("%s: ServerTLSConfig succeeded", tt.name)
		}
		if _, err := ClientTLSConfig(tt.ca, tt.cert, tt.key); err == nil {
			t.Errorf("%s: ClientTLSConfig succeeded", tt.name)
		}
	}
	if _, err := LoadSigner(junk); err == nil {
		t.Error("LoadSigner(junk) succeeded")
	}
}

func TestCertCountries(t *testing.T) {
	t.Parallel()
	fed := newTestPKI(t)
	nc, _, _ := fed.node(t, "co-ve", "CO", "VE")
	pair, err := tls.X509KeyPair(nc.CertPEM, nc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]records.Country{"CO", "VE"}, CertCountries(pair.Leaf)); diff != "" {
		t.Errorf("CertCountries (-want +got):\n%s", diff)
	}
	if got := PeerCountries(nil); got != nil {
		t.Errorf("PeerCountries(nil) = %v", got)
	}
	if !errors.Is(ErrBadCaller, records.ErrForbidden) {
		t.Error("ErrBadCaller should match records.ErrForbidden")
	}
}
