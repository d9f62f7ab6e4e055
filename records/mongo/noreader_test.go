package mongo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"contigo/records"
	"contigo/records/mongo/mongotest"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// On FerretDB over PostgreSQL, finds whose deadline passed leave no query
// running on the server: a cursor left open by a reply the driver dropped
// would hold one of FerretDB's PostgreSQL connections until the client's
// connection closed, and enough of them leave none for anyone: without
// the store's dialer (dial.go) these 200 finds made the store stop
// answering (TestEndedReadsLeaveNoReader is the embedded engine's side).
func TestTimedOutFindsLeaveNoQuery(t *testing.T) {
	s := postgresStore(t, "CO")
	ctx := t.Context()
	db := s.DatabaseName("CO")
	for range 500 {
		e := records.AuditEntry{ID: records.NewID(), Time: time.Now(), Actor: "a", Country: "CO", Action: "R",
			Interaction: "read", ResourceType: "Patient", ResourceID: "p", PersonID: "p", RequestID: "r"}
		if err := s.AppendAudit(ctx, "CO", e); err != nil {
			t.Fatal(err)
		}
	}
	audit := s.Client().Database(db).Collection("audit")
	for i := range 200 {
		fctx, cancel := context.WithTimeout(ctx, time.Duration(i*20)*time.Microsecond)
		if cur, err := audit.Find(fctx, bson.D{}); err == nil {
			_ = cur.All(fctx, new([]bson.D))
		}
		cancel()
	}
	conn, err := pgx.Connect(ctx, mongotest.PostgreSQLURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The queries of this test's database still open, once FerretDB saw
	// the connections close (bounded: 5 s).
	var open []string
	for range 50 {
		open = open[:0]
		rows, err := conn.Query(ctx, `SELECT state || ': ' || query FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'`, db)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var q string
			if err := rows.Scan(&q); err != nil {
				t.Fatal(err)
			}
			open = append(open, q)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(open) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(open) > 0 {
		t.Errorf("%d queries of the timed-out finds still open on PostgreSQL:\n%s", len(open), strings.Join(open, "\n"))
	}
	// And the store still answers.
	if _, _, err := s.Audits(ctx, "CO", records.AuditQuery{PersonID: "p", Count: 5}); err != nil {
		t.Fatal(err)
	}
}
