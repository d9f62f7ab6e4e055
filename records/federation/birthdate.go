package federation

import (
	"strconv"
	"strings"
)

// date is a possibly partial birth date; precision 0 means unknown, 1 year,
// 2 year-month, 3 full date.
type date struct {
	y, m, d   int
	precision int
}

func parseDate(s string) date {
	s = strings.TrimSpace(s)
	if len(s) > 10 {
		s = s[:10] // a dateTime: keep the date
	}
	parts := strings.Split(s, "-")
	var d date
	for i, p := range parts {
		if i > 2 {
			break
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			break
		}
		switch i {
		case 0:
			d.y = n
		case 1:
			if n > 12 {
				return date{y: d.y, precision: 1}
			}
			d.m = n
		case 2:
			if n > 31 {
				return date{y: d.y, m: d.m, precision: 2}
			}
			d.d = n
		}
		d.precision = i + 1
	}
	return d
}

func (d date) days() int {
	// Days since a fixed epoch (civil calendar), enough for ±1 day checks.
	// Source: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms".
	y, m := d.y, d.m
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe
}

// compareDates returns the agreement level of two birth dates, "" when
// either is unknown: exact; swapped (day and month exchanged); near (at
// most a week apart); typo (one digit wrong or two adjacent digits
// swapped); month (the same year and month, one side without a day);
// year (the same year, one side year only); sameyear (both more precise,
// differing in the same year); differ.
func compareDates(a, b date) string {
	if a.precision == 0 || b.precision == 0 {
		return ""
	}
	if a.precision == 3 && b.precision == 3 {
		switch {
		case a == b:
			return "exact"
		case a.y == b.y && a.m == b.d && a.d == b.m:
			return "swapped"
		case abs(a.days()-b.days()) <= 7:
			return "near"
		case digitTypo(a, b):
			return "typo"
		case a.y == b.y:
			return "sameyear"
		}
		return "differ"
	}
	if a.y != b.y {
		return "differ"
	}
	if a.precision >= 2 && b.precision >= 2 {
		if a.m == b.m || (a.precision == 3 && a.d == b.m) || (b.precision == 3 && b.d == a.m) {
			return "month"
		}
		return "sameyear"
	}
	return "year"
}

// digitTypo reports whether two full dates differ in exactly one digit of
// YYYYMMDD or by two adjacent digits swapped.
func digitTypo(a, b date) bool {
	x := strconv.Itoa(a.y*10000 + a.m*100 + a.d)
	y := strconv.Itoa(b.y*10000 + b.m*100 + b.d)
	if len(x) != len(y) {
		return false
	}
	var diff []int
	for i := range len(x) {
		if x[i] != y[i] {
			diff = append(diff, i)
		}
	}
	switch len(diff) {
	case 1:
		return true
	case 2:
		i, j := diff[0], diff[1]
		return j == i+1 && x[i] == y[j] && x[j] == y[i]
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
