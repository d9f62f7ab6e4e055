package main

import (
	"math"
	"strconv"
	"testing"
)

// sameNumber fails unless parseNumber(s) is strconv.ParseFloat's finite
// value, bit for bit.
func sameNumber(t testing.TB, s string) {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	want := err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
	got, ok := parseNumber([]byte(s))
	if ok != want || ok && math.Float64bits(got) != math.Float64bits(v) {
		t.Fatalf("parseNumber(%q) = %v, %v; strconv: %v, %v", s, got, ok, v, err)
	}
}

// TestParseNumber: the short-decimal path gives strconv's bits on every
// value with up to 4 decimals below 200 and on the edge cases.
func TestParseNumber(t *testing.T) {
	t.Parallel()
	for k := range 2_000_000 {
		s := strconv.Itoa(k)
		for len(s) < 5 {
			s = "0" + s
		}
		sameNumber(t, s[:len(s)-4]+"."+s[len(s)-4:])
	}
	for _, s := range []string{"", "+", "-", ".", "1.", ".5", "-.5", "+1", "-0", "-0.0", "0", "1.2.3",
		"1e3", "1E-3", "0x1p3", "1_000", "NaN", "Inf", "-inf", "1e400", " 1", "1 ",
		"123456789012345", "1234567890123456", "0.000000000000001", "0.0000000000000001",
		"999999999999999", "9007199254740993", "3.0000000000000004", "12.34567890123456"} {
		sameNumber(t, s)
	}
}

// FuzzParseNumber: parseNumber agrees with strconv.ParseFloat on any text.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"1.5", "-0.001", "123456789012345", ".", "1e5", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameNumber(t, s) })
}
