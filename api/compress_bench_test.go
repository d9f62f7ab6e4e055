package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEverythingGzip compares $everything of a 100-entry record
// through the router without and with Accept-Encoding: gzip, and reports
// the bytes sent.
func BenchmarkEverythingGzip(b *testing.B) {
	e := newEnv(b)
	big := seed(b, e, 10)
	for _, c := range []struct{ name, enc string }{{"plain", ""}, {"gzip", "gzip"}} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				req := httptest.NewRequest("GET", "/fhir/Patient/"+big+"/$everything", nil)
				req.Header.Set("Authorization", "Bearer "+e.hw)
				if c.enc != "" {
					req.Header.Set("Accept-Encoding", c.enc)
				}
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
				n = rec.Body.Len()
			}
			b.ReportMetric(float64(n), "bytes/op-sent")
		})
	}
}
