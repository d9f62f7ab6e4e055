package main

import (
	"math"
	"strconv"
)

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseNumber parses a finite decimal number as strconv.ParseFloat does.
func parseNumber(s []byte) (float64, bool) {
	if v, ok := parseShortDecimal(s); ok {
		return v, true
	}
	v, err := strconv.ParseFloat(string(s), 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// parseShortDecimal parses [+-]digits[.digits] with at most 15 digits and
// at least one, without strconv. The digits as an integer m and the power
// of ten p = 10^k after the point are then exact in a float64, so m/p,
// rounded once by the division, is the float64 nearest the decimal: the
// value strconv.ParseFloat returns (its own exact fast path). ok is false
// for anything else, which the caller gives to strconv.
func parseShortDecimal(s []byte) (v float64, ok bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var m uint64
	digits, frac := 0, -1 // frac: digits after the point, -1 without a point
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	v = float64(m)
	if neg {
		v = -v
	}
	if frac > 0 {
		v /= pow10[frac]
	}
	return v, true
}
