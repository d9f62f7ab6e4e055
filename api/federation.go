package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"contigo/records"
	"contigo/records/federation"
)

// Federation configures how a node reaches the countries it does not host.
// A Server without one stands alone: /countries/{cc}/fhir of another
// country is 404 and _federated=true searches only here.
type Federation struct {
	Peers  *federation.Peers // the countries of other nodes, and how to call them; required
	Signer crypto.Signer     // this node's federation key, signing Contigo-Caller; required
	// PerPeer, if set, overrides every peer's timeout (the peers file's,
	// default 3 s) for fan-outs and forwarded requests.
	PerPeer time.Duration
	// Overall bounds a whole fan-out ($match, search, $everything with
	// _federated=true); 0 means DefaultFederatedTimeout.
	Overall time.Duration
	// Breakers skips peers that keep failing; nil means
	// federation.NewBreakers(0, 0, nil) (5 failures, 30 s).
	Breakers *federation.Breakers
	// PeerWrites lets peers' users add to and update the records of the
	// countries hosted here (create and update of one resource, never of
	// AuditEvent), under the same consent rule as reads. Off, peers read.
	PeerWrites bool
}

// DefaultFederatedTimeout is the overall deadline of a federated request.
const DefaultFederatedTimeout = 5 * time.Second

// Headers of a request that say why a user reads a record (stated by the
// user on their own node, carried to peers in the signed Contigo-Caller).
const (
	HeaderPurpose = "Contigo-Purpose" // treatment (default), emergency, referral or public-health
	HeaderReason  = "Contigo-Reason"  // free text; required with emergency; audited, never logged
)

// CountryTagSystem is the meta.tag system naming the country whose node
// holds a resource, on every entry of a federated answer.
const CountryTagSystem = "https://contigo.example/fhir/CodeSystem/country"

// maxPeerBody bounds what is read from a peer's answer.
const maxPeerBody = 32 << 20

// fedNode is the federation state of a Server: peer clients, metrics.
type fedNode struct {
	peers   *federation.Peers
	signer  crypto.Signer
	clients map[records.Country]*http.Client
	lim     federation.Limits
	// peerWrites: peers may create and update (Federation.PeerWrites).
	peerWrites bool
	latency    *prometheus.HistogramVec
	errs       *prometheus.CounterVec
}

// newFedNode builds the federation state; nil cfg gives a node without
// peers. It fails if a peer's TLS files cannot be read, a hosted country
// is also a peer, or the metrics cannot be registered.
func newFedNode(cfg *Federation, hosted []records.Country, reg prometheus.Registerer) (*fedNode, error) {
	n := &fedNode{clients: map[records.Country]*http.Client{}}
	if cfg == nil {
		return n, nil
	}
	if cfg.Peers == nil || cfg.Signer == nil {
		return nil, errors.New("api config: federation needs peers and a signer")
	}
	if err := cfg.Peers.CheckHosted(hosted); err != nil {
		return nil, fmt.Errorf("api config: %w", err)
	}
	n.peers, n.signer, n.peerWrites = cfg.Peers, cfg.Signer, cfg.PeerWrites
	for _, cc := range cfg.Peers.Countries() {
		p, _ := cfg.Peers.Peer(cc)
		if cfg.PerPeer > 0 {
			p.Timeout = cfg.PerPeer
		}
		cl, err := p.Client()
		if err != nil {
			return nil, fmt.Errorf("api config: %w", err)
		}
		n.clients[cc] = cl
	}
	n.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "contigo", Subsystem: "federation", Name: "peer_request_duration_seconds",
		Help:    "Duration of calls to peer nodes, by country and outcome (ok, timeout, error, circuit-open, canceled).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10},
	}, []string{"country", "outcome"})
	n.errs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "contigo", Subsystem: "federation", Name: "peer_errors_total",
		Help: "Calls to peer nodes that failed, by country and reason.",
	}, []string{"country", "reason"})
	for _, c := range []prometheus.Collector{n.latency, n.errs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register federation metrics: %w", err)
		}
	}
	n.lim = federation.Limits{
		PerPeer:     cfg.PerPeer,
		PeerTimeout: cfg.Peers.Timeout,
		Overall:     cmp.Or(cfg.Overall, DefaultFederatedTimeout),
		Breakers:    cmp.Or(cfg.Breakers, federation.NewBreakers(0, 0, nil)),
		Observe:     n.observe,
	}
	if cfg.PerPeer > 0 {
		n.lim.PeerTimeout = nil
	}
	if err := registerBreakerGauges(reg, cfg.Peers.Countries(), n.lim.Breakers); err != nil {
		return nil, err
	}
	return n, nil
}

// observe records one peer call in the metrics (FanOut's Observe hook).
func (n *fedNode) observe(cc records.Country, latency time.Duration, reason federation.FailReason) {
	outcome := cmp.Or(string(reason), "ok")
	n.latency.WithLabelValues(string(cc), outcome).Observe(latency.Seconds())
	if reason != "" {
		n.errs.WithLabelValues(string(cc), string(reason)).Inc()
	}
}

// peerCountries returns the countries of the peers, sorted.
func (n *fedNode) peerCountries() []records.Country { return n.peers.Countries() }

// isPeer reports whether cc is hosted by a peer.
func (n *fedNode) isPeer(cc records.Country) bool { _, ok := n.peers.Peer(cc); return ok }

// peerResponse is a peer's answer, passed back as it came.
type peerResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// peerError turns a peer's error status into an error of the matching
// kind, so that FanOut counts it right (an answer, or a failure).
func peerError(cc records.Country, status int) error {
	kind := records.ErrPeerUnavailable
	switch {
	case status == http.StatusNotFound:
		kind = records.ErrNotFound
	case status == http.StatusGone:
		kind = records.ErrGone
	case status == http.StatusForbidden:
		kind = records.ErrForbidden
	case status == http.StatusUnauthorized:
		kind = records.ErrUnauthorized
	case status == http.StatusBadRequest:
		kind = records.ErrMalformed
	case status >= 400 && status < 500:
		kind = records.ErrInvalid
	}
	return fmt.Errorf("country %s answered %d: %w", cc, status, kind)
}

// call sends one request to cc's node as caller: path is the URL path and
// query under the peer's base URL (/countries/{cc}/fhir/...). The error is
// only for transport failures; any status is an answer.
func (n *fedNode) call(ctx context.Context, cc records.Country, caller federation.Caller, method, path string, body []byte, header http.Header) (peerResponse, error) {
	p, ok := n.peers.Peer(cc)
	if !ok {
		return peerResponse{}, fmt.Errorf("country %s: %w", cc, records.ErrNotFound)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(p.URL.String(), "/")+path, rd)
	if err != nil {
		return peerResponse{}, fmt.Errorf("call %s: %w", cc, err)
	}
	// The assertion names this one request: the peer refuses it for any
	// other node, method or path, and a second time.
	caller.Audience, caller.Method, caller.Path = cc, method, req.URL.Path
	sig, err := caller.Sign(n.signer, time.Now())
	if err != nil {
		return peerResponse{}, fmt.Errorf("call %s: %w", cc, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set(federation.HeaderCaller, sig)
	if body != nil && req.Header.Get(echo.HeaderContentType) == "" {
		req.Header.Set(echo.HeaderContentType, "application/fhir+json")
	}
	req.Header.Set("Accept", "application/fhir+json")
	if caller.RequestID != "" {
		req.Header.Set(echo.HeaderXRequestID, caller.RequestID)
	}
	resp, err := n.clients[cc].Do(req)
	if err != nil {
		return peerResponse{}, fmt.Errorf("call %s: %w: %w", cc, records.ErrPeerUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBody))
	if err != nil {
		return peerResponse{}, fmt.Errorf("call %s: read answer: %w: %w", cc, records.ErrPeerUnavailable, err)
	}
	return peerResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// fanOut calls fn for each country under the node's limits.
func fanOut[T any](ctx context.Context, n *fedNode, countries []records.Country, fn func(context.Context, records.Country) (T, error)) federation.Answer[T] {
	return federation.FanOut(ctx, n.lim, countries, fn)
}

// federationRoutes registers the federation operations under a FHIR
// prefix (called from fhirRoutes with its add).
func (s *Server) federationRoutes(add func(method, path string, h echo.HandlerFunc)) {
	add("POST", "/Patient/$match", s.interaction("match", "E", permRead, s.searching(s.handleMatch)))
	add("POST", "/Patient/$referral", s.interaction("referral", "C", permWrite, s.handleReferral))
	add("POST", "/Patient/:id/$link", s.interaction("link", "U", permWrite, s.handleLink))
	add("POST", "/Patient/:id/$refer", s.interaction("refer", "E", permWrite, s.handleRefer))
}
