package namekey

import (
	"slices"
	"strings"
	"unicode"
)

// Match is the name of the one blocking key a Patient carries (in
// records.Keys): composite values, each naming what two records must share
// to be compared (Blocks), so that every candidate search of $match is a
// single equality on one indexed key, whatever combination it asks for.
const Match = "match"

// Prefixes of the values of Match.
const (
	GivenFamily  = "gf:" // a given name and a surname, by sound: "gf:maria|garsia"
	FamilyPair   = "fp:" // both surnames, by sound, sorted: "fp:garsia+peres"
	FamilyDate   = "fd:" // a surname by sound and the full birth date: "fd:garsia|2024-03-05"
	GivenDate    = "gd:" // a given name by sound and the full birth date
	GivenInitial = "gi:" // a given name by sound and a surname's first letter: "gi:maria|g"
	FamilyYear   = "fy:" // a surname by sound and the birth year: "fy:garsia|2024"
)

// particles are the short words of compound Spanish and Portuguese
// surnames ("De la Cruz", "Da Silva") and the "y" of "Ortega y Gasset":
// no identifying weight, often dropped or joined when a name is copied.
var particles = map[string]bool{
	"de": true, "del": true, "la": true, "las": true, "los": true,
	"y": true, "e": true, "da": true, "das": true, "do": true, "dos": true,
}

// Words returns the folded words of the strings in ss, split at anything
// that is not a letter or digit, particles dropped:
// "María-José De la Cruz" -> maria, jose, cruz.
func Words(ss ...string) []string {
	var out []string
	for _, s := range ss {
		for _, w := range strings.FieldsFunc(fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if !particles[w] {
				out = append(out, w)
			}
		}
	}
	return out
}

// Codes returns the distinct Phonetic codes of words, in order.
func Codes(words []string) []string {
	var out []string
	for _, w := range words {
		if c := Phonetic(w); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// Pairs returns every unordered pair of the distinct codes, each sorted
// and joined by "+": [a b c] -> a+b, a+c, b+c.
func Pairs(codes []string) []string {
	var out []string
	for i, a := range codes {
		for _, b := range codes[i+1:] {
			x, y := a, b
			if y < x {
				x, y = y, x
			}
			if p := x + "+" + y; !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Initials returns the distinct first letters of words.
func Initials(words []string) []string {
	var out []string
	for _, w := range words {
		if r := []rune(w); len(r) > 0 && !slices.Contains(out, string(r[0])) {
			out = append(out, string(r[0]))
		}
	}
	return out
}

// Year returns the year of a FHIR date or dateTime ("2023-05-04" ->
// "2023"), or "" if it does not start with four digits.
func Year(date string) string {
	if len(date) < 4 {
		return ""
	}
	for i := range 4 {
		if date[i] < '0' || date[i] > '9' {
			return ""
		}
	}
	return date[:4]
}

// Parts are what blocking keys are made of, for one person: the phonetic
// codes of the given names and of the surnames, the surname words, and the
// birth date as written.
type Parts struct {
	Given, Family []string // codes
	FamilyWords   []string // folded surname words, particles dropped
	BirthDate     string
}

// PartsOf returns the Parts of a person with the given names, surnames
// and birth date (each as written).
func PartsOf(given, family []string, birthDate string) Parts {
	fw := Words(family...)
	return Parts{Given: Codes(Words(given...)), Family: Codes(fw), FamilyWords: fw, BirthDate: birthDate}
}

// Blocks returns the values of the Match key of a record with parts p:
// every GivenFamily, FamilyPair and GivenInitial combination, and with a
// full birth date FamilyDate and GivenDate, with a year FamilyYear.
func Blocks(p Parts) []string {
	var out []string
	add := func(v string) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	cross := func(prefix string, as, bs []string) {
		for _, v := range Cross(prefix, as, bs) {
			add(v)
		}
	}
	cross(GivenFamily, p.Given, p.Family)
	for _, pair := range Pairs(p.Family) {
		add(FamilyPair + pair)
	}
	cross(GivenInitial, p.Given, Initials(p.FamilyWords))
	if len(p.BirthDate) == len("2006-01-02") {
		cross(FamilyDate, p.Family, []string{p.BirthDate})
		cross(GivenDate, p.Given, []string{p.BirthDate})
	}
	if y := Year(p.BirthDate); y != "" {
		cross(FamilyYear, p.Family, []string{y})
	}
	return out
}

// Cross returns prefix+a+"|"+b for every a in as and b in bs.
func Cross(prefix string, as, bs []string) []string {
	var out []string
	for _, a := range as {
		for _, b := range bs {
			out = append(out, prefix+a+"|"+b)
		}
	}
	return out
}
