package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
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
	if r := get(t, "/app/messages/de.json"); r.StatusCode != 404 {
		t.Errorf("unknown catalogue: %d", r.StatusCode)
	}
	if r := get(t, "/app/messages/../web.go"); r.StatusCode == 200 {
		t.Error("path escape served")
	}
}

// TestShellSize: the shell, gzip-compressed file by file as served, stays
// within 250 KB. It logs the size (README quotes it).
func TestShellSize(t *testing.T) {
	var raw, gz int
	for _, p := range Shell {
		b, _ := io.ReadAll(get(t, "/app/"+p).Body)
		raw += len(b)
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(b)
		w.Close()
		gz += buf.Len()
	}
	t.Logf("app shell: %d files, %d bytes, %d bytes gzip", len(Shell), raw, gz)
	if gz > 250<<10 {
		t.Errorf("app shell is %d bytes compressed, over 250 KB", gz)
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
}
