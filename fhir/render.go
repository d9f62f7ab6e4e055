package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"contigo/records"
)

// Render returns the FHIR JSON of r with id, meta.versionId and
// meta.lastUpdated set from r. It returns nil, nil for a deleted version,
// and an error if Body is not a JSON object.
func Render(r records.Resource) ([]byte, error) {
	if r.Deleted {
		return nil, nil
	}
	prefix := `{"resourceType":` + strconv.Quote(r.Type)
	// A Body that Parse wrote starts with its resourceType (and is valid
	// JSON: scanning it again would be a third of the cost of rendering a
	// Bundle); anything else is decoded and re-encoded.
	rest, ok := bytes.CutPrefix(r.Body, []byte(prefix))
	if !ok || !bytes.HasSuffix(rest, []byte("}")) || (len(rest) > 1 && rest[0] != ',') {
		return renderSlow(r)
	}
	var buf bytes.Buffer
	buf.Grow(len(r.Body) + 100)
	buf.WriteString(prefix)
	if r.ID != "" {
		buf.WriteString(`,"id":`)
		writeJSON(&buf, r.ID)
	}
	var meta []string
	if r.Version > 0 {
		meta = append(meta, `"versionId":"`+strconv.FormatInt(r.Version, 10)+`"`)
	}
	if !r.Updated.IsZero() {
		meta = append(meta, `"lastUpdated":"`+r.Updated.UTC().Format(TimeFormat)+`"`)
	}
	rest, hasMeta := bytes.CutPrefix(rest, []byte(`,"meta":{`))
	switch {
	case hasMeta:
		// canonical put the rest of meta first: merge ours into it
		buf.WriteString(`,"meta":{`)
		for _, m := range meta {
			buf.WriteString(m)
			buf.WriteByte(',')
		}
	case len(meta) > 0:
		buf.WriteString(`,"meta":{` + strings.Join(meta, ",") + `}`)
	}
	buf.Write(rest)
	return buf.Bytes(), nil
}

// renderSlow renders a Body that canonical did not write.
func renderSlow(r records.Resource) ([]byte, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("render %s/%s: body is not a JSON object", r.Type, r.ID)
	}
	b, err := canonical(m)
	if err != nil {
		return nil, fmt.Errorf("render %s/%s: %w", r.Type, r.ID, err)
	}
	r.Body = b
	if !bytes.HasPrefix(b, []byte(`{"resourceType":`+strconv.Quote(r.Type))) {
		return nil, fmt.Errorf("render %s/%s: body has another resourceType", r.Type, r.ID)
	}
	return Render(r)
}

// ETag returns the weak ETag of a version: W/"3".
func ETag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ParseETag reads an ETag or If-Match value (W/"3", "3" or 3) into a
// version; records.ErrMalformed if it is none of those or not positive.
func ParseETag(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(t, "W/")
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("etag %q: want W/\"<version>\": %w", s, records.ErrMalformed)
	}
	return v, nil
}

// Subject returns the id of the person r is about: r's own id for a
// Patient, the id in its subject or patient reference otherwise, "" if none
// (or if the reference is still a urn:uuid).
func Subject(r records.Resource) string {
	if r.Type == "Patient" {
		return r.ID
	}
	for _, s := range r.Keys["subject"] {
		if id, ok := strings.CutPrefix(s, "Patient/"); ok {
			return id
		}
	}
	return ""
}

// References returns every literal relative reference in r's body
// ("Type/id"), sorted and without duplicates, for the caller to check that
// each points at something. urn:uuid, absolute and fragment references are
// left out.
func References(r records.Resource) []string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil
	}
	var out []string
	eachReference(v, r.Type, func(path, ref string) string {
		if typ, id, ok := strings.Cut(ref, "/"); ok && isTypeName(typ) && validID(id) {
			out = append(out, ref)
		}
		return ref
	})
	slices.Sort(out)
	return slices.Compact(out)
}

func isTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// eachReference calls f for every Reference.reference string in the JSON
// tree v (whose FHIRPath is path) and stores what f returns in its place.
// A Reference is recognised as an object whose "reference" is a string.
func eachReference(v any, path string, f func(path, ref string) string) {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v["reference"].(string); ok {
			v["reference"] = f(path, s)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if k != "reference" {
				eachReference(v[k], path+"."+k, f)
			}
		}
	case []any:
		for i, e := range v {
			eachReference(e, fmt.Sprintf("%s[%d]", path, i), f)
		}
	}
}
