package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// handleRead serves GET /fhir/:type/:id.
func (s *Server) handleRead(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := readableType(typ); err != nil {
		return err
	}
	r, err := s.records.Read(c.Request().Context(), country(c), typ, id)
	if err != nil {
		return err
	}
	return writeRead(c, r)
}

// handleVRead serves GET /fhir/:type/:id/_history/:vid.
func (s *Server) handleVRead(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := readableType(typ); err != nil {
		return err
	}
	v, err := strconv.ParseInt(c.Param("vid"), 10, 64)
	if err != nil || v < 1 {
		return errorf(records.ErrNotFound, "version %q of %s/%s", c.Param("vid"), typ, id)
	}
	r, err := s.records.VRead(c.Request().Context(), country(c), typ, id, v)
	if err != nil {
		return err
	}
	return writeRead(c, r)
}

// handleHistory serves GET /fhir/:type/:id/_history, newest first.
func (s *Server) handleHistory(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := readableType(typ); err != nil {
		return err
	}
	versions, err := s.records.History(c.Request().Context(), country(c), typ, id)
	if err != nil {
		return err
	}
	b, err := fhir.HistoryBundle(base(c), typ+"/"+id+"/_history", versions)
	if err != nil {
		return err
	}
	return writeBundle(c, http.StatusOK, b)
}

// handleCreate serves POST /fhir/:type, with If-None-Exist conditional
// create: 201 with the new resource, or 200 with the one existing match.
func (s *Server) handleCreate(c echo.Context) error {
	typ := c.Param("type")
	res, err := s.parseWritable(c, typ, "created")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var (
		existing records.Resource
		found    bool
		unless   *records.Query
	)
	if q := c.Request().Header.Get("If-None-Exist"); q != "" {
		if existing, found, unless, err = s.conditional(ctx, country(c), typ, q); err != nil {
			return err
		}
	}
	var r records.Resource
	if !found {
		r, err = s.createUnless(ctx, country(c), res, auditOf(c), unless)
		var m *matchedError
		if found = errors.As(err, &m); found {
			existing = m.r
		} else if err != nil {
			return err
		}
	}
	if found {
		a := auditOf(c)
		a.resourceID, a.personID = existing.ID, records.PersonOf(typ, existing.ID)
		return writeResource(c, http.StatusOK, existing)
	}
	c.Response().Header().Set(echo.HeaderLocation, base(c)+"/"+r.Type+"/"+r.ID+"/_history/"+strconv.FormatInt(r.Version, 10))
	return writeResource(c, http.StatusCreated, r)
}

// create writes a new resource parsed from a request: a Patient starts a
// new record; anything else joins the record of its subject, which must
// exist, as must everything else it references.
func (s *Server) create(ctx context.Context, cc records.Country, res records.Resource, a *auditInfo) (records.Resource, error) {
	return s.createUnless(ctx, cc, res, a, nil)
}

// firstMatch returns the first of a record's current resources that the
// search q matches.
func firstMatch(latest []records.Resource, q *records.Query) (records.Resource, bool) {
	for _, r := range latest {
		if r.Type == q.Type && !r.Deleted && records.Match(r, q.Conds) {
			return r, true
		}
	}
	return records.Resource{}, false
}

// matchedError is createUnless's answer when the record, as its write read
// it, holds a resource its condition matches: that one, not a new one.
type matchedError struct{ r records.Resource }

func (e *matchedError) Error() string {
	return e.r.Type + "/" + e.r.ID + " matches the conditional create"
}

// createUnless is create, unless the record the resource joins holds a
// resource that q (a conditional create's search, nil for none) matches
// when the write reads it: then it returns a *matchedError with that
// resource. The search that ran before is not enough: two conditional
// creates at once (a tablet's retry while its first try is still being
// written, on another replica) both found nothing, and both created. Both
// write the same record, so one commits first and the other's write
// reads the record again, finds the first's resource and stores nothing.
// A new Patient starts a record of its own: its identifier's claim keeps
// it unique instead.
func (s *Server) createUnless(ctx context.Context, cc records.Country, res records.Resource, a *auditInfo, q *records.Query) (records.Resource, error) {
	if err := refuseServerOwned(res, "", ""); err != nil {
		return records.Resource{}, err
	}
	w := records.Write{}
	if res.Type == "Patient" {
		res.ID = records.NewID()
		w.PersonID, w.NewPerson = res.ID, true
	} else {
		w.PersonID = fhir.Subject(res)
		if w.PersonID == "" {
			return records.Resource{}, &records.FieldError{Field: subjectPath(res.Type), Reason: "a reference to the Patient this resource is about is required"}
		}
		res.ID = records.NewResourceID(w.PersonID)
	}
	a.resourceType, a.resourceID, a.personID = res.Type, res.ID, w.PersonID
	if err := s.checkReferences(ctx, cc, []records.Resource{res}, nil, nil); err != nil {
		return records.Resource{}, err
	}
	w.Changes = []records.Change{{Method: "create", Resource: res}}
	if q != nil && !w.NewPerson {
		w.Guard = func(before *records.Person) error {
			if r, ok := firstMatch(before.Latest(), q); ok {
				return &matchedError{r: r}
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

// conditional runs the If-None-Exist search q on typ: found with the one
// match, not found with none, 412 with several. The query it ran is for
// createUnless.
func (s *Server) conditional(ctx context.Context, cc records.Country, typ, q string) (records.Resource, bool, *records.Query, error) {
	params, err := parseQuery(q)
	if err != nil {
		return records.Resource{}, false, nil, &records.FieldError{Field: "If-None-Exist", Reason: "not a query string", Kind: records.ErrMalformed}
	}
	return s.matchOne(ctx, cc, typ, params, "If-None-Exist")
}

// matchOne runs the search params of a conditional interaction (what names
// it in errors) on typ: found with the one match, not found with none,
// 412 with several. It returns the query it ran.
func (s *Server) matchOne(ctx context.Context, cc records.Country, typ string, params url.Values, what string) (records.Resource, bool, *records.Query, error) {
	req, err := fhir.ParseSearch(typ, params)
	if err != nil {
		return records.Resource{}, false, nil, err
	}
	if err := s.resolveChains(ctx, cc, &req); err != nil {
		return records.Resource{}, false, nil, err
	}
	req.Query.Count = 2
	page, err := s.search(ctx, cc, req.Query, false)
	if err != nil {
		return records.Resource{}, false, nil, err
	}
	switch len(page.Resources) {
	case 0:
		return records.Resource{}, false, &req.Query, nil
	case 1:
		return page.Resources[0], true, &req.Query, nil
	}
	return records.Resource{}, false, nil, errorf(errPreconditionFailed, "%s matches several %s resources: make the search select one", what, typ)
}

// handleUpdate serves PUT /fhir/:type/:id: a new version of an existing
// resource (no update-as-create), under If-Match when sent.
func (s *Server) handleUpdate(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	res, err := s.parseWritable(c, typ, "updated")
	if err != nil {
		return err
	}
	if err := requireBodyID(res); err != nil {
		return err
	}
	var ifMatch int64
	if h := c.Request().Header.Get("If-Match"); h != "" {
		if ifMatch, err = fhir.ParseETag(h); err != nil {
			return &records.FieldError{Field: "If-Match", Reason: "want a version ETag such as W/\"3\"", Kind: records.ErrMalformed}
		}
	}
	r, err := s.update(c.Request().Context(), country(c), res, id, ifMatch)
	if err != nil {
		return err
	}
	return writeResource(c, http.StatusOK, r)
}

// update writes a new version of typ/id from res.
func (s *Server) update(ctx context.Context, cc records.Country, res records.Resource, id string, ifMatch int64) (records.Resource, error) {
	if res.ID != "" && res.ID != id {
		return records.Resource{}, &records.FieldError{Field: res.Type + ".id", Reason: "the id in the body does not match the id in the URL", Kind: records.ErrMalformed}
	}
	if err := refuseServerOwned(res, id, ""); err != nil {
		return records.Resource{}, err
	}
	res.ID = id
	personID := records.PersonOf(res.Type, id)
	if personID == "" {
		return records.Resource{}, errorf(records.ErrNotFound, "%s/%s", res.Type, id)
	}
	if res.Type != "Patient" && fhir.Subject(res) != personID {
		return records.Resource{}, &records.FieldError{Field: subjectPath(res.Type), Reason: "a resource cannot move to another Patient's record"}
	}
	if err := s.checkReferences(ctx, cc, []records.Resource{res}, nil, nil); err != nil {
		// A resource of a person that does not exist is not there to update.
		if _, rerr := s.records.Read(ctx, cc, res.Type, id); rerr != nil {
			return records.Resource{}, rerr
		}
		return records.Resource{}, err
	}
	out, err := s.records.Write(ctx, cc, records.Write{
		PersonID: personID,
		Changes:  []records.Change{{Method: "update", Resource: res, IfMatch: ifMatch}},
	})
	if err != nil {
		return records.Resource{}, err
	}
	return out.Applied[0], nil
}

// checkReferences checks that every literal reference in rs points at a
// current resource on this node, or at one of pending ("Type/id" written in
// the same request): 422 with the reference's location otherwise.
//
// paths, if not nil, holds the FHIRPath of each resource in its request
// (e.g. "Bundle.entry[2].resource"), to locate errors; the resource type
// otherwise.
func (s *Server) checkReferences(ctx context.Context, cc records.Country, rs []records.Resource, pending map[string]bool, paths []string) error {
	people := map[string]*records.Person{}
	for i, r := range rs {
		for _, ref := range fhir.References(r) {
			if pending[ref] {
				continue
			}
			typ, id, ok := splitRef(ref)
			pid := records.PersonOf(typ, id)
			if ok && pid != "" {
				p, seen := people[pid]
				if !seen {
					var err error
					p, err = s.records.Person(ctx, cc, pid)
					if err != nil && !errors.Is(err, records.ErrNotFound) {
						return err
					}
					people[pid] = p
				}
				if p != nil {
					if cur, ok := p.Current(typ, id); ok && !cur.Deleted {
						continue
					}
				}
			}
			field := referencePath(r, ref)
			if paths != nil {
				field = paths[i] + strings.TrimPrefix(field, r.Type)
			}
			return &records.FieldError{Field: field, Reason: "reference " + ref + " points at nothing on this node"}
		}
	}
	return nil
}

// parseWritable reads the request's body as a resource of typ, which must
// be a type clients may write (404 otherwise: verb says what was refused).
func (s *Server) parseWritable(c echo.Context, typ, verb string) (records.Resource, error) {
	if !fhir.Writable(typ) {
		return records.Resource{}, errorf(records.ErrNotFound, "resource type %q cannot be %s here", typ, verb)
	}
	body, err := s.readBody(c)
	if err != nil {
		return records.Resource{}, err
	}
	res, err := fhir.Parse(body, typ, s.now())
	if err != nil {
		return records.Resource{}, err // a FieldError, answered as it is
	}
	return res, nil
}
