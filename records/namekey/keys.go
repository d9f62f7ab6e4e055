package namekey

import (
	"slices"
	"strings"
	"unicode"
)

// Names of the blocking keys a Patient carries (in records.Keys).
const (
	GivenCode  = "given:code"  // Phonetic of each given-name word
	FamilyCode = "family:code" // Phonetic of each surname word (particles dropped)
	FamilyPair = "family:pair" // two surname codes, sorted, joined by "+": every pair of the record's surnames
	BirthYear  = "birthyear"   // the year of birth, "2023"
	// GivenInitial pairs the sound of each given name with the first
	// letter of each surname, "maria|g": it finds a record whose surnames
	// were mistyped (not in their first letter) or cut to one.
	GivenInitial = "given:initial"
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

// Initials returns code+"|"+initial for each given-name code and each
// distinct first letter of the surname words.
func Initials(givenCodes, familyWords []string) []string {
	var out []string
	for _, g := range givenCodes {
		for _, f := range familyWords {
			if v := g + "|" + f[:1]; !slices.Contains(out, v) {
				out = append(out, v)
			}
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

// Keys returns the blocking keys of a person with the given names,
// surnames and birth date (each as written), by key name.
func Keys(given, family []string, birthDate string) map[string][]string {
	out := map[string][]string{}
	gc := Codes(Words(given...))
	fw := Words(family...)
	fc := Codes(fw)
	if len(gc) > 0 {
		out[GivenCode] = gc
	}
	if gi := Initials(gc, fw); len(gi) > 0 {
		out[GivenInitial] = gi
	}
	if len(fc) > 0 {
		out[FamilyCode] = fc
	}
	if p := Pairs(fc); len(p) > 0 {
		out[FamilyPair] = p
	}
	if y := Year(birthDate); y != "" {
		out[BirthYear] = []string{y}
	}
	return out
}
