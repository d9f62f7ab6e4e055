package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"

	"contigo/web"
)

// TestAppShellBudget: every file the service worker caches (web.Shell),
// fetched through the real router by a browser that accepts gzip, weighs
// at most 250 KB in the bytes the server sends: gzip (Echo's middleware,
// default level) from gzipMinLength bytes on, the file itself below. The
// count is deterministic; the test logs it (README quotes it).
func TestAppShellBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sent, raw := 0, 0
	for _, p := range web.Shell {
		r := e.do("GET", "/app/"+p, "", "", "Accept-Encoding", "gzip, deflate, br")
		if r.Code != http.StatusOK {
			t.Fatalf("/app/%s: %d", p, r.Code)
		}
		plain := len(r.Body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			plain = len(gunzip(t, r.Body))
		} else if plain >= gzipMinLength {
			t.Errorf("/app/%s: %d bytes sent uncompressed", p, plain)
		}
		t.Logf("/app/%-22s %6d bytes, %6d sent", p, plain, len(r.Body))
		sent += len(r.Body)
		raw += plain
	}
	t.Logf("app shell: %d files, %d bytes, %d bytes sent (gzip as served)", len(web.Shell), raw, sent)
	if sent > web.ShellBudget {
		t.Errorf("the app shell is %d bytes compressed, over the %d budget", sent, web.ShellBudget)
	}
}

// gunzip inflates a gzip body.
func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gunzip: %v", err)
	}
	return out
}
