package api

import (
	"net/http"
	"strings"
	"time"

	"contigo/fhir"
	"contigo/records"
)

// notModified reports whether a conditional read (GET or HEAD) may be
// answered 304 because the client's copy of r is current: If-None-Match
// names r's version (W/"3", "3" or *, in a comma separated list), or, when
// there is no If-None-Match, If-Modified-Since is not before r's last
// update (to the second, the precision of an HTTP date).
func notModified(req *http.Request, r records.Resource) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	if inm := req.Header.Get("If-None-Match"); inm != "" {
		for tag := range strings.SplitSeq(inm, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return true
			}
			if v, err := fhir.ParseETag(tag); err == nil && v == r.Version {
				return true
			}
		}
		return false
	}
	if ims := req.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !r.Updated.Truncate(time.Second).After(t)
	}
	return false
}
