package federation

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

// TestWriteLocalFederation sets up three nodes (CO, EC+VE, PE) on loopback
// from the written files only, and has every node call every other one.
func TestWriteLocalFederation(t *testing.T) {
	t.Parallel()
	type node struct {
		name      string
		countries []records.Country
		ln        net.Listener
	}
	nodes := []*node{{name: "co", countries: []records.Country{"CO"}}, {name: "ec", countries: []records.Country{"EC", "VE"}}, {name: "pe", countries: []records.Country{"PE"}}}
	var local []LocalNode
	for _, n := range nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n.ln = ln
		local = append(local, LocalNode{Name: n.name, Countries: n.countries, URL: "https://" + ln.Addr().String(), Timeout: 2 * time.Second})
	}
	dir := t.TempDir()
	files, err := WriteLocalFederation(dir, local, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		f := files[n.name]
		cfg, err := ServerTLSConfig(f.CA, f.Cert, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s answers %v", n.name, PeerCountries(r.TLS))
		}))
		srv.Listener.Close()
		srv.Listener = n.ln
		srv.TLS = cfg
		srv.Config.ErrorLog = discardLog()
		srv.StartTLS()
		t.Cleanup(srv.Close)
	}
	for _, n := range nodes {
		ps, err := LoadPeers(files[n.name].Peers)
		if err != nil {
			t.Fatal(err)
		}
		if err := ps.CheckHosted(n.countries); err != nil {
			t.Errorf("%s: %v", n.name, err)
		}
		var got []string
		for _, cc := range ps.Countries() {
			p, _ := ps.Peer(cc)
			client, err := p.Client()
			if err != nil {
				t.Fatal(err)
			}
			body, err := get(t, client, p.URL.String(), nil)
			if err != nil {
				t.Fatalf("%s -> %s: %v", n.name, cc, err)
			}
			got = append(got, string(cc)+": "+body)
		}
		want := map[string][]string{
			"co": {"EC: 200 OK ec answers [CO]", "PE: 200 OK pe answers [CO]", "VE: 200 OK ec answers [CO]"},
			"ec": {"CO: 200 OK co answers [EC VE]", "PE: 200 OK pe answers [EC VE]"},
			"pe": {"CO: 200 OK co answers [PE]", "EC: 200 OK ec answers [PE]", "VE: 200 OK ec answers [PE]"},
		}[n.name]
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s calling its peers (-want +got):\n%s", n.name, diff)
		}
		if _, err := LoadSigner(files[n.name].Key); err != nil {
			t.Errorf("%s key: %v", n.name, err)
		}
	}

	for _, bad := range [][]LocalNode{
		{{Name: "a", URL: "http://127.0.0.1:1"}},
		{{Name: "a", URL: "https://127.0.0.1:1", Countries: []records.Country{"CO"}}, {Name: "b", URL: "https://127.0.0.1:2", Countries: []records.Country{"CO"}}},
	} {
		if _, err := WriteLocalFederation(t.TempDir(), bad, time.Hour); err == nil {
			t.Errorf("WriteLocalFederation(%+v) succeeded", bad)
		}
	}
}
