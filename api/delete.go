package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// handleDelete serves DELETE /fhir/:type/:id: a new version of the
// resource that marks it deleted (history and vread of older versions
// stay), under If-Match when sent. 204 with the deletion's ETag; deleting a
// deleted resource again is 204 and changes nothing. Deleting a
// measurement re-assesses the person in the same write (z-scores, alerts
// and nutrition state derived from it are recomputed or retracted).
func (s *Server) handleDelete(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if !fhir.Writable(typ) {
		return errorf(records.ErrNotFound, "resource type %q cannot be deleted here", typ)
	}
	ifMatch, err := ifMatchOf(c)
	if err != nil {
		return err
	}
	r, err := s.remove(c.Request().Context(), country(c), typ, id, ifMatch, auditOf(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", `W/"`+strconv.FormatInt(r.Version, 10)+`"`)
	return c.NoContent(http.StatusNoContent)
}

// handleConditionalDelete serves DELETE /fhir/:type?<search>: no match is
// 204 (nothing to delete), one match is deleted as by handleDelete, several
// are 412. A search without parameters is refused: it would match all.
func (s *Server) handleConditionalDelete(c echo.Context) error {
	typ := c.Param("type")
	if !fhir.Writable(typ) {
		return errorf(records.ErrNotFound, "resource type %q cannot be deleted here", typ)
	}
	ctx, cc := c.Request().Context(), country(c)
	match, found, _, err := s.conditionalMatch(ctx, cc, typ, c.Request().URL.RawQuery, "DELETE")
	if err != nil || !found {
		if err == nil {
			return c.NoContent(http.StatusNoContent)
		}
		return err
	}
	ifMatch, err := ifMatchOf(c)
	if err != nil {
		return err
	}
	r, err := s.remove(ctx, cc, typ, match.ID, ifMatch, auditOf(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", `W/"`+strconv.FormatInt(r.Version, 10)+`"`)
	return c.NoContent(http.StatusNoContent)
}

// remove deletes typ/id. Results the server derives cannot be deleted by a
// client (403). A Patient is deleted only while its record holds nothing
// else current (409 otherwise, checked atomically with the write): a
// ministry keeps a child's clinical history, so the resources go first, one
// by one, each leaving its trace in the history.
func (s *Server) remove(ctx context.Context, cc records.Country, typ, id string, ifMatch int64, a *auditInfo) (records.Resource, error) {
	if err := refuseServerOwned(records.Resource{Type: typ}, id, ""); err != nil {
		return records.Resource{}, err
	}
	personID := records.PersonOf(typ, id)
	if personID == "" {
		return records.Resource{}, errorf(records.ErrNotFound, "%s/%s", typ, id)
	}
	a.resourceType, a.resourceID, a.personID = typ, id, personID
	w := records.Write{
		PersonID: personID,
		Changes:  []records.Change{{Method: "delete", Resource: records.Resource{Type: typ, ID: id}, IfMatch: ifMatch}},
	}
	if typ == "Patient" {
		w.Guard = func(p *records.Person) error {
			n := 0
			for _, r := range p.Latest() {
				if r.Type != "Patient" {
					n++
				}
			}
			if n > 0 {
				return &records.FieldError{Field: "Patient", Kind: records.ErrConflict,
					Reason: strconv.Itoa(n) + " other resources are recorded for this Patient: delete them first (each keeps its history)"}
			}
			return nil
		}
	}
	out, err := s.records.Write(ctx, cc, w)
	if err != nil {
		return records.Resource{}, err
	}
	return out.Applied[0], nil
}

// ifMatchOf returns the version of the request's If-Match header (0 if
// none); 400 for a header that is not a version ETag.
func ifMatchOf(c echo.Context) (int64, error) {
	h := c.Request().Header.Get("If-Match")
	if h == "" {
		return 0, nil
	}
	v, err := fhir.ParseETag(h)
	if err != nil {
		return 0, &records.FieldError{Field: "If-Match", Reason: "want a version ETag such as W/\"3\"", Kind: records.ErrMalformed}
	}
	return v, nil
}
