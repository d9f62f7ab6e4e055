package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"contigo/web"
)

// appRoutes serves the health worker's app and the sector lead's dashboard
// (package web) under /app/. The files are public, like any web page; every
// datum they show comes from the authenticated API.
func (s *Server) appRoutes(e *echo.Echo) {
	h := echo.WrapHandler(web.Handler())
	e.GET("/app", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/app/") })
	e.GET("/app/*", h)
	e.HEAD("/app/*", h)
}
