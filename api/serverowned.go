package api

import (
	"strings"

	"contigo/fhir"
	"contigo/records"
)

// serverOwnedSystems are the code systems whose resources only the server
// mints: z-scores and nutrition alerts are derived from the measurements by
// the nutrition hook, never sent by a client.
var serverOwnedSystems = []string{fhir.AnthroSystem, fhir.AlertSystem}

// refuseServerOwned refuses a client write of res (typ/id, id empty for a
// create) that would create or change a server-derived resource: 403 for an
// id in the derived namespace ("<person>.n-..."), 422 for a resource coded
// in a server-owned code system. path locates res in its request, e.g.
// "Bundle.entry[2].resource"; the resource type when empty. Alerts and
// episodes change through /alerts and /episodes, which keep who and why.
func refuseServerOwned(res records.Resource, id, path string) error {
	if path == "" {
		path = res.Type
	}
	if fhir.IsDerived(id) {
		return &records.FieldError{
			Field:  path + ".id",
			Reason: res.Type + "/" + id + " is computed by the server from the measurements and cannot be written by a client; correct the measurements, or change alerts and episodes through /alerts and /episodes",
			Kind:   records.ErrForbidden,
		}
	}
	for _, c := range res.Keys["code"] {
		for _, sys := range serverOwnedSystems {
			if strings.HasPrefix(c, sys+"|") {
				return &records.FieldError{
					Field:  path + ".code.coding.system",
					Reason: "code system " + sys + " is reserved for results the server derives; a client cannot create or change them",
				}
			}
		}
	}
	return nil
}
