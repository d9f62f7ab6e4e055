package federation

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"contigo/records"
)

// DefaultPeerTimeout is a peer's deadline when the peers file names none.
const DefaultPeerTimeout = 3 * time.Second

// Peer is the node that hosts a country this node does not.
type Peer struct {
	Country  records.Country
	URL      *url.URL      // base URL of the node, https; callers append /countries/{cc}/fhir/...
	CAFile   string        // PEM bundle of the federation CA that signs the peer's server certificate
	CertFile string        // this node's client certificate (PEM) presented to the peer
	KeyFile  string        // its private key (PEM)
	Timeout  time.Duration // deadline of one call to the peer
}

// Peers is the peer registry: country -> the node that hosts it.
type Peers struct {
	byCountry map[records.Country]Peer
	node      NodeTLS
}

// NodeTLS names this node's own federation files: the CA that verifies
// peers and the certificate and key it presents (and signs Caller
// assertions with). They are the peers file's top-level ca, cert and key.
type NodeTLS struct {
	CAFile, CertFile, KeyFile string
}

// peersFile is the JSON of a peers file. Top-level ca, cert, key and
// timeout are defaults for every peer; a peer may override each.
type peersFile struct {
	CA      string              `json:"ca,omitempty"`
	Cert    string              `json:"cert,omitempty"`
	Key     string              `json:"key,omitempty"`
	Timeout string              `json:"timeout,omitempty"`
	Peers   map[string]peerJSON `json:"peers"`
}

type peerJSON struct {
	URL     string `json:"url"`
	CA      string `json:"ca,omitempty"`
	Cert    string `json:"cert,omitempty"`
	Key     string `json:"key,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

// LoadPeers reads a peers file (format in docs/federation.md). Relative
// paths in it are relative to the file's directory. Every problem found is
// returned at once, joined; the error matches records.ErrInvalid when the
// file parses but says something wrong, records.ErrMalformed when it does
// not parse.
func LoadPeers(path string) (*Peers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load peers: %w", err)
	}
	p, err := ParsePeers(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("load peers %s: %w", path, err)
	}
	return p, nil
}

// ParsePeers parses the JSON of a peers file; relative paths are resolved
// against dir. It checks that every country is a two-letter code, every URL
// is https with a host, the CA, certificate and key are named (not that the
// files exist: ClientTLSConfig reads them) and timeouts are positive.
func ParsePeers(data []byte, dir string) (*Peers, error) {
	var f peersFile
	dec := json.NewDecoder(bytesReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: peers file: %v", records.ErrMalformed, err)
	}
	defTimeout, err := parseTimeout(f.Timeout, DefaultPeerTimeout)
	var errs []error
	if err != nil {
		errs = append(errs, fieldErr("timeout", err.Error()))
	}
	out := &Peers{byCountry: map[records.Country]Peer{},
		node: NodeTLS{CAFile: resolve(dir, f.CA), CertFile: resolve(dir, f.Cert), KeyFile: resolve(dir, f.Key)}}
	for code, pj := range f.Peers {
		cc, err := records.ParseCountry(code)
		if err != nil {
			errs = append(errs, fieldErr("peers."+code, "not a two-letter country code"))
			continue
		}
		if _, dup := out.byCountry[cc]; dup {
			errs = append(errs, fieldErr("peers."+code, "country listed twice"))
			continue
		}
		p := Peer{
			Country:  cc,
			CAFile:   resolve(dir, cmp.Or(pj.CA, f.CA)),
			CertFile: resolve(dir, cmp.Or(pj.Cert, f.Cert)),
			KeyFile:  resolve(dir, cmp.Or(pj.Key, f.Key)),
		}
		field := "peers." + string(cc)
		u, err := url.Parse(pj.URL)
		switch {
		case pj.URL == "":
			errs = append(errs, fieldErr(field+".url", "missing"))
		case err != nil || u.Scheme != "https" || u.Host == "":
			errs = append(errs, fieldErr(field+".url", "want an https URL with a host"))
		default:
			p.URL = u
		}
		for name, v := range map[string]string{"ca": p.CAFile, "cert": p.CertFile, "key": p.KeyFile} {
			if v == "" {
				errs = append(errs, fieldErr(field+"."+name, "missing (set it here or at the top level)"))
			}
		}
		if p.Timeout, err = parseTimeout(pj.Timeout, defTimeout); err != nil {
			errs = append(errs, fieldErr(field+".timeout", err.Error()))
		}
		out.byCountry[cc] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Peer returns the peer hosting cc; ok is false if no peer does.
func (ps *Peers) Peer(cc records.Country) (p Peer, ok bool) {
	if ps == nil {
		return Peer{}, false
	}
	p, ok = ps.byCountry[cc]
	return p, ok
}

// Node returns this node's federation files: the peers file's top-level
// ca, cert and key, each falling back to the first peer's (by country)
// when the top level leaves it out.
func (ps *Peers) Node() NodeTLS {
	if ps == nil {
		return NodeTLS{}
	}
	n := ps.node
	for _, cc := range ps.Countries() {
		p := ps.byCountry[cc]
		n.CAFile, n.CertFile, n.KeyFile = cmp.Or(n.CAFile, p.CAFile), cmp.Or(n.CertFile, p.CertFile), cmp.Or(n.KeyFile, p.KeyFile)
	}
	return n
}

// Countries returns the countries hosted by peers, sorted.
func (ps *Peers) Countries() []records.Country {
	if ps == nil {
		return nil
	}
	out := make([]records.Country, 0, len(ps.byCountry))
	for cc := range ps.byCountry {
		out = append(out, cc)
	}
	slices.Sort(out)
	return out
}

// Timeout returns the deadline of one call to cc's peer,
// DefaultPeerTimeout if cc has no peer.
func (ps *Peers) Timeout(cc records.Country) time.Duration {
	if p, ok := ps.Peer(cc); ok {
		return p.Timeout
	}
	return DefaultPeerTimeout
}

// CheckHosted returns an error if a country this node hosts is also given
// to a peer: a node never forwards a country it serves itself.
func (ps *Peers) CheckHosted(hosted []records.Country) error {
	var errs []error
	for _, cc := range hosted {
		if _, ok := ps.Peer(cc); ok {
			errs = append(errs, fieldErr("peers."+string(cc), "hosted by this node, cannot also be a peer"))
		}
	}
	return errors.Join(errs...)
}

// Client returns an HTTP client for p: mutual TLS with this node's
// certificate, the server verified against the federation CA, and p's
// timeout on every request. Build it once per peer and reuse it: it holds
// the connection pool. It fails if a file cannot be read or parsed.
func (p Peer) Client() (*http.Client, error) {
	cfg, err := ClientTLSConfig(p.CAFile, p.CertFile, p.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("peer %s client: %w", p.Country, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	tr.ForceAttemptHTTP2 = true
	return &http.Client{Transport: tr, Timeout: p.Timeout}, nil
}

func parseTimeout(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a positive duration such as \"3s\", got %q", s)
	}
	return d, nil
}

func resolve(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

func fieldErr(field, reason string) error {
	return &records.FieldError{Field: field, Reason: reason}
}
