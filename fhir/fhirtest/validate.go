package fhirtest

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaGz is fhir.schema.json of FHIR R4, gzipped (see README.md).
//
//go:embed fhir.schema.json.gz
var schemaGz []byte

// schemaID is the schema's own "id".
const schemaID = "http://hl7.org/fhir/json-schema/4.0"

// validator compiles the schema once, and sub-schemas per resource type
// on demand (for readable errors).
type validator struct {
	mu   sync.Mutex
	c    *jsonschema.Compiler
	root *jsonschema.Schema
	subs map[string]*jsonschema.Schema
}

var compiled = sync.OnceValues(func() (*validator, error) {
	zr, err := gzip.NewReader(bytes.NewReader(schemaGz))
	if err != nil {
		return nil, fmt.Errorf("open schema: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft6)
	if err := c.AddResource(schemaID, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	s, err := c.Compile(schemaID)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	return &validator{c: c, root: s, subs: map[string]*jsonschema.Schema{}}, nil
})

// sub returns the schema of one resource type, nil if there is none.
func (v *validator) sub(typ string) *jsonschema.Schema {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.subs[typ]; ok {
		return s
	}
	s, err := v.c.Compile(schemaID + "#/definitions/" + typ)
	if err != nil {
		s = nil
	}
	v.subs[typ] = s
	return s
}

// Check returns nil if body is valid FHIR R4 JSON by the official JSON
// Schema, or an error describing where it is not. Resources inside a
// Bundle are checked too.
func Check(body []byte) error {
	v, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	err = v.root.Validate(inst)
	if err == nil {
		return nil
	}
	// The root schema is a oneOf over every resource type: its error lists
	// all of them. The type's own schema says what is wrong.
	if m, ok := inst.(map[string]any); ok {
		if typ, ok := m["resourceType"].(string); ok && validTypeName(typ) {
			if s := v.sub(typ); s != nil {
				if serr := s.Validate(inst); serr != nil {
					return serr
				}
			}
		}
	}
	return err
}

func validTypeName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// Validate fails tb if body is not valid FHIR R4 JSON by the official JSON
// Schema (see Check).
func Validate(tb testing.TB, body []byte) {
	tb.Helper()
	if err := Check(body); err != nil {
		tb.Errorf("invalid FHIR R4 JSON: %v\nbody: %s", err, body)
	}
}
