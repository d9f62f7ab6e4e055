package mongo

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"contigo/records"
	"contigo/records/namekey"
)

// Search terms: what an index can look up for a Patient search.
//
// An equality condition is looked up by its "key|value" term. A string
// search compares by prefix (family=garc) and a date search by range
// (birthdate=2020-05-03 is >= 2020-05-03 and < 2020-05-04), which no
// equality lookup serves: without more terms, "Patient by family and birth
// date" read every head. So each value of a Patient key also gives prefix
// terms "key^|p", for p:
//   - its first prefixRunes runes, if it has that many (every key but _id
//     and the blocking keys of $match, which are looked up whole);
//   - for a name key (shortPrefixKeys), also its first rune and its first
//     two (shortPrefixRunes): a surname of two letters (Li, Ng, Wu) is
//     searched by them, and a name search by its first letter (family=g)
//     reads the names that start with it, not every Patient;
//   - for a date or instant value (YYYY, YYYY-MM, YYYY-MM-DD, optionally
//     followed by a time), its year, month and day (4, 7 and 10 bytes).
//
// A search then looks up, for a prefix condition whose values have at
// least prefixRunes runes, the term of their first prefixRunes runes (on
// a name key, of one or two runes, the term of those), and
// for a range that lies within one year, month or day, the term of that
// period: every match holds it, so the index only narrows, and every
// condition is still checked on the Patient itself. A shorter prefix (one
// or two runes of a key that is not a name) narrows nothing: it is checked
// on every Patient (or by another condition's terms). Few lengths keep the
// index small: a Patient has about fifteen such values, five or so of them
// names.

// prefixRunes is the length of the string prefix kept as a term.
const prefixRunes = 3

// shortPrefixRunes are the lengths of the shorter prefixes kept as terms
// for the keys of shortPrefixKeys; the first is the shortest prefix any
// key is looked up by.
var shortPrefixRunes = []int{1, 2}

// shortPrefixKeys are the name keys of a Patient (fhir/resources.go) whose
// values also give their first shortPrefixRunes runes as terms.
var shortPrefixKeys = []string{"family", "given", "name"}

// dateLens are the lengths of the date prefixes kept as terms: a year, a
// month and a day.
var dateLens = []int{4, 7, 10}

// eqTerm is the term of an equality of key with v.
func eqTerm(key, v string) string { return key + "|" + v }

// prefixTerm is the term of values of key that start with p.
func prefixTerm(key, p string) string { return key + "^|" + p }

// keyTerms calls add with every term of value v of key: its equality term
// and its prefix terms.
func keyTerms(key, v string, add func(string)) {
	add(eqTerm(key, v))
	if key == "_id" || key == namekey.Match {
		return
	}
	if p := firstRunes(v, prefixRunes); utf8.RuneCountInString(p) == prefixRunes {
		add(prefixTerm(key, p))
	}
	if slices.Contains(shortPrefixKeys, key) {
		for _, n := range shortPrefixRunes {
			if p := firstRunes(v, n); utf8.RuneCountInString(p) == n {
				add(prefixTerm(key, p))
			}
		}
	}
	if isDate(v) {
		for _, l := range dateLens {
			if l <= len(v) && (l == len(v) || v[l] == '-' || v[l] == 'T') && l != prefixRunes {
				add(prefixTerm(key, v[:l]))
			}
		}
	}
}

// isDate reports whether v starts as a date: YYYY, YYYY-MM or YYYY-MM-DD,
// ending there or followed by a time ("T...").
func isDate(v string) bool {
	digits := func(s string) bool {
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case len(v) < 4 || !digits(v[:4]):
		return false
	case len(v) == 4:
		return true
	case len(v) < 7 || v[4] != '-' || !digits(v[5:7]):
		return false
	case len(v) == 7:
		return true
	case len(v) < 10 || v[7] != '-' || !digits(v[8:10]):
		return false
	}
	return len(v) == 10 || v[10] == 'T'
}

// termGroup is one condition of a search as terms: every match holds at
// least one of Terms, all on Key.
type termGroup struct {
	Key   string
	Terms []string
}

// queryTerms returns the term groups of Patient query q: one per equality
// condition (a term per value), per prefix condition whose values all have
// prefixRunes runes or more (the term of each value's first ones), and per
// key whose range conditions lie within one period that dateLens names
// (its prefix term, and the equality terms of the shorter dates that fall
// within the range as text). Every current Patient that matches q holds a
// term of every group.
func queryTerms(q records.Query) []termGroup {
	var groups []termGroup
	ranges := map[string]*[2]string{} // key -> lower (>=) and upper (<) bound
	for _, c := range q.Conds {
		if len(c.Values) == 0 {
			continue
		}
		switch c.Op {
		case records.OpEq:
			g := termGroup{Key: c.Key}
			for _, v := range c.Values {
				g.Terms = append(g.Terms, eqTerm(c.Key, v))
			}
			groups = append(groups, g)
		case records.OpPrefix:
			if c.Key == "_id" || c.Key == namekey.Match {
				continue
			}
			g := termGroup{Key: c.Key}
			for _, v := range c.Values {
				n := prefixRunes
				if slices.Contains(shortPrefixKeys, c.Key) {
					n = shortPrefixRunes[0]
				}
				if !utf8.ValidString(v) || utf8.RuneCountInString(v) < n {
					// It matches values without a prefix term, or (a byte
					// cut inside a rune) values whose runes differ from its:
					// no narrowing.
					g.Terms = nil
					break
				}
				g.Terms = append(g.Terms, prefixTerm(c.Key, firstRunes(v, prefixRunes)))
			}
			if g.Terms != nil {
				groups = append(groups, g)
			}
		case records.OpGe, records.OpLt:
			if len(c.Values) != 1 {
				continue // an OR of bounds: no single period
			}
			r := ranges[c.Key]
			if r == nil {
				r = new([2]string)
				ranges[c.Key] = r
			}
			i := 0
			if c.Op == records.OpLt {
				i = 1
			}
			if r[i] == "" || (i == 0 && c.Values[0] > r[0]) || (i == 1 && c.Values[0] < r[1]) {
				r[i] = c.Values[0] // the tighter bound
			}
		}
	}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range ranges {
			if !yield(k) {
				return
			}
		}
	}) {
		lo, hi := ranges[key][0], ranges[key][1]
		p, ok := period(lo, hi)
		if !ok || key == "_id" {
			continue
		}
		g := termGroup{Key: key, Terms: []string{prefixTerm(key, p)}}
		// A date of lower precision that compares within [lo, hi) as text
		// without starting with p: the year 2021 is >= 2020-12 and < 2021-01.
		// Such a value is a year or month that starts the end of the range
		// or the period after p; it is looked up by its equality term.
		next, _ := nextPeriod(p)
		for _, end := range []string{hi, next} {
			for _, l := range dateLens {
				if l < len(end) && (end[l] == '-' || end[l] == 'T') {
					if c := end[:l]; c >= lo && c < hi && !strings.HasPrefix(c, p) && !slices.Contains(g.Terms, eqTerm(key, c)) {
						g.Terms = append(g.Terms, eqTerm(key, c))
					}
				}
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// exactTerms reports whether the term groups of Patient query q (as
// queryTerms gives them) say exactly what q asks: a Patient holds a term
// of every group if and only if it matches q. That is so when every
// condition is an equality (of a key other than _id and _lastUpdated,
// with values), or a prefix whose every value is valid UTF-8 and has as
// many runes as a prefix term of that key keeps (prefixRunes; for a name
// key also shortPrefixRunes), so that the term is the prefix itself.
// Ranges are never exact (a period's term also holds the dates of the
// period outside the range).
func exactTerms(q records.Query) bool {
	for _, c := range q.Conds {
		if len(c.Values) == 0 || hasUnderscore(c.Key) {
			return false
		}
		switch c.Op {
		case records.OpEq:
		case records.OpPrefix:
			if c.Key == namekey.Match {
				return false
			}
			for _, v := range c.Values {
				n := utf8.RuneCountInString(v)
				if !utf8.ValidString(v) || (n != prefixRunes && !(slices.Contains(shortPrefixRunes, n) && slices.Contains(shortPrefixKeys, c.Key))) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// period returns the longest date prefix p of lower bound lo (a year,
// month or day) such that every date in [lo, hi) starts with p: the range
// lies within the period p names; ok is false if there is none.
func period(lo, hi string) (p string, ok bool) {
	if lo == "" || hi == "" || !isDate(lo) {
		return "", false
	}
	for i := len(dateLens) - 1; i >= 0; i-- {
		l := dateLens[i]
		if l > len(lo) || (l < len(lo) && lo[l] != '-' && lo[l] != 'T') {
			continue
		}
		if next, ok := nextPeriod(lo[:l]); ok && next >= hi {
			return lo[:l], true
		}
	}
	return "", false
}

// nextPeriod returns the period after p (a year, month or day), in p's form.
func nextPeriod(p string) (string, bool) {
	layout := map[int]string{4: "2006", 7: "2006-01", 10: time.DateOnly}[len(p)]
	t, err := time.Parse(layout, p)
	if err != nil {
		return "", false
	}
	switch len(p) {
	case 4:
		t = t.AddDate(1, 0, 0)
	case 7:
		t = t.AddDate(0, 1, 0)
	default:
		t = t.AddDate(0, 0, 1)
	}
	if t.Year() > 9999 {
		return "", false
	}
	return t.Format(layout), true
}

// firstRunes returns the first n runes of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// requiredAndAnyOf splits term groups for a lookup: the terms every match
// holds (the groups of one term) and the group of several terms with the
// fewest, of which every match holds one (nil if there is none).
func requiredAndAnyOf(groups []termGroup) (required, anyOf []string) {
	for _, g := range groups {
		switch {
		case len(g.Terms) == 1:
			if !slices.Contains(required, g.Terms[0]) {
				required = append(required, g.Terms[0])
			}
		case anyOf == nil || len(g.Terms) < len(anyOf):
			anyOf = g.Terms
		}
	}
	return required, anyOf
}

// hasUnderscore reports whether key is one of the keys every resource has
// outside its Keys (_id, _lastUpdated).
func hasUnderscore(key string) bool { return strings.HasPrefix(key, "_") }
