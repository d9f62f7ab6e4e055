package api

import (
	"github.com/labstack/echo/v4"

	"contigo/records"
)

func notYet(echo.Context) error { return errorf(records.ErrNotSupported, "not implemented yet") }

func (s *Server) handleMetadata(c echo.Context) error    { return notYet(c) }
func (s *Server) handleBundle(c echo.Context) error      { return notYet(c) }
func (s *Server) handleEverything(c echo.Context) error  { return notYet(c) }
func (s *Server) handleAuditSearch(c echo.Context) error { return notYet(c) }
func (s *Server) handleAuditRead(c echo.Context) error   { return notYet(c) }
func (s *Server) handleSearch(c echo.Context) error      { return notYet(c) }
func (s *Server) handleTypeHistory(c echo.Context) error { return notYet(c) }
func (s *Server) handleCreate(c echo.Context) error      { return notYet(c) }
func (s *Server) handleRead(c echo.Context) error        { return notYet(c) }
func (s *Server) handleUpdate(c echo.Context) error      { return notYet(c) }
func (s *Server) handleHistory(c echo.Context) error     { return notYet(c) }
func (s *Server) handleVRead(c echo.Context) error       { return notYet(c) }
