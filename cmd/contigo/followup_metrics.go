package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contigo/api"
	"contigo/records"
)

// followUpMetrics tell whether the missed-follow-up scan runs: the time of
// each country's last successful scan, and scans by outcome. The alert
// ContigoFollowUpScanNotRunning (deploy/prometheus) watches the first.
type followUpMetrics struct {
	lastSuccess *prometheus.GaugeVec
	runs        *prometheus.CounterVec
}

// newFollowUpMetrics registers the follow-up scan metrics on reg.
func newFollowUpMetrics(reg prometheus.Registerer) (*followUpMetrics, error) {
	m := &followUpMetrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "contigo", Subsystem: "nutrition", Name: "followup_last_success_timestamp_seconds",
			Help: "Unix time of the last successful missed-follow-up scan of the country by this instance.",
		}, []string{"country"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "contigo", Subsystem: "nutrition", Name: "followup_scans_total",
			Help: "Missed-follow-up scans run by this instance, by country and outcome (ok, error).",
		}, []string{"country", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.lastSuccess, m.runs} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// runFollowUpScans runs the missed-follow-up scan of every country now and
// then every interval until ctx ends, recording each outcome. Several
// replicas may run it at once (api.Nutrition.RunFollowUp is safe so).
func runFollowUpScans(ctx context.Context, interval time.Duration, nut *api.Nutrition, svc *records.Service, countries []records.Country, m *followUpMetrics, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, cc := range countries {
			res, err := nut.RunFollowUp(ctx, svc, cc, time.Now())
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				m.runs.WithLabelValues(string(cc), "error").Inc()
				log.Error("nutrition follow-up scan failed", "country", string(cc), "err", err)
			default:
				m.runs.WithLabelValues(string(cc), "ok").Inc()
				m.lastSuccess.WithLabelValues(string(cc)).SetToCurrentTime()
				if res.Due > 0 {
					log.Info("nutrition follow-up scan", "country", string(cc), "scanned", res.Scanned, "due", res.Due, "written", res.Written)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
