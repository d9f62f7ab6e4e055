package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/nutrition"
)

// An alert has one canonical id, nutrition.Alert.ID ("<person-ref>.f..."):
// the id of GET /alerts rows (JSON and CSV), of its pseudonymous Flag, of
// GET and PATCH /alerts/{id}, and the identifier (system
// fhir.AlertIDSystem) of the Flag in the person's record, whose own id
// ("<record id>.n-f...") routes it to the record. /alerts/{id} accepts
// either id and answers with the canonical one; metrics label the route
// template only, so no alert id reaches Prometheus.

// handleAlertRead serves GET /alerts/{id}: one alert by its canonical id
// or its record Flag's id, as JSON, CSV or a pseudonymous Flag (as GET
// /alerts). 404 if no alert of the country has that id.
func (s *Server) handleAlertRead(c echo.Context) error {
	ctx, cc := c.Request().Context(), country(c)
	flag, err := s.alertFlag(ctx, cc, c.Param("id"))
	if err != nil {
		return err
	}
	al, err := fhir.AlertOf(flag)
	if err != nil {
		return err
	}
	a := auditOf(c)
	a.resourceType, a.resourceID, a.personID = "Flag", flag.ID, records.PersonOf("Flag", flag.ID)
	a.disclose(flag)
	switch wants(c) {
	case "csv":
		b, err := safeCSV(alertColumns, func(yield func([]string) bool) { yield(alertRecord(&al)) })
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b)
	case "fhir":
		b, err := fhir.PseudonymousFlag(&al)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, fhirJSON, b)
	}
	return c.JSON(http.StatusOK, al)
}

// alertFlag returns the current Flag of alert id in country cc, id being
// the canonical alert id or the record Flag's id. Returns ErrNotFound if
// there is none.
func (s *Server) alertFlag(ctx context.Context, cc records.Country, id string) (records.Resource, error) {
	pid, flagID, err := s.alertFlagID(ctx, cc, id)
	if err != nil {
		return records.Resource{}, err
	}
	p, err := s.records.Person(ctx, cc, pid)
	if err != nil {
		return records.Resource{}, fmt.Errorf("read alert %s: %w", id, err)
	}
	for _, r := range p.Latest() {
		if r.Type == "Flag" && r.ID == flagID {
			return r, nil
		}
	}
	return records.Resource{}, errorf(records.ErrNotFound, "alert %s", id)
}

// alertFlagID returns the record and the record Flag id of alert id
// (canonical or record Flag id).
func (s *Server) alertFlagID(ctx context.Context, cc records.Country, id string) (pid, flagID string, err error) {
	if pid, _, ok := fhir.AlertIDOfFlag(id); ok {
		return pid, id, nil
	}
	pid, err = s.alertOwner(ctx, cc, id)
	if err != nil {
		return "", "", err
	}
	return pid, fhir.FlagID(pid, id), nil
}

// canonicalAlertID returns the canonical id of alert id (canonical or
// record Flag id) and its record.
func (s *Server) canonicalAlertID(ctx context.Context, cc records.Country, id string) (alertID, pid string, err error) {
	if _, _, ok := fhir.AlertIDOfFlag(id); !ok {
		pid, err := s.alertOwner(ctx, cc, id)
		return id, pid, err
	}
	flag, err := s.alertFlag(ctx, cc, id)
	if err != nil {
		return "", "", err
	}
	var al nutrition.Alert
	if al, err = fhir.AlertOf(flag); err != nil {
		return "", "", err
	}
	return al.ID, records.PersonOf("Flag", flag.ID), nil
}
