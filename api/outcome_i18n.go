package api

import (
	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/i18n"
)

// localizeOutcome gives every issue of oo a details.text in the request's
// language (Accept-Language; Spanish by default), from the message
// catalogues: what went wrong, by issue type, and the offending field.
// diagnostics keeps the exact technical text, so clients and logs that
// read it see no change; the answer says its language in
// Content-Language.
func localizeOutcome(c echo.Context, oo *r4.OperationOutcome) {
	p := i18n.New(i18n.Match(c.Request().Header.Get("Accept-Language")))
	for i := range oo.Issue {
		is := &oo.Issue[i]
		key := "oo." + is.Code.Code()
		if !i18n.Has(p.Tag(), key) {
			key = "oo.processing"
		}
		text := p.T(key)
		if len(is.Expression) > 0 {
			text = p.T("oo.field", text, is.Expression[0])
		}
		if is.Details == nil {
			is.Details = &r4.CodeableConcept{}
		}
		is.Details.Text = &text
	}
	c.Response().Header().Set("Content-Language", p.Tag().String())
}
