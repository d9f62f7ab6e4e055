// Package federation connects Contigo nodes: each country's records stay in
// the node that hosts it, and nodes answer each other.
//
// It holds the peer registry (LoadPeers), the mutual TLS configuration
// between nodes (ServerTLSConfig, ClientTLSConfig, and a small CA for tests
// and local setups), the caller identity that travels node to node (Caller),
// the fan-out to several peers with per-peer and overall deadlines and a
// circuit breaker per peer (FanOut, Breakers), and person matching for
// Patient/$match: the candidate searches (CandidateQueries), the scoring
// (Person, Score) and the ranked answer (Rank). docs/federation.md gives
// the matcher's rules and its measured precision and recall.
//
// federation may import records, fhir and samply's R4 types; it never imports
// api, Echo or a database driver. Metrics are reported through hooks
// (Limits.Observe) that the api package wires to Prometheus.
package federation
