package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// trimTrailingSlash serves a path with one trailing slash as the same path
// without it (POST /fhir/ is POST /fhir, GET /fhir/metadata/ is GET
// /fhir/metadata): the request is rewritten before routing, not
// redirected, so a POST keeps its body. The web app under /app/ keeps its
// slash, and "/" stays "/".
func trimTrailingSlash(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		p := u.Path
		if len(p) > 1 && strings.HasSuffix(p, "/") && !strings.HasPrefix(p, "/app/") {
			u.Path = strings.TrimSuffix(p, "/")
			if u.RawPath != "" {
				u.RawPath = strings.TrimSuffix(u.RawPath, "/")
			}
		}
		return next(c)
	}
}

// headAsGet serves HEAD on every GET route: the request is routed and
// handled as a GET, with the same status and headers (Content-Length
// included), and the body is discarded.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodHead {
			return next(c)
		}
		// Echo routes on the original request, so the method is changed in
		// place, and set back afterwards for net/http.
		r.Method = http.MethodGet
		defer func() { r.Method = http.MethodHead }()
		res := c.Response()
		hw := &headWriter{ResponseWriter: res.Writer}
		res.Writer = hw
		defer func() {
			res.Writer = hw.ResponseWriter
			hw.finish()
		}()
		err := next(c)
		if err != nil {
			// Answer the error here, while the body is still discarded.
			c.Error(err)
		}
		return nil
	}
}

// headWriter discards a response body, counting it, and holds the status
// back until the end so that Content-Length can be the GET's.
type headWriter struct {
	http.ResponseWriter
	code    int
	n       int64
	flushed bool
}

// WriteHeader records the status; finish sends it.
func (w *headWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// Write counts and discards p.
func (w *headWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}

// Flush sends the status now: a streamed body has no known length.
func (w *headWriter) Flush() {
	w.send()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer.
func (w *headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends the status with the length of the discarded body.
func (w *headWriter) finish() {
	if !w.flushed && w.n > 0 && w.Header().Get(echo.HeaderContentLength) == "" {
		w.Header().Set(echo.HeaderContentLength, strconv.FormatInt(w.n, 10))
	}
	w.send()
}

func (w *headWriter) send() {
	if w.flushed {
		return
	}
	w.flushed = true
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.ResponseWriter.WriteHeader(w.code)
}
