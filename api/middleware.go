package api

import (
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// requestID returns the request's id, set by the RequestID middleware.
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// accessLog writes one line per request without personal data: method,
// route template (never the raw path, which holds ids, nor the query, which
// holds names), status, duration, request id and country. It answers errors
// itself so that the status logged is the status sent.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		attrs := []slog.Attr{
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("request_id", requestID(c)),
		}
		if cc, ok := c.Get(keyCountry).(string); ok {
			attrs = append(attrs, slog.String("country", cc))
		}
		s.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
		return nil
	}
}

// negotiate rejects what is not FHIR JSON: an XML (or other) request body
// gets 415; a _format asking for XML, or an Accept header that admits no
// JSON gets 406 (with an OperationOutcome in JSON all the same).
func (s *Server) negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if f := c.QueryParam("_format"); f != "" && !jsonFormat(f) {
			return errorf(errNotAcceptable, "_format %q is not supported: this server speaks application/fhir+json", f)
		}
		if ct := r.Header.Get(echo.HeaderContentType); ct != "" && (r.ContentLength != 0 || r.Method == "POST" || r.Method == "PUT") {
			mt, _, err := mime.ParseMediaType(ct)
			form := mt == echo.MIMEApplicationForm && strings.HasSuffix(c.Path(), "/_search") ||
				r.Method == http.MethodPatch // handlePatch names the patch formats it takes
			if err != nil || (!jsonFormat(mt) && !form) {
				return errorf(errUnsupportedMedia, "Content-Type %q is not supported: send application/fhir+json", ct)
			}
		}
		if a := r.Header.Get(echo.HeaderAccept); a != "" && !acceptsJSON(a) && !bulkFile(c) {
			return errorf(errNotAcceptable, "Accept %q: this server answers application/fhir+json only", a)
		}
		return next(c)
	}
}

// acceptsJSON reports whether an Accept header admits FHIR JSON.
func acceptsJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch mt = strings.ToLower(strings.TrimSpace(mt)); mt {
		case "*/*", "application/*":
			return true
		default:
			if jsonFormat(mt) {
				return true
			}
		}
	}
	return false
}

// jsonFormat reports whether a media type or _format value means FHIR JSON.
func jsonFormat(f string) bool {
	f = strings.ToLower(strings.TrimSpace(f))
	if i := strings.IndexByte(f, ';'); i >= 0 {
		f = strings.TrimSpace(f[:i])
	}
	switch f {
	case "json", "application/json", "application/fhir+json", "application/json+fhir":
		return true
	}
	return false
}
