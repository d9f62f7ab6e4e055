package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// corsAllowHeaders are the request headers a browser app may send.
var corsAllowHeaders = []string{
	echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderAccept, echo.HeaderContentEncoding,
	"If-Match", "If-None-Match", "If-None-Exist", "If-Modified-Since", "Prefer", echo.HeaderXRequestID,
}

// corsExposeHeaders are the response headers a browser app may read.
var corsExposeHeaders = []string{
	"ETag", echo.HeaderLocation, "Content-Location", echo.HeaderLastModified, echo.HeaderXRequestID,
}

// cors returns the CORS middleware for origins (Config.CORSOrigins), nil
// when there are none: then no CORS header is ever sent. A preflight
// OPTIONS is answered here, before any authentication.
func cors(origins []string) echo.MiddlewareFunc {
	if len(origins) == 0 {
		return nil
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:  origins,
		AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:  corsAllowHeaders,
		ExposeHeaders: corsExposeHeaders,
		MaxAge:        600,
	})
}
