package api

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"contigo/records"
)

// BenchmarkBulkExport runs one whole export of n persons (seeded through
// the store, plus one record of 100 resources) per iteration on this
// goroutine, and reports the bytes allocated (B/op) and the peak live heap
// above the heap before the run, sampled every 20 ms: streaming keeps the
// latter flat as n grows.
func BenchmarkBulkExport(b *testing.B) {
	for _, n := range []int{1000, 10_000} {
		b.Run(fmt.Sprintf("persons=%d", n), func(b *testing.B) {
			e := newEnv(b)
			seed(b, e, n)
			xs := e.store.(records.ExportStore)
			ctx := context.Background()
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			done := make(chan struct{})
			go func() {
				var ms runtime.MemStats
				for {
					select {
					case <-done:
						return
					case <-time.After(20 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("bench%d", i)
				now := time.Now()
				j := records.ExportJob{ID: id, Country: "CO", Level: "system", Status: records.ExportAccepted, Created: now, Beat: now, Expires: now.Add(time.Hour)}
				if err := xs.CreateExport(ctx, "CO", j); err != nil {
					b.Fatal(err)
				}
				tok := e.srv.bulk.token()
				if _, err := e.store.Claim(ctx, "CO", exportClaims, id, tok); err != nil {
					b.Fatal(err)
				}
				e.srv.bulk.run(ctx, xs, "CO", id, tok)
				got, err := xs.Export(ctx, "CO", id)
				if err != nil || got.Status != records.ExportCompleted || len(got.Outputs) == 0 || got.Outputs[1].Count != int64(n+1) {
					b.Fatalf("export: %+v %v", got, err)
				}
			}
			b.StopTimer()
			close(done)
			p := peak.Load()
			b.ReportMetric(float64(p-min(p, base.HeapAlloc))/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(n), "persons")
		})
	}
}
