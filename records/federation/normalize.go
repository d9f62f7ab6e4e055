package federation

import (
	"strings"
	"unicode"

	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// particles are the short words of compound Spanish and Portuguese
// surnames ("De la Cruz", "Del Valle", "De los Santos", "Da Silva") and the
// conjunction of "Ortega y Gasset". They carry no identifying weight and are
// often dropped or joined when a name is copied, so matching ignores them.
var particles = map[string]bool{
	"de": true, "del": true, "la": true, "las": true, "los": true,
	"y": true, "e": true, "da": true, "das": true, "do": true, "dos": true,
}

// fold lower-cases s and removes diacritics: "Núñez" -> "nunez".
// ñ becomes n: registries in the region write it both ways. Letters of
// Spanish and Portuguese take a fast path; anything else is decomposed
// (NFD) and stripped of its combining marks.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(byte(unicode.ToLower(r)))
		case latin[unicode.ToLower(r)] != 0:
			b.WriteByte(latin[unicode.ToLower(r)])
		default:
			return foldSlow(s)
		}
	}
	return b.String()
}

// latin maps the accented lower-case letters of Spanish and Portuguese to
// their base letter.
var latin = map[rune]byte{
	'á': 'a', 'à': 'a', 'â': 'a', 'ä': 'a', 'ã': 'a', 'å': 'a',
	'é': 'e', 'è': 'e', 'ê': 'e', 'ë': 'e',
	'í': 'i', 'ì': 'i', 'î': 'i', 'ï': 'i',
	'ó': 'o', 'ò': 'o', 'ô': 'o', 'ö': 'o', 'õ': 'o',
	'ú': 'u', 'ù': 'u', 'û': 'u', 'ü': 'u',
	'ñ': 'n', 'ç': 'c', 'ý': 'y', 'ÿ': 'y',
}

func foldSlow(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return norm.NFC.String(b.String())
}

// tokens folds s and splits it into words on spaces, hyphens, dots,
// apostrophes and commas, dropping surname particles:
// "María-José De la Cruz" -> [maria jose cruz].
func tokens(s string) []string {
	f := splitWords(fold(s))
	out := f[:0]
	for _, w := range f {
		if !particles[w] {
			out = append(out, w)
		}
	}
	return out
}

// tokensOf returns the tokens of every string in ss, in order.
func tokensOf(ss []string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, tokens(s)...)
	}
	return out
}

// jaroWinkler returns the Jaro-Winkler similarity of a and b, in [0, 1],
// with the standard prefix scale 0.1 over at most 4 characters:
//
//	jaro = (m/|a| + m/|b| + (m-t)/m) / 3
//	jw   = jaro + l*0.1*(1-jaro)
//
// where m is the number of matching characters (equal and no farther apart
// than max(|a|,|b|)/2-1), t half the number of transpositions and l the
// length of the common prefix. Source: W. E. Winkler, "String Comparator
// Metrics and Enhanced Decision Rules in the Fellegi-Sunter Model of Record
// Linkage" (1990). a and b are compared rune by rune.
func jaroWinkler(a, b string) float64 {
	if a == b {
		return 1
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	window := max(len(ra), len(rb))/2 - 1
	window = max(window, 0)
	// Names are short: fixed arrays avoid allocating in the hot path.
	var ma, mb [64]bool
	if len(ra) > len(ma) || len(rb) > len(mb) {
		return 0
	}
	m := 0
	for i, c := range ra {
		lo, hi := max(0, i-window), min(len(rb), i+window+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && rb[j] == c {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, j := 0, 0
	for i := range ra {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if ra[i] != rb[j] {
			t++
		}
		j++
	}
	fm := float64(m)
	jaro := (fm/float64(len(ra)) + fm/float64(len(rb)) + (fm-float64(t)/2)/fm) / 3
	l := 0
	for l < 4 && l < len(ra) && l < len(rb) && ra[l] == rb[l] {
		l++
	}
	return jaro + float64(l)*0.1*(1-jaro)
}

// splitWords splits folded text into words at anything that is not a
// letter or digit.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
