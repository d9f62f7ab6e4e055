package mongo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"contigo/records"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// walCheckpoint runs a passive checkpoint of cc's SQLite file and returns
// the frames in the write-ahead log and how many of them it copied into
// the database: fewer means a reader still holds an older snapshot.
func walCheckpoint(t *testing.T, s *Store, cc records.Country) (frames, copied int) {
	t.Helper()
	sdb, err := openSQLite(s.dataDir, s.dbName(cc), "")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var busy int
	if err := sdb.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		t.Fatal(err)
	}
	return frames, copied
}

// Reads that end early leave no reader behind, on the embedded engine:
//   - scans of the SQLite file (liteScan) ended by their callback, or by
//     their context at any point, the start of the query included
//     (modernc.org/sqlite before v1.62 dropped, unclosed, a query whose
//     context ended as its first row came);
//   - finds through FerretDB whose context's deadline passed (dialer).
//
// A reader left behind keeps SQLite from ever copying the write-ahead log
// back into the database, which then grows with every write and makes
// each commit slower; FerretDB's cursors left open also hold its pooled
// SQLite connections, and with 100 of them every request waited forever.
func TestEndedReadsLeaveNoReader(t *testing.T) {
	s := exclusiveStore(t)
	ctx := t.Context()
	audit := func() {
		t.Helper()
		e := records.AuditEntry{ID: records.NewID(), Time: time.Now(), Actor: "a", Country: "CO", Action: "R",
			Interaction: "read", ResourceType: "Patient", ResourceID: "p", PersonID: "p", RequestID: "r"}
		if err := s.AppendAudit(ctx, "CO", e); err != nil {
			t.Fatal(err)
		}
	}
	for range 2000 {
		audit()
	}
	stop := errors.New("stop")
	check := func(how string) {
		t.Helper()
		for range 5 {
			audit()
		}
		// A reader left behind stays for good; one still closing (FerretDB
		// ends a request shortly after its client left, later under the
		// race detector) goes within moments: up to 5 s.
		var frames, copied int
		for try := 0; try < 100; try++ {
			if frames, copied = walCheckpoint(t, s, "CO"); copied == frames {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("after scans ended by %s: %d of %d log frames copied back after 5 s: a reader is left", how, copied, frames)
	}
	err := s.liteScan(ctx, "CO", auditColl, []string{"_id"}, func(liteRow) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("a scan ended by its callback: %v", err)
	}
	check("their callback")
	// A scan of 2,000 rows takes about a millisecond: contexts that end
	// 0-1,000 µs after it starts end it at every stage.
	for i := range 200 {
		sctx, cancel := context.WithTimeout(ctx, time.Duration(i*5)*time.Microsecond)
		_ = s.liteScan(sctx, "CO", auditColl, []string{"_id", "t", "person"}, func(liteRow) error { return nil })
		cancel()
	}
	check("their context")
	// The same through FerretDB, whose SQLite queries end with the
	// request's context (a client gone, a deadline).
	for i := range 200 {
		fctx, cancel := context.WithTimeout(ctx, time.Duration(i*10)*time.Microsecond)
		if cur, err := s.coll("CO", auditColl).Find(fctx, bson.D{}); err == nil {
			_ = cur.All(fctx, new([]bson.D))
		}
		cancel()
	}
	check("their request's context, through FerretDB")
}

// contigo_store_wal_bytes reports the size of each country's write-ahead
// log of the embedded engine.
func TestWALSizeMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	s, err := Open(t.Context(), Config{DataDir: dir, Countries: []records.Country{"CO", "EC"}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.WithoutCancel(t.Context()))
	<-s.Warmed()
	e := records.AuditEntry{ID: records.NewID(), Time: time.Now(), Actor: "a", Country: "CO", Action: "R",
		Interaction: "read", ResourceType: "Patient", ResourceID: "p", PersonID: "p", RequestID: "r"}
	if err := s.AppendAudit(t.Context(), "CO", e); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "contigo_store_wal_bytes" {
			for _, m := range mf.GetMetric() {
				got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	for _, cc := range []string{"CO", "EC"} {
		fi, err := os.Stat(filepath.Join(dir, s.dbName(records.Country(cc))+".sqlite-wal"))
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got[cc]; !ok || v != float64(fi.Size()) {
			t.Errorf("contigo_store_wal_bytes{country=%s} = %v (reported: %v), want the log's size %d", cc, v, ok, fi.Size())
		}
	}
	if got["CO"] == 0 {
		t.Errorf("CO's log is empty after a write: %v", got)
	}
}
