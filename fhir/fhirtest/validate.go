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

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
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
	return s, nil
})

// Check returns nil if body is valid FHIR R4 JSON by the official JSON
// Schema, or an error describing where it is not. Resources inside a
// Bundle are checked too.
func Check(body []byte) error {
	s, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(inst)
}

// Validate fails tb if body is not valid FHIR R4 JSON by the official JSON
// Schema (see Check).
func Validate(tb testing.TB, body []byte) {
	tb.Helper()
	if err := Check(body); err != nil {
		tb.Errorf("invalid FHIR R4 JSON: %v\nbody: %s", err, body)
	}
}
