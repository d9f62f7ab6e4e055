package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// handleSummary serves GET /fhir/Patient/:id/$summary: the International
// Patient Summary of the record as a document Bundle (fhir.Summary).
// Every person the document names is in the request's audit entry.
func (s *Server) handleSummary(c echo.Context) error {
	id := c.Param("id")
	a := auditOf(c)
	a.resourceType, a.personID = "Patient", id
	rs, err := s.records.Everything(c.Request().Context(), country(c), id)
	if err != nil {
		return err
	}
	body, included, err := fhir.Summary(rs, id, fhir.SummaryOptions{Base: base(c), Country: country(c), Version: s.version, Now: s.now()})
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	a.disclose(included...)
	return c.Blob(http.StatusOK, fhirJSON, body)
}

// handleSummaryPost serves POST /fhir/Patient/:id/$summary with an empty
// body or a Parameters resource without parameters: the instance-level
// $summary takes none (the IPS's identifier and profile parameters are for
// the type level and other profiles), so any parameter is a 400 naming it.
func (s *Server) handleSummaryPost(c echo.Context) error {
	params, err := s.operationParameters(c)
	if err != nil {
		return err
	}
	if len(params) > 0 {
		return &records.FieldError{Field: "Parameters.parameter[0].name", Reason: "$summary takes no parameter " + strconv.Quote(params[0][0]), Kind: records.ErrMalformed}
	}
	return s.handleSummary(c)
}
