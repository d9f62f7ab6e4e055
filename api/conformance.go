package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// conformanceRoutes registers read and search of the conformance
// resources (fhir.Conformance): public like metadata, so that a client or
// validator resolves a canonical URL without a token, and unaudited, as
// they hold no personal data.
func (s *Server) conformanceRoutes(add func(method, path string, h echo.HandlerFunc)) {
	for _, typ := range fhir.ConformanceTypes {
		add("GET", "/"+typ, s.handleConformanceSearch(typ))
		add("GET", "/"+typ+"/:id", s.handleConformanceRead(typ))
	}
}

// publicRoute reports whether the route template path needs no token: the
// CapabilityStatement and the conformance resources.
func publicRoute(path string) bool {
	if strings.HasSuffix(path, "/metadata") {
		return true
	}
	for _, typ := range fhir.ConformanceTypes {
		if strings.HasSuffix(path, "/fhir/"+typ) || strings.HasSuffix(path, "/fhir/"+typ+"/:id") {
			return true
		}
	}
	return false
}

// handleConformanceRead serves GET /fhir/{type}/{id} of a conformance resource.
func (s *Server) handleConformanceRead(typ string) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, ok := s.conf.Read(typ, c.Param("id"))
		if !ok {
			return errorf(records.ErrNotFound, "%s/%s", typ, c.Param("id"))
		}
		return writeBundle(c, http.StatusOK, b)
	}
}

// handleConformanceSearch serves GET /fhir/{type}[?url=]: every conformance
// resource of the type, or the one with that canonical URL.
func (s *Server) handleConformanceSearch(typ string) echo.HandlerFunc {
	return func(c echo.Context) error {
		for name := range c.QueryParams() {
			switch {
			case name == "url" && typ != "NamingSystem", name == "_format", name == "_count":
			default:
				return &records.FieldError{Field: name, Reason: "unknown search parameter for " + typ + " (supported: url)", Kind: records.ErrMalformed}
			}
		}
		found := s.conf.Search(typ, c.QueryParam("url"))
		entries := make([]searchEntry, len(found))
		for i, b := range found {
			var id struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(b, &id); err != nil {
				return err
			}
			entries[i] = searchEntry{FullURL: base(c) + "/" + typ + "/" + id.ID, Resource: b, Search: &entrySearch{Mode: "match"}}
		}
		return writeSearchset(c, base(c)+"/"+typ+"?"+c.QueryParams().Encode(), entries, int64(len(entries)), nil)
	}
}

// routedOperations returns the operations routed under /fhir.
func (s *Server) routedOperations() []fhir.Operation {
	var out []fhir.Operation
	for _, r := range s.e.Routes() {
		rest, ok := strings.CutPrefix(r.Path, "/fhir/")
		if !ok {
			continue
		}
		segs := strings.Split(rest, "/")
		last := segs[len(segs)-1]
		code, ok := strings.CutPrefix(last, "$")
		if !ok {
			continue
		}
		res := ""
		if len(segs) > 1 && segs[0] != "" && segs[0][0] >= 'A' && segs[0][0] <= 'Z' {
			res = segs[0]
		}
		out = append(out, fhir.Operation{Code: code, Resource: res})
	}
	return out
}

// origin returns the scheme and host of the request: the base of the
// token endpoints.
func origin(c echo.Context) string { return c.Scheme() + "://" + c.Request().Host }
