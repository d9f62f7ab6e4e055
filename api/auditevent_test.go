package api

import (
	"net/url"
	"testing"
	"time"
)

func TestAuditQuery(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tt := range []struct {
		query   string
		wantErr bool
		check   func(q struct{ since, until time.Time }) bool
	}{
		{query: "date=ge2025-01-01&date=le2025-01-31", check: func(q struct{ since, until time.Time }) bool {
			return q.since.Equal(day("2025-01-01")) && q.until.Equal(day("2025-02-01").Add(-time.Nanosecond))
		}},
		{query: "date=gt2025-01-01T10:00:00Z", check: func(q struct{ since, until time.Time }) bool {
			return q.since.Equal(time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)) && q.until.IsZero()
		}},
		{query: "date=2025-01-01", wantErr: true},
		{query: "date=ge2025-13-01", wantErr: true},
		{query: "_count=0", wantErr: true},
		{query: "_count=x", wantErr: true},
		{query: "name=x", wantErr: true},
		{query: "_count=100000", check: func(struct{ since, until time.Time }) bool { return true }},
	} {
		t.Run(tt.query, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := auditQuery(params)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !tt.check(struct{ since, until time.Time }{q.Since, q.Until}) {
				t.Errorf("got since %v until %v", q.Since, q.Until)
			}
			if err == nil && (q.Count < 1 || q.Count > maxAuditCount) {
				t.Errorf("count %d out of bounds", q.Count)
			}
		})
	}
	q, err := auditQuery(url.Values{"patient": {"Patient/abc"}})
	if err != nil || q.PersonID != "abc" {
		t.Errorf("patient: %+v %v", q, err)
	}
}
