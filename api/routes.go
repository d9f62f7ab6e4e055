package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// fhirRoutes registers the FHIR R4 REST API on g (/fhir or
// /countries/:cc/fhir). Every route but metadata needs a bearer token and is
// audited.
func (s *Server) fhirRoutes(g *echo.Group) {
	g.Use(s.authenticate, s.audit)
	g.GET("/metadata", s.handleMetadata)

	g.POST("", s.interaction("transaction", "E", permWrite, s.handleBundle))
	g.GET("/Patient/:id/$everything", s.interaction("everything", "R", permRead, s.handleEverything))
	g.GET("/AuditEvent", s.interaction("search-type", "R", permAudit, s.handleAuditSearch))
	g.GET("/AuditEvent/:id", s.interaction("read", "R", permAudit, s.handleAuditRead))

	g.GET("/:type", s.interaction("search-type", "R", permRead, s.handleSearch))
	g.POST("/:type/_search", s.interaction("search-type", "R", permRead, s.handleSearch))
	g.GET("/:type/_history", s.interaction("history-type", "R", permRead, s.handleTypeHistory))
	g.POST("/:type", s.interaction("create", "C", permWrite, s.handleCreate))
	g.GET("/:type/:id", s.interaction("read", "R", permRead, s.handleRead))
	g.PUT("/:type/:id", s.interaction("update", "U", permWrite, s.handleUpdate))
	g.GET("/:type/:id/_history", s.interaction("history-instance", "R", permRead, s.handleHistory))
	g.GET("/:type/:id/_history/:vid", s.interaction("vread", "R", permRead, s.handleVRead))
}

var _ = http.StatusOK
