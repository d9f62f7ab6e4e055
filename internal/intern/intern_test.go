package intern

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// TestStringSurvivesCollection wants the same copy of a value before and
// after garbage collections with nothing else holding it (the failure of
// unique.Make(s).Value(), whose entry goes with its last handle).
func TestStringSurvivesCollection(t *testing.T) {
	tb := newTable(10)
	first := tb.String(string([]byte("área-ñ")))
	p := unsafe.StringData(first)
	for range 3 {
		runtime.GC()
	}
	again := tb.String(string([]byte("área-ñ")))
	if unsafe.StringData(again) != p {
		t.Error("a second String after a collection returned a new copy")
	}
}

// TestStringNeverAViewOfItsInput wants a copy that does not share the
// input's memory, both when shared and when the table is full.
func TestStringNeverAViewOfItsInput(t *testing.T) {
	tb := newTable(1)
	buf := []byte("garcia|lopez")
	doc := string(buf)
	for _, s := range []string{doc[:6], doc[7:]} { // the second finds the table full
		got := tb.String(s)
		if got != s {
			t.Fatalf("String(%q) = %q", s, got)
		}
		if unsafe.StringData(got) == unsafe.StringData(s) {
			t.Errorf("String(%q) is a view of its input", s)
		}
	}
	if tb.size() != 1 {
		t.Errorf("Len = %d after a full table, want 1", tb.size())
	}
	if a, b := tb.String("lopez"), tb.String("lopez"); unsafe.StringData(a) == unsafe.StringData(b) {
		t.Error("a value past the limit was kept")
	}
}

// TestStringConcurrent has 8 goroutines intern the same 100 values and
// wants one copy of each (run with -race).
func TestStringConcurrent(t *testing.T) {
	tb := newTable(limit)
	var wg sync.WaitGroup
	got := make([][]*byte, 8)
	for g := range got {
		wg.Go(func() {
			for i := range 100 {
				s := tb.String(fmt.Sprintf("area-%d", i))
				got[g] = append(got[g], unsafe.StringData(s))
			}
		})
	}
	wg.Wait()
	for g := range got {
		for i := range got[g] {
			if got[g][i] != got[0][i] {
				t.Fatalf("goroutine %d, value %d: a second copy", g, i)
			}
		}
	}
	if tb.size() != 100 {
		t.Errorf("Len = %d, want 100", tb.size())
	}
}
