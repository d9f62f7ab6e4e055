package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"contigo/i18n"
)

func get(t *testing.T, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Result()
}

// TestShell serves every shell file, with a CSP that allows no other origin.
func TestShell(t *testing.T) {
	for _, p := range Shell {
		r := get(t, "/app/"+p)
		if r.StatusCode != 200 {
			t.Errorf("/app/%s: %d", p, r.StatusCode)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("/app/%s: CSP %q", p, csp)
		}
	}
	for _, p := range []string{"/app/messages/de.json", "/app/messages/es", "/app/messages/es.json.json"} {
		if r := get(t, p); r.StatusCode != 404 {
			t.Errorf("%s, not a catalogue: %d", p, r.StatusCode)
		}
	}
	if r := get(t, "/app/messages/../web.go"); r.StatusCode == 200 {
		t.Error("path escape served")
	}
}

// TestMessages: every text key the app's HTML and scripts name literally is
// in every catalogue, so no string shown is left untranslated, and the
// service worker caches exactly the shell.
func TestMessages(t *testing.T) {
	keyRE := regexp.MustCompile(`data-i18n(?:-title|-label)?="([^"]+)"|\bt\("([a-z_]+\.[a-z_.+-]+)"\s*[,)]`)
	err := fs.WalkDir(files, "app", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".js")) {
			return err
		}
		b, _ := files.ReadFile(p)
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			key := m[1] + m[2]
			for _, tag := range i18n.Languages {
				if !i18n.Has(tag, key) {
					t.Errorf("%s: key %q missing from the %s catalogue", p, key, tag)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sw, _ := files.ReadFile("app/sw.js")
	for _, p := range Shell {
		if p != "sw.js" && !strings.Contains(string(sw), `"/app/`+p+`"`) {
			t.Errorf("sw.js does not cache /app/%s", p)
		}
	}
	// and Shell lists every file sw.js caches (api's TestAppShellBudget weighs Shell)
	for _, m := range regexp.MustCompile(`"/app/([^"]*)"`).FindAllStringSubmatch(string(sw), -1) {
		if !slices.Contains(Shell, m[1]) {
			t.Errorf("sw.js caches /app/%s, which Shell does not list", m[1])
		}
	}
}

// TestPreloadCatalogue: the pages ask the browser to fetch, with their
// scripts, the catalogue of the language Accept-Language prefers.
func TestPreloadCatalogue(t *testing.T) {
	for accept, want := range map[string]string{"": "es", "pt-BR,pt;q=0.9": "pt", "en-US,en;q=0.9": "en", "de": "es"} {
		for _, page := range []string{"/app/", "/app/lead/"} {
			req := httptest.NewRequest("GET", page, nil)
			req.Header.Set("Accept-Language", accept)
			rec := httptest.NewRecorder()
			Handler().ServeHTTP(rec, req)
			if got := rec.Header().Get("Link"); got != "</app/messages/"+want+".json>; rel=preload; as=fetch; crossorigin=anonymous" {
				t.Errorf("%s, Accept-Language %q: Link %q", page, accept, got)
			}
			if rec.Header().Get("Vary") != "Accept-Language" {
				t.Errorf("%s: Vary %q", page, rec.Header().Get("Vary"))
			}
		}
	}
	if got := get(t, "/app/app.js").Header.Get("Link"); got != "" {
		t.Errorf("app.js: Link %q", got)
	}
}
