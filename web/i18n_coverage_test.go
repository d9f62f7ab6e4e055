package web

import (
	"bytes"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/html"

	"contigo/i18n"
	"contigo/records/federation"
	"contigo/records/nutrition"
)

// keyFamilies are the keys the app builds at run time, "prefix" + value:
// for each prefix the app writes (a string literal followed by +, such as
// t("alert." + kind)), every value it can append, taken from the Go code
// that produces those values wherever there is one. A new prefix in the
// app fails TestAppKeys until it is listed here.
func keyFamilies() map[string][]string {
	grades := []string{string(federation.Certain), string(federation.Probable), string(federation.Possible)}
	var fields, levels []string
	for _, fl := range federation.EvidenceLevels() {
		f, l, _ := strings.Cut(fl, ":")
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
		levels = append(levels, f+"."+l)
	}
	return map[string][]string{
		"app.grade.":   grades,
		"app.reason.":  grades,
		"match.field.": fields,
		"match.":       levels,                                 // "match." + field + "." + level
		"app.gender.":  {"male", "female", "other", "unknown"}, // FHIR administrative-gender
		"app.oedema.":  {"absent", "+", "++", "+++", "not_assessed"},
		// the z-score Observations of fhir.AnthroSystem
		"app.z.": {"wfa-z", "lhfa-z", "wflh-z", "bfa-z", "acfa-z", "hcfa-z"},
		// the Condition classes of fhir's conditions (national bands,
		// configured per country, fall back to the coding's display)
		"cond.": {"severe-wasting", "moderate-wasting", "nutritional-oedema", "infant-at-risk", "plw-acute-malnutrition"},
		"alert.": {nutrition.KindNewSevereWasting, nutrition.KindNutritionalOedema, nutrition.KindNewModerateWasting, nutrition.KindInfantAtRisk,
			nutrition.KindPLWMalnutrition, nutrition.KindDeterioration, nutrition.KindMissedFollowUp, nutrition.KindImplausible},
		"severity.": {nutrition.SeverityLow, nutrition.SeverityMedium, nutrition.SeverityHigh, nutrition.SeverityCritical},
		"status.": {nutrition.StatusOpen, nutrition.StatusAcknowledged, nutrition.StatusReferred, nutrition.StatusAdmitted,
			nutrition.StatusResolved, nutrition.StatusClosed},
		"age_band.": {nutrition.AgeBandInfant, nutrition.AgeBandChild, nutrition.AgeBandOver5, nutrition.AgeBandPLW, nutrition.AgeBandUnknown},
		"lead.var.": {nutrition.HeapWeight, nutrition.HeapLength, nutrition.HeapMUAC},
		// the referral choices of app.js (C.countryName falls back to the code)
		"country.": {"CO", "EC", "PE", "BR", "PA", "VE", "CL", "AR", "BO", "MX", "GT", "HN", "CR"},
	}
}

// jsString is one string literal of a script: its text and what follows it.
type jsString struct {
	text, before, after string
	line                int
	template            bool
}

// jsStrings returns the string literals of a script (quotes and
// templates), skipping comments; regular expression literals are not
// told from division, which is fine while none holds a quote.
func jsStrings(src string) []jsString {
	var out []jsString
	line := 1
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			line++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			line++
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			line += strings.Count(src[i:i+2+end], "\n")
			i += end + 3
		case c == '"' || c == '\'' || c == '`':
			start, at := i+1, line
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				}
				if src[i] == '\n' {
					line++
				}
			}
			rest := strings.TrimLeft(src[min(i+1, len(src)):], " \t\n")
			before := strings.TrimRight(src[max(0, start-16):start-1], " \t")
			out = append(out, jsString{text: src[start:i], before: before, after: rest[:min(len(rest), 1)], line: at, template: c == '`'})
		}
	}
	return out
}

// namespaces are the first parts of the catalogue's keys ("app", "lead", ...).
func namespaces() map[string]bool {
	ns := map[string]bool{}
	for _, k := range i18n.Keys(i18n.Languages[0]) {
		first, _, _ := strings.Cut(k, ".")
		ns[first] = true
	}
	return ns
}

var keyLike = regexp.MustCompile(`^[a-z_]+\.[a-z0-9_.+-]*$`)

// appFiles calls f with the path and text of each of the app's HTML and
// script files.
func appFiles(t *testing.T, f func(path string, b []byte)) {
	t.Helper()
	err := fs.WalkDir(files, "app", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".js")) {
			return err
		}
		b, err := files.ReadFile(p)
		if err == nil {
			f(p, b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAppKeys: every message key the app uses is in all four catalogues:
// the data-i18n attributes of the HTML, every key written in the scripts
// (a string literal whose first part is a catalogue namespace), and every
// key the scripts build at run time (keyFamilies). A prefix the test does
// not know fails, so a new family of keys is listed before it ships.
func TestAppKeys(t *testing.T) {
	ns := namespaces()
	families := keyFamilies()
	used := map[string][]string{} // key -> where
	use := func(key, where string) { used[key] = append(used[key], where) }
	appFiles(t, func(p string, b []byte) {
		if strings.HasSuffix(p, ".html") {
			doc, err := html.Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for n := range doc.Descendants() {
				for _, a := range n.Attr {
					if a.Key == "data-i18n" || a.Key == "data-i18n-title" || a.Key == "data-i18n-label" {
						use(a.Val, p)
					}
				}
			}
			return
		}
		for _, s := range jsStrings(string(b)) {
			first, _, _ := strings.Cut(s.text, ".")
			if !ns[first] || !keyLike.MatchString(s.text) {
				if s.template && ns[first] && strings.Contains(s.text, "${") {
					t.Errorf("%s:%d: key built in a template `%s`: write \"prefix.\" + value and list the family in keyFamilies", p, s.line, s.text)
				}
				continue
			}
			where := p + ":" + strconv.Itoa(s.line)
			if s.after == "+" {
				vals, ok := families[s.text]
				if !ok {
					t.Errorf("%s: key family %q + ... is not in keyFamilies: list every value the app may append", where, s.text)
				}
				for _, v := range vals {
					use(s.text+v, where)
				}
				continue
			}
			use(s.text, where)
		}
	})
	if len(used) < 150 {
		t.Fatalf("found only %d keys in the app: the scan is broken", len(used))
	}
	for key, where := range used {
		for _, tag := range i18n.Languages {
			if !i18n.Has(tag, key) {
				t.Errorf("key %q (used at %s) is missing from the %s catalogue", key, where[0], tag)
			}
		}
	}
	t.Logf("%d keys used by the app, in %d catalogues", len(used), len(i18n.Languages))
}

// shownAttrs are the attributes a person reads or hears.
var shownAttrs = []string{"placeholder", "title", "alt", "aria-label", "label"}

// machineText are the script's literals that look like words but are not
// shown to a person: FHIR codings' displays sent to the server, HTTP
// headers and the like.
var machineText = map[string]string{
	"use strict":      "a directive",
	"Body weight":     "LOINC display in the Observation sent",
	"Body length":     "LOINC display in the Observation sent",
	"Body height":     "LOINC display in the Observation sent",
	"MUAC":            "LOINC display in the Observation sent",
	"Bearer ":         "the Authorization scheme",
	"Accept":          "an HTTP header",
	"Content-Type":    "an HTTP header",
	"Accept-Language": "an HTTP header",
	"Authorization":   "an HTTP header",
}

// fhirTypes are the FHIR resource types the scripts name.
var fhirTypes = []string{"Bundle", "Condition", "Consent", "Encounter", "Flag", "Observation", "OperationOutcome", "Parameters", "Patient"}

// wordy reports whether s reads like text for a person: two letters or
// more in a row, and a space between words or a capital letter first
// (codes, keys, selectors and identifiers are lower-case without spaces).
func wordy(s string) bool {
	letters, prev := 0, rune(0)
	words := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if prev == ' ' && letters > 1 {
				words = true
			}
		}
		prev = r
	}
	if letters < 2 {
		return false
	}
	r := []rune(strings.TrimSpace(s))
	return words || (len(r) > 1 && unicode.IsUpper(r[0]) && unicode.IsLower(r[1]))
}

// TestNoHardCodedText: no text is shown that does not come from the
// catalogues. In the HTML, a text node with letters, or an attribute that
// is read out (placeholder, title, alt, aria-label), must sit on an
// element whose data-i18n attribute replaces it; in the scripts, a string
// literal that reads like words (wordy) must be a key, markup, or one of
// machineText's.
func TestNoHardCodedText(t *testing.T) {
	ns := namespaces()
	pages, scripts, nodes, literals := 0, 0, 0, 0
	appFiles(t, func(p string, b []byte) {
		if strings.HasSuffix(p, ".html") {
			pages++
			doc, err := html.Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			has := func(n *html.Node, keys ...string) bool {
				for _, a := range n.Attr {
					if slices.Contains(keys, a.Key) {
						return true
					}
				}
				return false
			}
			for n := range doc.Descendants() {
				nodes++
				switch {
				case n.Type == html.TextNode && n.Parent != nil && n.Parent.Data != "script" && n.Parent.Data != "style":
					if strings.IndexFunc(n.Data, unicode.IsLetter) >= 0 && !has(n.Parent, "data-i18n", "data-i18n-title") {
						t.Errorf("%s: text %q in <%s> has no data-i18n key", p, strings.TrimSpace(n.Data), n.Parent.Data)
					}
				case n.Type == html.ElementNode:
					for _, a := range n.Attr {
						if slices.Contains(shownAttrs, a.Key) && strings.IndexFunc(a.Val, unicode.IsLetter) >= 0 && !has(n, "data-i18n-label") {
							t.Errorf("%s: <%s %s=%q> is not from the catalogues (data-i18n-label)", p, n.Data, a.Key, a.Val)
						}
						if a.Key == "value" && (has(n, "type") && slices.ContainsFunc(n.Attr, func(x html.Attribute) bool {
							return x.Key == "type" && (x.Val == "submit" || x.Val == "button")
						})) {
							t.Errorf("%s: <%s value=%q> shows a text not from the catalogues", p, n.Data, a.Val)
						}
					}
				}
			}
			return
		}
		scripts++
		for _, s := range jsStrings(string(b)) {
			literals++
			first, _, _ := strings.Cut(s.text, ".")
			switch {
			case !wordy(s.text):
			case ns[first] && keyLike.MatchString(s.text):
			case machineText[s.text] != "", slices.Contains(fhirTypes, s.text):
			case strings.HasSuffix(s.before, "class:") || strings.HasSuffix(s.before, "className ="):
				// CSS classes
			case strings.ContainsAny(s.text, "/<>=[]{}#:;") && !strings.Contains(s.text, ". "):
				// a URL, MIME type, selector, CSS or markup
			default:
				t.Errorf("%s:%d: %q reads like text for a person: put it in the catalogues (or in machineText, saying why it is not shown)", p, s.line, s.text)
			}
		}
	})
	if pages < 2 || scripts < 4 || nodes < 200 || literals < 300 {
		t.Fatalf("scanned %d pages (%d nodes), %d scripts (%d string literals): the scan is broken", pages, nodes, scripts, literals)
	}
	t.Logf("%d pages (%d nodes), %d scripts (%d string literals)", pages, nodes, scripts, literals)
}
