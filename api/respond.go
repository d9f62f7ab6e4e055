package api

import (
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// readBody reads the request body up to the configured limit: 413 beyond it.
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	if r.ContentLength > s.maxBody {
		return nil, echo.ErrStatusRequestEntityTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		return nil, errorf(records.ErrMalformed, "read request body: %v", err)
	}
	if int64(len(b)) > s.maxBody {
		return nil, echo.ErrStatusRequestEntityTooLarge
	}
	if len(b) == 0 {
		return nil, &records.FieldError{Field: "body", Reason: "empty request body: send a FHIR JSON resource", Kind: records.ErrMalformed}
	}
	return b, nil
}

// base returns the absolute base URL of the FHIR API the request came in on:
// <scheme>://<host>/fhir or .../countries/<cc>/fhir.
func base(c echo.Context) string {
	prefix := "/fhir"
	if strings.HasPrefix(c.Path(), "/countries/") {
		prefix = "/countries/" + string(country(c)) + "/fhir"
	}
	return c.Scheme() + "://" + c.Request().Host + prefix
}

// writeResource renders r and writes it with its ETag and Last-Modified.
func writeResource(c echo.Context, status int, r records.Resource) error {
	b, err := fhir.Render(r)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", fhir.ETag(r.Version))
	h.Set("Last-Modified", r.Updated.UTC().Format(http.TimeFormat))
	if req := c.Request(); status == http.StatusOK && notModified(req, r) {
		return c.NoContent(http.StatusNotModified)
	} else if isWrite(req) {
		if done, err := writeWritten(c, status, r); done {
			return err
		}
	}
	return c.Blob(status, fhirJSON, b)
}

// writeBundle writes a rendered Bundle (or other resource) body.
func writeBundle(c echo.Context, status int, b []byte) error {
	if isBundleRoute(c) {
		b = preferEntries(c, b)
	}
	return c.Blob(status, fhirJSON, b)
}

// readableType checks the type in the URL: 404 if this server does not
// serve it.
func readableType(typ string) error {
	if !fhir.Readable(typ) {
		return errorf(records.ErrNotFound, "resource type %q is not served here", typ)
	}
	return nil
}
