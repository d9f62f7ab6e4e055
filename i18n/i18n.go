// Package i18n holds the message catalogues of everything Contigo shows to
// a person (growth charts, the carné, the web app, OperationOutcome texts)
// in Spanish (the default), Portuguese, English and French, and chooses a
// language from an Accept-Language header or a lang parameter.
//
// The catalogues are JSON objects of key -> text, one file per language
// under messages/, embedded in the binary; texts use fmt verbs and are
// printed with golang.org/x/text/message, so numbers follow the language
// (a decimal comma in es, pt and fr). The web app reads the same files.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The catalogues, one JSON object per language.
//
//go:embed messages/*.json
var files embed.FS

// Languages are the supported languages, the default first.
var Languages = []language.Tag{language.Spanish, language.Portuguese, language.English, language.French}

var (
	cat     = catalog.NewBuilder(catalog.Fallback(language.Spanish))
	matcher = language.NewMatcher(Languages)
	texts   = map[string]map[string]string{}
)

func init() {
	for _, tag := range Languages {
		b, err := files.ReadFile("messages/" + tag.String() + ".json")
		if err != nil {
			panic(fmt.Sprintf("i18n: catalogue %s: %v", tag, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: catalogue %s: %v", tag, err))
		}
		texts[tag.String()] = m
		for k, v := range m {
			if err := cat.SetString(tag, k, v); err != nil {
				panic(fmt.Sprintf("i18n: catalogue %s key %s: %v", tag, k, err))
			}
		}
	}
}

// Match returns the supported language that best serves an
// Accept-Language header (or a bare tag such as "pt"); Spanish when
// nothing matches or the header is empty or malformed.
func Match(accept string) language.Tag {
	if strings.TrimSpace(accept) == "" {
		return language.Spanish
	}
	prefs, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(prefs) == 0 {
		return language.Spanish
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return language.Spanish
	}
	return Languages[i]
}

// A Printer prints catalogue messages in one language.
type Printer struct {
	tag language.Tag
	p   *message.Printer
}

// New returns the Printer of a supported language (Spanish for another).
func New(tag language.Tag) *Printer {
	_, i, conf := matcher.Match(tag)
	if conf == language.No {
		i = 0
	}
	t := Languages[i]
	return &Printer{tag: t, p: message.NewPrinter(t, message.Catalog(cat))}
}

// Tag returns the printer's language.
func (p *Printer) Tag() language.Tag { return p.tag }

// T returns message key formatted with args; a key missing from every
// catalogue is returned as it is (tests catch those).
func (p *Printer) T(key string, args ...any) string {
	return p.p.Sprintf(key, args...)
}

// Has reports whether language tag's catalogue has key.
func Has(tag language.Tag, key string) bool {
	_, ok := texts[tag.String()][key]
	return ok
}

// Keys returns the keys of language tag's catalogue, sorted.
func Keys(tag language.Tag) []string {
	var out []string
	for k := range texts[tag.String()] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Catalogue returns the JSON file of a supported language, for the web
// app; ok is false for another language.
func Catalogue(lang string) (b []byte, ok bool) {
	b, err := fs.ReadFile(files, "messages/"+lang+".json")
	return b, err == nil
}
