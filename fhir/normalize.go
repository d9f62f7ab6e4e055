package fhir

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// normalize returns s in the form name keys and name searches compare:
// decomposed (NFD) with combining marks removed, lower case, runs of
// white space as one space, trimmed. "  José  MARÍA" -> "jose maria".
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	if !isASCII(s) {
		s = norm.NFD.String(s)
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// words returns the normalised words of s, split at anything that is not
// a letter or digit: "María-José O'Neil" -> maria, jose, o, neil.
func words(s string) []string {
	return strings.FieldsFunc(normalize(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
