package mongo

import (
	"runtime/debug"
	"testing"
)

// TestGCForWarmUpRestores overlaps two warm-ups: the target is raised
// while either runs and back to what it was once both ended, whatever the
// order, and ending one twice changes nothing.
func TestGCForWarmUpRestores(t *testing.T) {
	t.Setenv("GOGC", "") // as when the operator did not set it
	before := debug.SetGCPercent(137)
	defer debug.SetGCPercent(before)
	a := gcForWarmUp()
	b := gcForWarmUp()
	if got := gcPercent(); got != warmGCPercent {
		t.Errorf("during two warm-ups GOGC = %d, want %d", got, warmGCPercent)
	}
	a()
	a()
	if got := gcPercent(); got != warmGCPercent {
		t.Errorf("after one of two warm-ups GOGC = %d, want %d", got, warmGCPercent)
	}
	b()
	if got := gcPercent(); got != 137 {
		t.Errorf("after both warm-ups GOGC = %d, want 137", got)
	}
}

// gcPercent returns the garbage collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestGCForWarmUpLeavesOperatorsGOGC: with GOGC set, a warm-up keeps it.
func TestGCForWarmUpLeavesOperatorsGOGC(t *testing.T) {
	t.Setenv("GOGC", "50")
	before := debug.SetGCPercent(50)
	defer debug.SetGCPercent(before)
	end := gcForWarmUp()
	if got := gcPercent(); got != 50 {
		t.Errorf("during a warm-up GOGC = %d, want the operator's 50", got)
	}
	end()
}
