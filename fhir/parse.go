package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// resourceTypes maps each served resource type to samply's struct.
var resourceTypes = map[string]reflect.Type{
	"Patient":                  reflect.TypeFor[r4.Patient](),
	"Encounter":                reflect.TypeFor[r4.Encounter](),
	"Observation":              reflect.TypeFor[r4.Observation](),
	"Condition":                reflect.TypeFor[r4.Condition](),
	"EpisodeOfCare":            reflect.TypeFor[r4.EpisodeOfCare](),
	"Procedure":                reflect.TypeFor[r4.Procedure](),
	"MedicationAdministration": reflect.TypeFor[r4.MedicationAdministration](),
	"Flag":                     reflect.TypeFor[r4.Flag](),
	"Consent":                  reflect.TypeFor[r4.Consent](),
}

// writableTypes lists the writable resource types, sorted.
var writableTypes = func() []string {
	var out []string
	for t := range resourceTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}()

// Writable reports whether resources of type typ can be created and updated.
func Writable(typ string) bool { _, ok := resourceTypes[typ]; return ok }

// Readable reports whether resources of type typ are served (Writable types
// plus AuditEvent).
func Readable(typ string) bool { return Writable(typ) || typ == "AuditEvent" }

// Parse reads one FHIR resource of type wantType ("" accepts any writable
// type) from body, validates it, and returns it with its Keys and canonical
// Body (no id or authoritative meta). ID is the body's id, if any. now is
// the clock for the future-date rules. Errors are *records.FieldError of
// kind records.ErrMalformed or records.ErrInvalid (see the package doc).
func Parse(body []byte, wantType string, now time.Time) (records.Resource, error) {
	r, _, err := parse(body, wantType, now, false)
	return r, err
}

// decodeJSON decodes one JSON value with numbers kept as text, strictly
// (CheckJSON); a syntax error names its byte offset.
func decodeJSON(body []byte, path string) (any, error) {
	if err := CheckJSON(body, path); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			return nil, malformedAt(path, "malformed JSON at byte offset %d: %v", se.Offset, se)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, malformedAt(path, "malformed JSON: unexpected end of input at byte offset %d", len(body))
		}
		return nil, malformedAt(path, "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformedAt(path, "malformed JSON: data after the resource at byte offset %d", dec.InputOffset())
	}
	return v, nil
}

// parse does Parse; in a Bundle (bundled) a reference may also be a
// urn:uuid. It returns the decoded tree too.
func parse(body []byte, wantType string, now time.Time, bundled bool) (records.Resource, map[string]any, error) {
	root := wantType
	if root == "" {
		root = "Resource"
	}
	v, err := decodeJSON(body, root)
	if err != nil {
		return records.Resource{}, nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return records.Resource{}, nil, malformedAt(root, "want a JSON object, got %s", jsonKind(v))
	}
	typ, err := resourceTypeOf(m, wantType)
	if err != nil {
		return records.Resource{}, nil, err
	}
	p := &parser{typ: typ, now: now, bundled: bundled, keys: records.Keys{}}
	serr := walkObject(m, resourceTypes[typ], typ, typ, true)
	lerr := checkLengths(m, typ)
	if serr != nil || lerr != nil {
		// Report the clinical rules too, so that a client fixes every
		// field in one round trip; they run when the body still decodes
		// (a wrong JSON type stops them: its structure error says why).
		cerr := p.checkAll(body)
		if cerr != nil && errors.Is(cerr, records.ErrMalformed) {
			cerr = nil
		}
		return records.Resource{}, nil, joinErrs(serr, lerr, cerr)
	}
	if err := p.checkAll(body); err != nil {
		return records.Resource{}, nil, err
	}
	if typ == "Patient" {
		p.patientKeys(m)
	}
	r := records.Resource{Type: typ, Keys: p.keys}
	if id, ok := m["id"].(string); ok {
		if !validID(id) {
			return records.Resource{}, nil, invalidAt(typ+".id", "an id is 1-64 letters, digits, '-' and '.'")
		}
		r.ID = id
	}
	if r.Body, err = canonical(m); err != nil {
		return records.Resource{}, nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return r, m, nil
}

func resourceTypeOf(m map[string]any, wantType string) (string, error) {
	rt, ok := m["resourceType"]
	if !ok {
		return "", invalidAt("resourceType", "resourceType is missing")
	}
	typ, ok := rt.(string)
	if !ok {
		return "", malformedAt("resourceType", "want a string, got %s", jsonKind(rt))
	}
	switch {
	case typ == "AuditEvent":
		return "", invalidAt("resourceType", "AuditEvent is read-only: the server writes it")
	case !Writable(typ):
		return "", invalidAt("resourceType", "resource type %q is not supported here (supported: %s)", typ, strings.Join(writableTypes, ", "))
	case wantType != "" && typ != wantType:
		return "", invalidAt("resourceType", "resourceType %s does not match the %s endpoint", typ, wantType)
	}
	return typ, nil
}

// validID reports whether s is a FHIR id: [A-Za-z0-9\-\.]{1,64}.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// canonical encodes m as the stored Body: resourceType first, then meta
// (without versionId and lastUpdated) if anything is left of it, then the
// other elements in name order; no id. m is changed.
func canonical(m map[string]any) ([]byte, error) {
	typ, _ := m["resourceType"].(string)
	delete(m, "resourceType")
	delete(m, "id")
	meta, _ := m["meta"].(map[string]any)
	delete(m, "meta")
	if meta != nil {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
	}
	var buf bytes.Buffer
	buf.WriteString(`{"resourceType":`)
	writeJSON(&buf, typ)
	if len(meta) > 0 {
		buf.WriteString(`,"meta":`)
		if err := writeJSON(&buf, meta); err != nil {
			return nil, err
		}
	}
	if len(m) > 0 {
		buf.WriteByte(',')
		start := buf.Len()
		if err := writeJSON(&buf, m); err != nil {
			return nil, err
		}
		// drop the inner object's braces: {"a":1} -> "a":1
		b := buf.Bytes()
		copy(b[start:], b[start+1:])
		buf.Truncate(buf.Len() - 2)
	}
	buf.WriteByte('}')
	// restore m for the caller
	m["resourceType"] = typ
	if len(meta) > 0 {
		m["meta"] = meta
	}
	return buf.Bytes(), nil
}

// writeJSON appends v without a trailing newline and without HTML escaping.
func writeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}

// joinErrs joins the non-nil errors like joined: the error itself when
// there is one, as a FieldError stays a FieldError for its callers.
func joinErrs(errs ...error) error {
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return joined(out)
}
