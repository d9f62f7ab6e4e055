package i18n

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/language"
)

// TestCataloguesAgree: every language has the same keys, no empty text,
// and the same fmt verbs in the same order as Spanish.
func TestCataloguesAgree(t *testing.T) {
	es := Keys(language.Spanish)
	if len(es) < 100 {
		t.Fatalf("Spanish catalogue has %d keys", len(es))
	}
	verbs := func(tag language.Tag, k string) []string {
		var out []string
		s := texts[tag.String()][k]
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+1 < len(s) {
				j := i + 1
				for j < len(s) && strings.ContainsRune(".0123456789", rune(s[j])) {
					j++
				}
				if j < len(s) {
					out = append(out, s[i:j+1])
				}
				i = j
			}
		}
		return out
	}
	for _, tag := range Languages[1:] {
		if got := Keys(tag); !slices.Equal(got, es) {
			t.Errorf("%s keys differ from es", tag)
		}
		for _, k := range es {
			if texts[tag.String()][k] == "" {
				t.Errorf("%s %s empty", tag, k)
			}
			if !slices.Equal(verbs(tag, k), verbs(language.Spanish, k)) {
				t.Errorf("%s %s: verbs %v, es has %v", tag, k, verbs(tag, k), verbs(language.Spanish, k))
			}
		}
	}
}

func TestMatch(t *testing.T) {
	for in, want := range map[string]string{
		"": "es", "pt-BR,pt;q=0.9,en;q=0.8": "pt", "en-US": "en", "fr-CA": "fr", "de": "es", "de, fr;q=0.5": "fr", "es-CO": "es", "x;;;": "es", "pt": "pt",
	} {
		if got := Match(in).String(); got != want {
			t.Errorf("Match(%q) = %s, want %s", in, got, want)
		}
	}
	p := New(language.Portuguese)
	if got := p.T("chart.current", p.T("class.normal"), 0.5, "2026-01-02", "CO"); got != "Atual: adequado (z = 0,50; 2026-01-02, CO)" {
		t.Errorf("pt: %q", got)
	}
	if got := New(language.German).T("carne.title"); got != "Carné de salud y nutrición" {
		t.Errorf("fallback: %q", got)
	}
}
