package mongo_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestTakeoverOneWinner: writers on two stores (two replicas) taking over
// the same stale claim at once: exactly one of them gets it, and it is
// the owner afterwards; no writer's fresh claim is deleted by another's
// takeover. Odd rounds take over a young claim whatever its age, as the
// export runner recovers a job whose runner stopped beating.
func TestTakeoverOneWinner(t *testing.T) {
	t.Parallel()
	a := mongotest.NewStore(t, "CO")
	b := secondStore(t, a, recmongo.Config{PostgreSQLURL: mongotest.PostgreSQLURL(), MongoDBPaths: mongotest.MongoDBPaths()})
	ctx := t.Context()
	claims := a.Client().Database(a.DatabaseName("CO")).Collection("claims")
	for round := range 15 {
		key := fmt.Sprintf("urn:co|r%d", round)
		old, olderThan := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond), time.Now().Add(-2*time.Minute)
		if round%2 == 1 {
			old, olderThan = time.Now().UTC().Truncate(time.Millisecond), time.Now().Add(time.Hour)
		}
		if _, err := claims.InsertOne(ctx, bson.D{{Key: "_id", Value: "identifier:" + key}, {Key: "owner", Value: "crashed"}, {Key: "at", Value: old}}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for w := range 8 {
			st := a
			if w%2 == 1 {
				st = b
			}
			me := fmt.Sprintf("w%d", w)
			wg.Go(func() {
				got, err := st.Takeover(ctx, "CO", "identifier", key, "crashed", me, olderThan)
				if err != nil {
					t.Error(err)
					return
				}
				if got == me {
					mu.Lock()
					winners = append(winners, me)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		owner, err := a.Owner(ctx, "CO", "identifier", key)
		if err != nil {
			t.Fatal(err)
		}
		if len(winners) != 1 || winners[0] != owner {
			t.Fatalf("round %d: takeover winners %v, owner afterwards %q: want exactly one, the owner", round, winners, owner)
		}
	}
}

// TestTakeoverTicketLeft: a takeover whose writer stopped after its ticket
// (before deleting the claim) does not block the key for ever: once the
// ticket is as old as a stale claim, the next attempt takes it over; a
// young ticket (a takeover in flight) leaves the claim to that writer.
func TestTakeoverTicketLeft(t *testing.T) {
	t.Parallel()
	s := mongotest.NewStore(t, "CO")
	ctx := t.Context()
	claims := s.Client().Database(s.DatabaseName("CO")).Collection("claims")
	old := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for _, tt := range []struct {
		key       string
		ticketAge time.Duration
		want      string
	}{
		{"urn:co|stopped", time.Hour, "me"},
		{"urn:co|inflight", 0, "crashed"},
	} {
		if _, err := claims.InsertOne(ctx, bson.D{{Key: "_id", Value: "identifier:" + tt.key}, {Key: "owner", Value: "crashed"}, {Key: "at", Value: old}}); err != nil {
			t.Fatal(err)
		}
		ticket := recmongo.TakeoverTicket("identifier", tt.key, "crashed", old, 1)
		if _, err := claims.InsertOne(ctx, bson.D{{Key: "_id", Value: ticket}, {Key: "owner", Value: "other"}, {Key: "at", Value: time.Now().Add(-tt.ticketAge).UTC()}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Takeover(ctx, "CO", "identifier", tt.key, "crashed", "me", time.Now().Add(-2*time.Minute))
		if err != nil || got != tt.want {
			t.Errorf("%s: takeover gave %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
}
