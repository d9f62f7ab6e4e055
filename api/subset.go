package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// writeRead writes r for a read or vread: whole, or the subset that
// _summary (true, text, data, false) and _elements ask for, tagged
// SUBSETTED.
func writeRead(c echo.Context, r records.Resource) error {
	sub, err := fhir.ParseSubset(r.Type, c.QueryParam("_summary"), c.QueryParams()["_elements"])
	if err != nil {
		return err
	}
	if !sub.Active() {
		return writeResource(c, http.StatusOK, r)
	}
	b, err := sub.Apply(r)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", fhir.ETag(r.Version))
	h.Set("Last-Modified", r.Updated.UTC().Format(http.TimeFormat))
	return c.Blob(http.StatusOK, fhirJSON, b)
}
