package api

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"contigo/records"
	"contigo/records/federation"
)

// opsMetrics are the API's operational metrics beyond the HTTP ones: what
// the alert rules in deploy/prometheus watch.
type opsMetrics struct {
	auditFailures prometheus.Counter // audit entries that could not be written
}

// newOpsMetrics registers the operational metrics on reg.
func newOpsMetrics(reg prometheus.Registerer) (*opsMetrics, error) {
	m := &opsMetrics{
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "contigo", Subsystem: "audit", Name: "write_failures_total",
			Help: "Audit entries that could not be written (the request itself was answered).",
		}),
	}
	if err := reg.Register(m.auditFailures); err != nil {
		return nil, fmt.Errorf("register audit metrics: %w", err)
	}
	return m, nil
}

// registerBreakerGauges exports, for each peer country, whether its
// circuit breaker is open (1) or lets calls through (0, closed or half-open).
func registerBreakerGauges(reg prometheus.Registerer, peers []records.Country, bs *federation.Breakers) error {
	for _, cc := range peers {
		b := bs.For(cc)
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "contigo", Subsystem: "federation", Name: "breaker_open",
			Help:        "1 while the circuit breaker of the peer country is open (its calls are skipped), else 0.",
			ConstLabels: prometheus.Labels{"country": string(cc)},
		}, func() float64 {
			if b.State() == federation.Open {
				return 1
			}
			return 0
		})
		if err := reg.Register(g); err != nil {
			return fmt.Errorf("register breaker metrics: %w", err)
		}
	}
	return nil
}
