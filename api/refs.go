package api

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"contigo/records"
)

// parseQuery parses a query string such as an If-None-Exist value, with or
// without a leading "Type?" or "?".
func parseQuery(q string) (url.Values, error) {
	if i := strings.IndexByte(q, '?'); i >= 0 {
		q = q[i+1:]
	}
	return url.ParseQuery(q)
}

// splitRef splits "Type/id".
func splitRef(ref string) (typ, id string, ok bool) {
	typ, id, ok = strings.Cut(ref, "/")
	return typ, id, ok && typ != "" && id != "" && !strings.Contains(id, "/")
}

// subjectPath is the FHIRPath of the element naming the Patient a resource
// of type typ is about.
func subjectPath(typ string) string {
	switch typ {
	case "Consent", "EpisodeOfCare":
		return typ + ".patient"
	}
	return typ + ".subject"
}

// referencePath returns the FHIRPath of the Reference in r whose reference
// is ref (e.g. "Observation.encounter", "Observation.hasMember[1]"), or the
// resource type if it cannot be found.
func referencePath(r records.Resource, ref string) string {
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return r.Type
	}
	if p, ok := findRef(v, ref, r.Type); ok {
		return p
	}
	return r.Type
}

func findRef(v any, ref, path string) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v["reference"].(string); ok && s == ref {
			return path, true
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if p, ok := findRef(v[k], ref, path+"."+k); ok {
				return p, true
			}
		}
	case []any:
		for i, e := range v {
			if p, ok := findRef(e, ref, path+"["+strconv.Itoa(i)+"]"); ok {
				return p, true
			}
		}
	}
	return "", false
}
