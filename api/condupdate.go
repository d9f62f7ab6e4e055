package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/records"
)

// handleConditionalUpdate serves PUT /fhir/:type?<search> (R4 conditional
// update): no match creates the resource (201; a Patient's identifier
// claim makes two concurrent creates of one identifier end as one create
// and one update), one match is updated (200, under If-Match when sent),
// several are 412. An id in the body must be the match's.
func (s *Server) handleConditionalUpdate(c echo.Context) error {
	typ := c.Param("type")
	res, err := s.parseWritable(c, typ, "updated")
	if err != nil {
		return err
	}
	ifMatch, err := ifMatchOf(c)
	if err != nil {
		return err
	}
	ctx, cc := c.Request().Context(), country(c)
	for try := 0; ; try++ {
		r, created, err := s.upsert(ctx, cc, res, c.Request().URL.RawQuery, ifMatch, auditOf(c))
		var fe *records.FieldError
		if try == 0 && errors.As(err, &fe) && fe.Kind == records.ErrConflict && fe.Field == "Patient.identifier" {
			continue // a concurrent create of the same identifier won: update it
		}
		if err != nil {
			return err
		}
		if !created {
			return writeResource(c, http.StatusOK, r)
		}
		c.Response().Header().Set(echo.HeaderLocation, base(c)+"/"+r.Type+"/"+r.ID+"/_history/"+strconv.FormatInt(r.Version, 10))
		return writeResource(c, http.StatusCreated, r)
	}
}

// upsert is a conditional update of res under the search query: it
// creates (created true) or updates the one match.
func (s *Server) upsert(ctx context.Context, cc records.Country, res records.Resource, query string, ifMatch int64, a *auditInfo) (r records.Resource, created bool, err error) {
	match, found, q, err := s.conditionalMatch(ctx, cc, res.Type, query, "PUT")
	if err != nil {
		return records.Resource{}, false, err
	}
	if !found {
		if res.ID != "" {
			return records.Resource{}, false, &records.FieldError{Field: res.Type + ".id", Kind: records.ErrNotFound,
				Reason: "no " + res.Type + " matches the conditional update and this server assigns the ids of new resources: leave id out"}
		}
		if ifMatch != 0 {
			return records.Resource{}, false, errorf(records.ErrVersionMismatch, "If-Match %d, but no %s matches", ifMatch, res.Type)
		}
		r, err := s.createUnless(ctx, cc, res, a, q)
		var m *matchedError
		if !errors.As(err, &m) {
			return r, true, err
		}
		match = m.r // created by another writer meanwhile: updated instead
	}
	a.resourceType, a.resourceID, a.personID = res.Type, match.ID, records.PersonOf(res.Type, match.ID)
	r, err = s.update(ctx, cc, res, match.ID, ifMatch)
	return r, false, err
}

// conditionalMatch runs the search query (a URL query string) of a
// conditional interaction (method names it in errors) on typ: found with
// the one match, not found with none, 412 with several, 400 without any
// search parameter (it would match everything).
func (s *Server) conditionalMatch(ctx context.Context, cc records.Country, typ, query, method string) (records.Resource, bool, *records.Query, error) {
	params, err := parseQuery(query)
	if err != nil {
		return records.Resource{}, false, nil, &records.FieldError{Field: "url", Reason: "not a query string", Kind: records.ErrMalformed}
	}
	for k := range params {
		if strings.HasPrefix(k, "_format") || k == "_pretty" {
			params.Del(k)
		}
	}
	if len(params) == 0 {
		return records.Resource{}, false, nil, &records.FieldError{Field: "url", Kind: records.ErrMalformed,
			Reason: "conditional " + method + " needs search parameters, e.g. ?identifier=system|value"}
	}
	return s.matchOne(ctx, cc, typ, params, "conditional "+method)
}
