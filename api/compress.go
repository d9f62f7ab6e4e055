package api

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"contigo/records"
)

// gzipMinLength is the smallest response body worth compressing: below it
// the gzip framing costs more than it saves.
const gzipMinLength = 1024

// compressResponses gzips response bodies of at least gzipMinLength bytes
// for clients that accept gzip, and adds Vary: Accept-Encoding. /metrics
// is left to the Prometheus handler, which compresses by itself.
func compressResponses() echo.MiddlewareFunc {
	return middleware.GzipWithConfig(middleware.GzipConfig{
		MinLength: gzipMinLength,
		Skipper:   func(c echo.Context) bool { return c.Request().URL.Path == "/metrics" },
	})
}

// decompressRequests inflates a request body sent with Content-Encoding:
// gzip, so that handlers read plain JSON. The body limit (readBody) counts
// the inflated bytes, so a small gzip bomb still gets 413. A body that is
// not gzip gets 400; an encoding other than gzip or identity gets 415.
func decompressRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		enc := strings.ToLower(strings.TrimSpace(r.Header.Get(echo.HeaderContentEncoding)))
		switch {
		case enc == "" || enc == "identity" || r.Body == nil || r.Body == http.NoBody:
			return next(c)
		case enc == "gzip" || enc == "x-gzip":
		default:
			return &records.FieldError{Field: "Content-Encoding", Reason: "only gzip request bodies are understood", Kind: errUnsupportedMedia}
		}
		zr, err := gzip.NewReader(r.Body)
		switch {
		case errors.Is(err, io.EOF): // an empty body stays empty
			r.Body = http.NoBody
		case err != nil:
			return &records.FieldError{Field: "Content-Encoding", Reason: "the body is not gzip: " + err.Error(), Kind: records.ErrMalformed}
		default:
			r.Body = gzipBody{Reader: zr, Closer: r.Body}
		}
		r.Header.Del(echo.HeaderContentEncoding)
		r.Header.Del(echo.HeaderContentLength)
		r.ContentLength = -1
		return next(c)
	}
}

// gzipBody reads the inflated body and closes the original one.
type gzipBody struct {
	io.Reader
	io.Closer
}
