package mongo

import (
	"os"
	"runtime/debug"
	"sync"
)

// warmGCPercent is the garbage collector's target (GOGC) while the
// embedded engine loads its in-process indexes after a start. The load
// builds about 1 GB of live memory at 100,000 persons, almost all of it kept,
// and at the default of 100 about a third of its CPU went to collecting
// garbage that was not there. At 400 the heap may grow to five times what
// was live at the last collection; once the load is over the default is
// back, and at the default the heap of the loaded indexes may already
// grow to twice their size, so the peak stays within what the node needs
// anyway. A memory limit (GOMEMLIMIT) still holds throughout.
const warmGCPercent = 400

// warmGC counts the warm-ups in flight (several stores may warm up at
// once in one process): the first raises the target, the last restores it.
var warmGC struct {
	mu  sync.Mutex
	n   int
	old int
}

// gcForWarmUp raises the garbage collector's target for a warm-up, unless
// the operator set GOGC, and returns the function that ends it (safe to
// call more than once).
func gcForWarmUp() (end func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	warmGC.mu.Lock()
	if warmGC.n == 0 {
		warmGC.old = debug.SetGCPercent(warmGCPercent)
	}
	warmGC.n++
	warmGC.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			warmGC.mu.Lock()
			defer warmGC.mu.Unlock()
			if warmGC.n--; warmGC.n == 0 {
				debug.SetGCPercent(warmGC.old)
			}
		})
	}
}
