package fhir

import (
	"fmt"
	"reflect"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// This file checks the "_element" siblings of primitive elements: in R4
// JSON a primitive's id and extensions travel in a sibling whose name is
// the element's with a leading underscore ("_family", "_birthDate"),
// an object {id, extension}, or for a repeating primitive an array of such
// objects or null, aligned with the values (and either array may hold
// null where the other has something). Source: FHIR R4 JSON format,
// http://hl7.org/fhir/R4/json.html#primitive.

var extensionType = reflect.TypeFor[r4.Extension]()

// isPrimitive reports whether t (a samply field type) holds a FHIR
// primitive, or a list of them when list.
func isPrimitive(t reflect.Type) (ok, list bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && t != rawMessageType {
		ok, _ := isPrimitive(t.Elem())
		return ok, true
	}
	switch {
	case t == rawMessageType:
		return false, false
	case t == numberType:
		return true, false
	case t.Kind() != reflect.Struct && reflect.PointerTo(t).Implements(unmarshalerT):
		return true, false
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int:
		return true, false
	}
	return false, false
}

// walkSibling checks the "_element" sibling v of the primitive element
// named base (of type t) in object m; path is the sibling's FHIRPath.
func walkSibling(m map[string]any, base string, t reflect.Type, v any, path string) error {
	prim, list := isPrimitive(t)
	if !prim {
		return invalidAt(path, "unknown element %q", "_"+base)
	}
	if !list {
		return walkElement(v, path)
	}
	a, ok := v.([]any)
	if !ok {
		return malformedAt(path, "want an array, got %s", jsonKind(v))
	}
	if len(a) == 0 {
		return invalidAt(path, "empty arrays are not allowed in FHIR JSON")
	}
	if vals, ok := m[base].([]any); ok && len(vals) != len(a) {
		return invalidAt(path, "want %d entries, one per value of %s, got %d", len(vals), base, len(a))
	}
	some := false
	for i, e := range a {
		if e == nil {
			continue
		}
		some = true
		if err := walkElement(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	if !some {
		return invalidAt(path, "an array of nulls is not allowed in FHIR JSON")
	}
	return nil
}

// walkElement checks one primitive's Element: an object with id and/or
// extension and nothing else.
func walkElement(v any, path string) error {
	e, ok := v.(map[string]any)
	if !ok {
		return malformedAt(path, "want an object with id or extension, got %s", jsonKind(v))
	}
	if len(e) == 0 {
		return invalidAt(path, "empty objects are not allowed in FHIR JSON")
	}
	for k, x := range e {
		switch k {
		case "id":
			s, ok := x.(string)
			if !ok {
				return malformedAt(path+".id", "want a string, got %s", jsonKind(x))
			}
			if strings.TrimSpace(s) == "" {
				return invalidAt(path+".id", "empty strings are not allowed in FHIR JSON")
			}
		case "extension":
			if err := walk(x, reflect.SliceOf(extensionType), path+".extension", "Extension"); err != nil {
				return err
			}
		default:
			return invalidAt(path+"."+k, "unknown element %q: a primitive's element holds only id and extension", k)
		}
	}
	return nil
}

// walkPrimitiveList checks the values of a repeating primitive whose
// "_element" sibling is sib: a value may be null where sib has an element.
func walkPrimitiveList(v, sib any, t reflect.Type, path, def string) error {
	a, ok := v.([]any)
	s, sok := sib.([]any)
	if !ok || !sok || len(a) != len(s) {
		return walk(v, t, path, def)
	}
	if len(a) == 0 {
		return invalidAt(path, "empty arrays are not allowed in FHIR JSON")
	}
	for i, e := range a {
		if e == nil {
			if s[i] == nil {
				return malformedAt(fmt.Sprintf("%s[%d]", path, i), "null is allowed only where %s has an element", "_"+path[strings.LastIndexByte(path, '.')+1:])
			}
			continue
		}
		if err := walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), def); err != nil {
			return err
		}
	}
	return nil
}
