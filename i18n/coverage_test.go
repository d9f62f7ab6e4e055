package i18n

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// goSources calls f with the path and text of every non-test Go file of
// the module (the parent directory of this package).
func goSources(t *testing.T, f func(path, src string)) {
	t.Helper()
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != ".." || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			f(p, string(b))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// keyLike is a catalogue key: namespace.name.
var keyLike = regexp.MustCompile(`^[a-z_]+\.[a-z0-9_.+-]+$`)

// issueCodes maps the Go names of r4.IssueType's values (IssueTypeNotFound)
// to their FHIR codes (not-found).
func issueCodes() map[string]string {
	out := map[string]string{}
	for i := r4.IssueType(0); ; i++ {
		code := i.Code()
		if code == "<unknown>" {
			return out
		}
		name := ""
		for _, part := range strings.Split(code, "-") {
			name += strings.ToUpper(part[:1]) + part[1:]
		}
		out["IssueType"+name] = code
	}
}

// TestGoKeys: every key the Go code prints literally (p.T("chart.title"),
// T("carne.title", ...)) and the text of every OperationOutcome issue type
// the code can raise ("oo." + code, which the API's localizeOutcome puts
// in issue.details.text) is in all four catalogues, with "oo.field" and
// "oo.processing", the fallback.
func TestGoKeys(t *testing.T) {
	literal := regexp.MustCompile(`\.T\(\s*"([^"]+)"`)
	issue := regexp.MustCompile(`\bIssueType[A-Z][A-Za-z]*\b`)
	codes := issueCodes()
	if codes["IssueTypeNotFound"] != "not-found" || codes["IssueTypeMultipleMatches"] != "multiple-matches" {
		t.Fatalf("issue codes: %v", codes)
	}
	used := map[string]string{"oo.field": "api/outcome_i18n.go", "oo.processing": "api/outcome_i18n.go"}
	files, literals, issues := 0, map[string]bool{}, map[string]bool{}
	goSources(t, func(p, src string) {
		files++
		for _, m := range literal.FindAllStringSubmatch(src, -1) {
			if keyLike.MatchString(m[1]) { // not a bare format such as "%.1f"
				used[m[1]] = p
				literals[m[1]] = true
			}
		}
		for _, name := range issue.FindAllString(src, -1) {
			if code, ok := codes[name]; ok {
				used["oo."+code] = p
				issues[code] = true
			}
		}
	})
	// Each half of the scan must find something, or it passes on nothing.
	if files < 100 || len(literals) < 10 || len(issues) < 8 {
		t.Fatalf("scanned %d Go files, %d literal keys, %d issue types: the scan is broken", files, len(literals), len(issues))
	}
	for key, where := range used {
		for _, tag := range Languages {
			if !Has(tag, key) {
				t.Errorf("key %q (used in %s) is missing from the %s catalogue", key, where, tag)
			}
		}
	}
	t.Logf("%d keys used by the Go code (%d literal, %d issue types; %d files)", len(used), len(literals), len(issues), files)
}
