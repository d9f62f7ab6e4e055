package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"contigo/api"
	"contigo/records"
	"contigo/records/federation"
)

func init() {
	commands["federation"] = command{summary: "set up a federation of nodes (certificates, peers files)", run: runFederation}
}

// peerNode is the federation side of "contigo serve": the API's
// federation settings and the mutual-TLS listener peers call. A nil
// *peerNode (no --peers) does nothing.
type peerNode struct {
	fed  *api.Federation
	tls  *tls.Config
	addr string
	hs   *http.Server
}

// loadPeerNode reads the peers file of cfg, if any: peers, this node's
// signing key and the TLS configuration of the peer listener (client
// certificates from the federation CA required).
func loadPeerNode(cfg serveConfig) (*peerNode, error) {
	if cfg.Peers == "" {
		return nil, nil
	}
	peers, err := federation.LoadPeers(cfg.Peers)
	if err != nil {
		return nil, err
	}
	if err := peers.CheckHosted(cfg.Countries); err != nil {
		return nil, fmt.Errorf("peers file %s: %w", cfg.Peers, err)
	}
	node := peers.Node()
	if err := refuseSharedKey(node.KeyFile, "federation node key", "who could pose as this node; issue a new node certificate and key"); err != nil {
		return nil, err
	}
	tlsCfg, err := federation.ServerTLSConfig(node.CAFile, node.CertFile, node.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("peer listener: %w", err)
	}
	signer, err := federation.LoadSigner(node.KeyFile)
	if err != nil {
		return nil, err
	}
	fed := &api.Federation{Peers: peers, Signer: signer, Overall: cfg.FedTimeout, PeerWrites: cfg.PeerWrites}
	return &peerNode{fed: fed, tls: tlsCfg, addr: cfg.PeerAddr}, nil
}

// api returns the API's federation settings; nil without peers.
func (p *peerNode) api() *api.Federation {
	if p == nil {
		return nil
	}
	return p.fed
}

// listen starts the peer listener serving h over mutual TLS.
func (p *peerNode) listen(h http.Handler, limits limitOptions, log *slog.Logger) error {
	if p == nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("peer listener: %w", err)
	}
	p.hs = newHTTPServer(h, limits, log, slog.LevelDebug) // debug: failed handshakes of strangers
	p.hs.TLSConfig = p.tls
	log.Info("listening for peers (mutual TLS)", "addr", ln.Addr().String(), "peers", len(p.fed.Peers.Countries()))
	go func() {
		if err := p.hs.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("peer listener", "err", err)
		}
	}()
	return nil
}

// shutdown drains the peer listener.
func (p *peerNode) shutdown(ctx context.Context) error {
	if p == nil || p.hs == nil {
		return nil
	}
	if err := p.hs.Shutdown(ctx); err != nil {
		return fmt.Errorf("drain peer listener: %w", err)
	}
	return nil
}

// runFederation implements "contigo federation init DIR --countries CO,EC,PE".
func runFederation(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(stderr, "Usage: contigo federation init DIR [--countries CO,EC,PE] [--host 127.0.0.1 | --hosts H1,H2,H3] [--port 8441] [--user-port 8081] [--valid 8760h]")
		return 2
	}
	fs := flag.NewFlagSet("contigo federation init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	countries := fs.String("countries", "CO,EC,PE", "one node per country, in this order")
	host := fs.String("host", "127.0.0.1", "host every node listens on for peers")
	hosts := fs.String("hosts", "", "comma-separated peer host name of each node, in --countries order, instead of --host (e.g. co-node,ec-node,pe-node in deploy/compose)")
	port := fs.Int("port", 8441, "peer port of the first node; the next nodes take the following ports")
	userPort := fs.Int("user-port", 8081, "user (FHIR API) port of the first node, in the printed commands")
	ifAbsent := fs.Bool("if-absent", false, "do nothing if DIR already holds ca.pem (for a container that runs at every start)")
	valid := fs.Duration("valid", 365*24*time.Hour, "validity of the CA and certificates")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: contigo federation init DIR [flags]\n\nWrites a new federation CA, one certificate per node and one peers file\nper node into DIR, for nodes on one machine (or one host each, by hand).\n\nFlags:")
		fs.PrintDefaults()
	}
	rest := args[1:]
	var dir string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		dir, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	if dir == "" {
		fmt.Fprintln(stderr, "contigo federation init: name the directory to write")
		return 2
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err == nil && *ifAbsent {
		fmt.Fprintf(stdout, "%s/ca.pem exists: federation already initialised, nothing written\n", dir)
		return 0
	}
	var nodes []federation.LocalNode
	ccs := strings.Split(*countries, ",")
	hostOf := func(int) string { return *host }
	if *hosts != "" {
		hs := strings.Split(*hosts, ",")
		if len(hs) != len(ccs) {
			fmt.Fprintf(stderr, "contigo federation init: --hosts names %d hosts for %d countries\n", len(hs), len(ccs))
			return 2
		}
		hostOf = func(i int) string { return strings.TrimSpace(hs[i]) }
	}
	for i, s := range ccs {
		cc, err := records.ParseCountry(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(stderr, "contigo federation init: --countries %q: %v\n", s, err)
			return 2
		}
		nodes = append(nodes, federation.LocalNode{Name: strings.ToLower(string(cc)), Countries: []records.Country{cc},
			URL: "https://" + net.JoinHostPort(hostOf(i), strconv.Itoa(*port+i))})
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "contigo federation init: %v\n", err)
		return 1
	}
	files, err := federation.WriteLocalFederation(dir, nodes, *valid)
	if err != nil {
		fmt.Fprintf(stderr, "contigo federation init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s/ca.pem and, per node, a certificate, key and peers file. Start each node:\n\n", dir)
	for i, n := range nodes {
		fmt.Fprintf(stdout, "  contigo serve --countries %s --addr 127.0.0.1:%d --data-dir ./data-%s \\\n      --peers %s --peer-addr %s\n",
			n.Countries[0], *userPort+i, n.Name, files[n.Name].Peers, strings.TrimPrefix(n.URL, "https://"))
	}
	return 0
}
