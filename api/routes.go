package api

import (
	"github.com/labstack/echo/v4"
)

// fhirRoutes registers the FHIR R4 REST API under prefix (/fhir or
// /countries/:cc/fhir) with mw in front of every route. Every route but
// metadata needs a bearer token and is audited. Middleware is per route,
// not per group, so that a known path with another method is 405 and an
// unknown path is 404 before any authentication. Searches run in the
// search lane (searchlane.go), after authentication; the other requests
// count as interactive while they run, which a search about to start
// waits for (foreground.go).
func (s *Server) fhirRoutes(e *echo.Echo, prefix string, mw ...echo.MiddlewareFunc) {
	mw = append(append([]echo.MiddlewareFunc{s.interactive}, mw...), s.authenticate, s.audit)
	add := func(method, path string, h echo.HandlerFunc) { e.Add(method, prefix+path, h, mw...) }
	add("GET", "/metadata", s.handleMetadata)

	add("POST", "", s.interaction("transaction", "E", permWrite, s.handleBundle))
	add("GET", "/Patient/:id/$everything", s.interaction("everything", "R", permRead, s.handleEverythingFederated))
	add("POST", "/Patient/:id/$everything", s.interaction("everything", "R", permRead, s.handleEverythingPost))
	add("GET", "/Patient/:id/$summary", s.interaction("summary", "R", permRead, s.handleSummary))
	add("POST", "/Patient/:id/$summary", s.interaction("summary", "R", permRead, s.handleSummaryPost))
	s.federationRoutes(add)
	s.chartRoutes(add)
	s.conformanceRoutes(add)
	s.bulkRoutes(add)
	add("GET", "/AuditEvent", s.interaction("search-type", "R", permAudit, s.searching(s.handleAuditSearch)))
	add("GET", "/AuditEvent/:id", s.interaction("read", "R", permAudit, s.handleAuditRead))

	add("GET", "/:type", s.interaction("search-type", "R", permRead, s.searching(s.handleSearchFederated)))
	add("POST", "/:type/_search", s.interaction("search-type", "R", permRead, s.searching(s.handleSearch)))
	add("GET", "/:type/_history", s.interaction("history-type", "R", permRead, s.searching(s.handleTypeHistory)))
	add("POST", "/:type", s.interaction("create", "C", permWrite, s.handleCreate))
	add("GET", "/:type/:id", s.interaction("read", "R", permRead, s.handleRead))
	add("PUT", "/:type/:id", s.interaction("update", "U", permWrite, s.handleUpdate))
	add("GET", "/:type/:id/:compartment", s.interaction("search-type", "R", permRead, s.searching(s.handleCompartment)))
	add("PUT", "/:type", s.interaction("update", "U", permWrite, s.handleConditionalUpdate))
	add("PATCH", "/:type/:id", s.interaction("patch", "U", permWrite, s.handlePatch))
	add("DELETE", "/:type/:id", s.interaction("delete", "D", permWrite, s.handleDelete))
	add("DELETE", "/:type", s.interaction("delete", "D", permWrite, s.handleConditionalDelete))
	add("GET", "/:type/:id/_history", s.interaction("history-instance", "R", permRead, s.handleHistory))
	add("GET", "/:type/:id/_history/:vid", s.interaction("vread", "R", permRead, s.handleVRead))
}
