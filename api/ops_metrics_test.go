package api

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contigo/records"
	"contigo/records/federation"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// gauge returns the value of the one series of family name in reg, or -1.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// TestAuditWriteFailureCounted: with the database gone, a request is
// answered, its audit entry cannot be written, and the counter says so.
func TestAuditWriteFailureCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := recmongo.Open(ctx, recmongo.Config{URI: mongotest.URI(), Countries: []records.Country{"CO"}, DBPrefix: "auditfail_" + strings.ToLower(rand.Text()[:8]) + "_", NoSQLiteIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv, err := New(Config{Service: records.NewService(store, records.ServiceOptions{}), Countries: []records.Country{"CO"}, Key: testKey, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, store: store, reg: reg}
	if got := gauge(t, reg, "contigo_audit_write_failures_total"); got != 0 {
		t.Fatalf("audit failures before: %v, want 0", got)
	}
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/fhir/Patient/abc", e.token(RoleHealthWorker, "CO"), "")
	if r.Code < 500 {
		t.Fatalf("read with the database closed: %d %s", r.Code, r.Body)
	}
	if got := gauge(t, reg, "contigo_audit_write_failures_total"); got != 1 {
		t.Errorf("audit failures after: %v, want 1", got)
	}
}

// TestBreakerGauge follows a peer's breaker from closed to open.
func TestBreakerGauge(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	bs := federation.NewBreakers(2, time.Hour, nil)
	if err := registerBreakerGauges(reg, []records.Country{"EC"}, bs); err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, reg, "contigo_federation_breaker_open"); got != 0 {
		t.Errorf("closed breaker: %v, want 0", got)
	}
	for range 2 {
		if err := bs.For("EC").Allow(); err != nil {
			t.Fatal(err)
		}
		bs.For("EC").Done(false)
	}
	if got := gauge(t, reg, "contigo_federation_breaker_open"); got != 1 {
		t.Errorf("breaker after 2 failures: %v, want 1", got)
	}
}
