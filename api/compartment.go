package api

import (
	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// handleCompartment serves GET /fhir/Patient/:id/:compartment, the search
// of one type within the Patient compartment
// (http://hl7.org/fhir/R4/compartmentdefinition-patient.html): the same as
// a search of that type with patient=Patient/:id (for Patient itself,
// _id=:id) and the other parameters given. The record is read by its id,
// so the search is an indexed one whatever its other parameters.
func (s *Server) handleCompartment(c echo.Context) error {
	typ, id, comp := c.Param("type"), c.Param("id"), c.Param("compartment")
	if typ != "Patient" {
		return errorf(records.ErrNotFound, "%s/%s/%s: only the Patient compartment is served", typ, id, comp)
	}
	if !fhir.Writable(comp) {
		return errorf(records.ErrNotFound, "resource type %q is not served in the Patient compartment", comp)
	}
	params, err := s.searchParams(c)
	if err != nil {
		return err
	}
	req, err := fhir.ParseSearchWith(comp, params, fhir.SearchOptions{Lenient: lenient(c)})
	if err != nil {
		return err
	}
	cond, err := fhir.CompartmentCond(comp, id)
	if err != nil {
		return err
	}
	req.Query.Conds = append(req.Query.Conds, cond)
	req.Path = "Patient/" + id + "/" + comp
	return s.runSearch(c, req)
}
