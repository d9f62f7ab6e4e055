package api

import (
	"mime"
	"net/http"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// jsonPatchType is the media type of a JSON Patch (RFC 6902) body.
const jsonPatchType = "application/json-patch+json"

// handlePatch serves PATCH /fhir/:type/:id with a JSON Patch body: the
// patch applies to the current version and the result is validated and
// written exactly like a PUT of it (422 listing every broken rule; nothing
// changes). The write is conditional on the version patched (the If-Match
// version when sent, else the one read), so a concurrent change is 412
// rather than silently merged. Other patch formats (FHIRPath Patch, XML
// Patch) are 415.
func (s *Server) handlePatch(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if !fhir.Writable(typ) {
		return errorf(records.ErrNotFound, "resource type %q cannot be patched here", typ)
	}
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != jsonPatchType {
		return errorf(errUnsupportedMedia, "PATCH takes a JSON Patch (Content-Type %s); FHIRPath Patch and XML Patch are not supported", jsonPatchType)
	}
	ifMatch, err := ifMatchOf(c)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	// A lenient decoder would apply something other than what was sent:
	// invalid UTF-8 replaced, a repeated key's last value.
	if err := fhir.CheckJSON(body, "body"); err != nil {
		return err
	}
	patch, err := jsonpatch.DecodePatch(body)
	if err != nil {
		return &records.FieldError{Field: "body", Reason: "not a JSON Patch document: " + err.Error(), Kind: records.ErrMalformed}
	}
	ctx, cc := c.Request().Context(), country(c)
	cur, err := s.records.Read(ctx, cc, typ, id)
	if err != nil {
		return err
	}
	if ifMatch != 0 && ifMatch != cur.Version {
		return errorf(records.ErrVersionMismatch, "%s/%s is at version %d, not %d", typ, id, cur.Version, ifMatch)
	}
	current, err := fhir.Render(cur)
	if err != nil {
		return err
	}
	patched, err := patch.Apply(current)
	if err != nil {
		return &records.FieldError{Field: "body", Reason: "the patch does not apply to " + typ + "/" + id + ": " + err.Error()}
	}
	res, err := fhir.Parse(patched, typ, s.now())
	if err != nil {
		return err
	}
	a := auditOf(c)
	a.resourceType, a.resourceID, a.personID = typ, id, records.PersonOf(typ, id)
	r, err := s.update(ctx, cc, res, id, cur.Version)
	if err != nil {
		return err
	}
	return writeResource(c, http.StatusOK, r)
}
