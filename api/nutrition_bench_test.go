package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/records"
	recmongo "contigo/records/mongo"
)

// BenchmarkNutritionLead measures the sector-lead endpoints through the Echo
// router on the embedded store holding 1,000 assessed persons (and 100,000
// with CONTIGO_BENCH_100K=1): 20 % severe (an alert each), 20 % moderate
// (an alert each), the rest healthy, over 20 admin areas and 60 days.
func BenchmarkNutritionLead(b *testing.B) {
	sizes := benchSizes()
	for _, size := range sizes {
		b.Run(fmt.Sprintf("persons=%d", size), func(b *testing.B) {
			n := newNutEnv(b, nil)
			seedNutrition(b, n, size)
			b.Run("alert-patch", func(b *testing.B) {
				p, err := n.svc.Person(b.Context(), "CO", fmt.Sprintf("nbench%020d", 0))
				if err != nil {
					b.Fatal(err)
				}
				st, err := n.nut.State(p)
				if err != nil || len(st.Alerts) == 0 {
					b.Fatalf("no alert to patch: %v", err)
				}
				path := "/alerts/" + st.Alerts[0].ID
				statuses := []string{"acknowledged", "referred"}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					req := httptest.NewRequest("PATCH", path, strings.NewReader(`{"status":"`+statuses[i%2]+`","reason":"bench"}`))
					req.Header.Set("Authorization", "Bearer "+n.lead)
					rec := httptest.NewRecorder()
					n.srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("PATCH %s: %d %s", path, rec.Code, rec.Body)
					}
				}
			})
			for _, bc := range []struct{ name, path, accept string }{
				{"alerts-page50", "/alerts?count=50", ""},
				{"alerts-filtered", "/alerts?severity=high&admin_area=area-3&count=50", ""},
				{"alerts-csv-page1000", "/alerts?count=1000", "text/csv"},
				{"indicators", "/indicators?from=2026-01-01&to=2026-03-01", ""},
				{"indicators-by-month", "/indicators?from=2026-01-01&to=2026-03-01&by=month", ""},
				{"indicators-by-admin_area-csv", "/indicators?from=2026-01-01&to=2026-03-01&by=admin_area", "text/csv"},
			} {
				b.Run(bc.name, func(b *testing.B) {
					get := func() {
						req := httptest.NewRequest("GET", bc.path, nil)
						req.Header.Set("Authorization", "Bearer "+n.lead)
						if bc.accept != "" {
							req.Header.Set("Accept", bc.accept)
						}
						rec := httptest.NewRecorder()
						n.srv.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d %s", bc.path, rec.Code, rec.Body)
						}
					}
					// Warm-up, not timed (b.Loop resets the timer): the
					// embedded engine's flag cache loads at the first alert
					// search after start (one scan of the projection).
					start := time.Now()
					get()
					b.Logf("first request: %v", time.Since(start).Round(time.Millisecond))
					b.ReportAllocs()
					for b.Loop() {
						get()
					}
				})
			}
		})
	}
}

// seedNutrition stores size persons of CO, each with one visit (MUAC and
// oedema absent) assessed by the write hook itself, in batches through the
// store.
func seedNutrition(b *testing.B, n *nenv, size int) {
	b.Helper()
	ctx := context.Background()
	store := n.store.(*recmongo.Store)
	start := time.Now()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 1000
	for lo := 0; lo < size; lo += batch {
		var ps []*records.Person
		for i := lo; i < min(lo+batch, size); i++ {
			id := fmt.Sprintf("nbench%020d", i)
			date := base.AddDate(0, 0, i%60)
			now := date.Add(12 * time.Hour)
			gender := []string{"male", "female"}[i%2]
			pt := `{"resourceType":"Patient","gender":"` + gender + `","birthDate":"2024-05-01","address":[{"state":"area-` + fmt.Sprint(i%20) + `"}]}`
			muac := []float64{110, 110, 120, 120, 135, 135, 135, 140, 140, 150}[i%10]
			var rs []records.Resource
			for j, body := range []string{pt, muacObs(muac), oedemaObs("absent")} {
				body = strings.ReplaceAll(strings.ReplaceAll(body, "PID", id), "DATE", date.Format(time.DateOnly))
				typ := "Observation"
				if j == 0 {
					typ = "Patient"
				}
				r, err := fhir.Parse([]byte(body), typ, now)
				if err != nil {
					b.Fatal(err)
				}
				r.ID, r.Version, r.Updated = id, 1, now
				if j > 0 {
					r.ID = fmt.Sprintf("%s.obs%d", id, j)
				}
				rs = append(rs, r)
			}
			p := &records.Person{ID: id, Country: "CO", Version: 1, Created: now, Updated: now, Resources: rs}
			var changes []records.Change
			for _, r := range rs {
				changes = append(changes, records.Change{Method: "create", Resource: r})
			}
			derived, err := n.nut.OnWrite(ctx, &records.Person{ID: id, Country: "CO"}, p, changes, now)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range derived {
				r := c.Resource
				r.Version, r.Updated = 1, now
				p.Resources = append(p.Resources, r)
			}
			ps = append(ps, p)
		}
		if err := store.InsertMany(ctx, "CO", ps); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d assessed persons in %v", size, time.Since(start).Round(time.Millisecond))
}
