package mongo

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestWriteGateGivesBack: on the embedded engine, writes that succeed,
// fail (a duplicate _id, an unknown operator), or whose context ends
// while they wait at the gate or on the server, all leave the gate free: afterwards no command
// holds a slot, every slot is empty, and the store still writes. Each
// acknowledged insert is stored once.
func TestWriteGateGivesBack(t *testing.T) {
	s := exclusiveStore(t)
	if s.gate == nil {
		t.Fatal("the embedded engine's store has no write gate")
	}
	coll := s.coll("CO", "gatetest")
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				id := fmt.Sprintf("w%d-%d", w, i%30) // 10 duplicates per writer
				if i%5 == 1 {                        // refused by the server (ok: 0): a Failed event
					if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$nosuch", Value: 1}}); err == nil {
						t.Error("an unknown update operator was accepted")
					}
				}
				c, cancel := ctx, context.CancelFunc(func() {})
				if i%7 == 3 { // ends before, at or after the gate, or on the server
					c, cancel = context.WithTimeout(ctx, time.Duration(i%4)*time.Millisecond)
				}
				_, err := coll.InsertOne(c, bson.D{{Key: "_id", Value: id}, {Key: "w", Value: w}})
				cancel()
				if err == nil {
					mu.Lock()
					acked++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	n, err := coll.CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if acked == 0 || n < int64(acked) || n > 8*30 {
		t.Errorf("%d documents stored, %d inserts acknowledged (at most 240 ids)", n, acked)
	}
	// A reply may still be on its way for a command whose context ended:
	// its Failed event gives its slot back.
	deadline := time.Now().Add(5 * time.Second)
	for {
		held := 0
		s.gate.held.Range(func(any, any) bool { held++; return true })
		if held == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d commands still hold a slot", held)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.gate.mu.Lock()
	for db, slot := range s.gate.slots {
		if !slot.TryAcquire(1) {
			t.Errorf("the slot of %s is still taken", db)
			continue
		}
		slot.Release(1)
	}
	s.gate.mu.Unlock()
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := coll.InsertOne(c, bson.D{{Key: "_id", Value: "after"}}); err != nil {
		t.Fatalf("write after: %v", err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	p := &records.Person{ID: "gate1", Country: "CO", Version: 1, Created: at, Updated: at,
		Resources: []records.Resource{{Type: "Patient", ID: "gate1", Version: 1, Updated: at, Body: []byte(`{"resourceType":"Patient","id":"gate1"}`)}}}
	if err := s.Insert(c, "CO", p); err != nil {
		t.Fatalf("a record after: %v", err)
	}
	if got, err := s.Person(c, "CO", "gate1"); err != nil || got.Version != 1 {
		t.Fatalf("read back: %v %v", got, err)
	}
}
