package mongo

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"golang.org/x/sync/semaphore"
)

// writeGate lets one write command of this process at a time reach each
// database of the embedded engine, the others waiting their turn in Go.
//
// SQLite takes one writer per database file. FerretDB runs each write in
// an SQLite transaction, and a second writer that finds the file locked
// sleeps in SQLite's busy handler (busy_timeout): 1 ms, then 2, 5, 10 ms
// and more, whether or not the first writer is done by then. A read by id
// (which appends its audit entry) among 8 clients searching (each search
// appends one) then took 2.3 ms instead of 0.9 on the embedded engine at
// 10,000 persons, and 1.1 ms once the writes waited for each other here,
// first come first served (BenchmarkScale, read-while-8-search). It is a gate for speed only:
// SQLite still orders every write, so a write that does not wait here
// (its context ended first, or it waited gateWait) stays correct.
//
// The gate works through the driver's command monitor, whose Started
// event is published before a command is sent and whose Succeeded or
// Failed event after its reply, on the goroutine running it
// (https://www.mongodb.com/docs/drivers/go/current/monitoring-and-logging/monitoring/).
type writeGate struct {
	mu    sync.Mutex
	slots map[string]*semaphore.Weighted // database -> one slot, taken first come first served
	held  sync.Map                       // request id (int64) -> the slot its command holds
}

// gateWait bounds how long a write waits at the gate before it goes on
// without it, as SQLite's own busy timeout would (FerretDB sets 10 s).
const gateWait = 10 * time.Second

// writeCommands are the commands that write to a database.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true,
	"create": true, "createIndexes": true, "drop": true, "dropIndexes": true,
	"dropDatabase": true, "renameCollection": true,
}

func newWriteGate() *writeGate { return &writeGate{slots: map[string]*semaphore.Weighted{}} }

// monitor returns the command monitor that runs the gate.
func (g *writeGate) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Started:   g.started,
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) { g.finished(e.RequestID) },
		Failed:    func(_ context.Context, e *event.CommandFailedEvent) { g.finished(e.RequestID) },
	}
}

func (g *writeGate) slot(db string) *semaphore.Weighted {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.slots[db]
	if s == nil {
		s = semaphore.NewWeighted(1)
		g.slots[db] = s
	}
	return s
}

// started waits for the slot of a write command's database, up to
// gateWait or the end of ctx.
func (g *writeGate) started(ctx context.Context, e *event.CommandStartedEvent) {
	if !writeCommands[e.CommandName] {
		return
	}
	s := g.slot(e.DatabaseName)
	if !s.TryAcquire(1) {
		wait, cancel := context.WithTimeout(ctx, gateWait)
		err := s.Acquire(wait, 1)
		cancel()
		if err != nil {
			return // on without the gate
		}
	}
	g.held.Store(e.RequestID, s)
}

// finished gives back the slot that command requestID holds, if any.
func (g *writeGate) finished(requestID int64) {
	if s, ok := g.held.LoadAndDelete(requestID); ok {
		s.(*semaphore.Weighted).Release(1)
	}
}
