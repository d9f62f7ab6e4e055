package namekey

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Phonetic returns a code of word under which Spanish and Portuguese
// spellings of the same sound agree: "Yépez" and "Llepes", "Jiménez",
// "Giménez" and "Ximénez", "Vásquez" and "Basques", "Souza" and "Sousa",
// "Thiago" and "Tiago" all share one. It is "" for a word without letters.
//
// The rules, applied to the word folded to lower case without accents
// (ñ -> n, ç -> c), left to right:
//
//	ch, sh -> x       lh, ll, y -> i     nh -> n
//	qu + e/i -> k     gu + e/i -> g      g + e/i -> j
//	c + e/i, ç -> s   c, q, k -> k       z, ss -> s
//	v, w -> b         ph -> f            h -> (silent)
//	x first, before a vowel -> j (Ximena, Xavier: Jimena, Javier)
//	n before b or p -> m
//
// and a letter equal to the one before is dropped ("Cárdenas", "Carrillo"
// -> "kardenas", "karilo"). This is a small rule set in the manner of the
// phonetic keys used for Spanish names in record linkage (e.g. the
// "fonético" of the Brazilian SIM/SINASC linkages), not a published
// standard; TestPhonetic lists what it must join and keep apart.
func Phonetic(word string) string {
	w := fold(word)
	var b strings.Builder
	b.Grow(len(w))
	var last byte
	emit := func(c byte) {
		if c != last {
			b.WriteByte(c)
		}
		last = c
	}
	at := func(i int) byte {
		if i < len(w) {
			return w[i]
		}
		return 0
	}
	front := func(c byte) bool { return c == 'e' || c == 'i' || c == 'y' }
	for i := 0; i < len(w); i++ {
		c, n := w[i], at(i+1)
		switch c {
		case 'c':
			switch {
			case n == 'h':
				emit('x')
				i++
			case front(n):
				emit('s')
			default:
				emit('k')
			}
		case 's':
			if n == 'h' {
				emit('x')
				i++
				continue
			}
			emit('s')
		case 'l':
			if n == 'h' || n == 'l' {
				emit('i')
				i++
				continue
			}
			emit('l')
		case 'n':
			switch {
			case n == 'h':
				emit('n')
				i++
			case n == 'b' || n == 'p' || n == 'v':
				emit('m')
			default:
				emit('n')
			}
		case 'q':
			emit('k')
			if n == 'u' && front(at(i+2)) {
				i++
			}
		case 'g':
			switch {
			case n == 'u' && front(at(i+2)):
				emit('g')
				i++
			case front(n):
				emit('j')
			default:
				emit('g')
			}
		case 'p':
			if n == 'h' {
				emit('f')
				i++
				continue
			}
			emit('p')
		case 'x':
			if i == 0 && isVowel(n) {
				emit('j')
				continue
			}
			emit('x')
		case 'y':
			emit('i')
		case 'z':
			emit('s')
		case 'k':
			emit('k')
		case 'v', 'w':
			emit('b')
		case 'h':
			// silent
		default:
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				emit(c)
			}
		}
	}
	return b.String()
}

func isVowel(c byte) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'
}

// fold lower-cases s and removes its accents: "Núñez" -> "nunez"; letters
// outside a-z stay as they are (and Phonetic drops them).
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		s = strings.NewReplacer("ç", "s", "Ç", "s").Replace(s) // before NFD splits off the cedilla
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
