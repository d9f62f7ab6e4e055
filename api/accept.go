package api

import (
	"errors"

	"contigo/records"
)

// errNotAcceptable: the client accepts no representation this server
// produces (e.g. Accept: application/fhir+xml, _format=xml): 406.
var errNotAcceptable = errors.New("not acceptable")

// requireBodyID refuses a PUT whose resource has no id: R4 requires the
// id in the body to be the id in the URL (a different one is refused by
// update). 400, nothing stored.
func requireBodyID(res records.Resource) error {
	if res.ID == "" {
		return &records.FieldError{Field: res.Type + ".id", Reason: "an update needs the resource's id in the body, the same as in the URL", Kind: records.ErrMalformed}
	}
	return nil
}
