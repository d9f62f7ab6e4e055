package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"contigo/records"
)

// LocalNode is one node of a federation set up on one machine (tests, the
// README's three-node walk-through).
type LocalNode struct {
	Name      string            // file-name friendly, e.g. "co"
	Countries []records.Country // the countries it hosts
	URL       string            // its https base URL, e.g. "https://127.0.0.1:8441"
	Timeout   time.Duration     // per-peer timeout others use towards it; 0 for the default
}

// NodeFiles are the files WriteLocalFederation wrote for one node, ready
// for ServerTLSConfig, LoadPeers and LoadSigner.
type NodeFiles struct {
	CA    string // the federation CA certificate
	Cert  string // the node's certificate
	Key   string // the node's key
	Peers string // the node's peers file, listing every other node's countries
}

// WriteLocalFederation creates under dir a new CA, a certificate for each
// node (valid for its URL's host and naming its countries) and a peers file
// per node listing all the others, and returns the files by node name. The
// CA key is not kept: to add a node, write the federation again. It fails
// if a node is malformed, two nodes host one country, or a file cannot be
// written.
func WriteLocalFederation(dir string, nodes []LocalNode, validFor time.Duration) (map[string]NodeFiles, error) {
	hostOf := map[string]string{}
	owner := map[records.Country]string{}
	var errs []error
	for _, n := range nodes {
		u, err := url.Parse(n.URL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" || n.Name == "" {
			errs = append(errs, fmt.Errorf("node %q: want a name and an https URL", n.Name))
			continue
		}
		hostOf[n.Name] = u.Hostname()
		for _, cc := range n.Countries {
			if other, dup := owner[cc]; dup {
				errs = append(errs, fmt.Errorf("country %s hosted by both %s and %s", cc, other, n.Name))
			}
			owner[cc] = n.Name
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("local federation: %w", err)
	}
	ca, err := NewCA("Contigo local federation CA", validFor)
	if err != nil {
		return nil, fmt.Errorf("local federation: %w", err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		return nil, fmt.Errorf("local federation: %w", err)
	}
	out := map[string]NodeFiles{}
	for _, n := range nodes {
		hosts := []string{hostOf[n.Name]}
		if ip := net.ParseIP(hosts[0]); ip != nil && ip.IsLoopback() {
			hosts = append(hosts, "localhost")
		}
		nc, err := ca.Issue(n.Name+"-node", hosts, n.Countries, validFor)
		if err != nil {
			return nil, fmt.Errorf("local federation: %w", err)
		}
		cert, key, err := nc.WriteFiles(dir, n.Name+"-node")
		if err != nil {
			return nil, fmt.Errorf("local federation: %w", err)
		}
		out[n.Name] = NodeFiles{CA: caFile, Cert: cert, Key: key, Peers: filepath.Join(dir, n.Name+"-peers.json")}
	}
	for _, n := range nodes {
		f := peersFile{CA: filepath.Base(caFile), Cert: filepath.Base(out[n.Name].Cert), Key: filepath.Base(out[n.Name].Key),
			Timeout: DefaultPeerTimeout.String(), Peers: map[string]peerJSON{}}
		for _, o := range nodes {
			if o.Name == n.Name {
				continue
			}
			for _, cc := range o.Countries {
				pj := peerJSON{URL: o.URL}
				if o.Timeout > 0 {
					pj.Timeout = o.Timeout.String()
				}
				f.Peers[string(cc)] = pj
			}
		}
		data, err := json.MarshalIndent(f, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("local federation: %w", err)
		}
		if err := os.WriteFile(out[n.Name].Peers, append(data, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("local federation: %w", err)
		}
	}
	return out, nil
}
