package fhirtest

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strings"
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

var compiled = sync.OnceValues(func() (*validator, error) { return compile(true) })

// compile compiles the schema; fast replaces its oneOf over every resource
// type by a dispatch on resourceType (see dispatchOnResourceType).
func compile(fast bool) (*validator, error) {
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
	addR401(doc)
	if fast {
		if err := dispatchOnResourceType(doc); err != nil {
			return nil, err
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft6)
	if fast {
		vocab, err := dispatchVocab()
		if err != nil {
			return nil, fmt.Errorf("dispatch vocabulary: %w", err)
		}
		c.RegisterVocabulary(vocab)
		c.AssertVocabs()
	}
	if err := c.AddResource(schemaID, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	s, err := c.Compile(schemaID)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	return &validator{c: c, root: s, subs: map[string]*jsonschema.Schema{}}, nil
}

// addR401 adds "4.0.1" beside "4.0.0" to every enum of FHIR versions
// (the fhirVersion elements of CapabilityStatement, StructureDefinition,
// OperationDefinition...). The schema file was published with R4 4.0.0;
// the schema HL7 published with the 4.0.1 technical correction lists
// 4.0.1 as well, and nothing else about the wire format changed.
func addR401(v any) {
	switch v := v.(type) {
	case map[string]any:
		if enum, ok := v["enum"].([]any); ok && slices.Contains(enum, any("4.0.0")) && !slices.Contains(enum, any("4.0.1")) {
			v["enum"] = append(enum, "4.0.1")
		}
		for _, x := range v {
			addR401(x)
		}
	case []any:
		for _, x := range v {
			addR401(x)
		}
	}
}

// dispatchOnResourceType rewrites the schema so that a resource is checked
// against its own type's definition only. The schema's root and its
// ResourceList (every Bundle entry, every contained resource) are a oneOf
// over all 146 resource definitions, so each resource is validated 146
// times: most of the time of validating a Bundle. Every one of those
// definitions requires resourceType and fixes it with a const equal to its
// name (TestDispatchEquivalent checks), so the oneOf holds exactly when the
// value is an object whose resourceType names one of them and that one
// definition holds. The rewrite says that with the standard keywords type,
// required and enum, plus the keyword resourceTypeDispatch (dispatchVocab)
// that validates the object against the definition its resourceType names.
func dispatchOnResourceType(doc any) error {
	root, ok := doc.(map[string]any)
	if !ok {
		return fmt.Errorf("schema is not an object")
	}
	defs, _ := root["definitions"].(map[string]any)
	list, _ := defs["ResourceList"].(map[string]any)
	oneOf, _ := list["oneOf"].([]any)
	if len(oneOf) == 0 {
		return fmt.Errorf("schema has no ResourceList.oneOf")
	}
	var names []any
	targets := map[string]any{}
	for _, b := range oneOf {
		ref, _ := b.(map[string]any)["$ref"].(string)
		name := strings.TrimPrefix(ref, "#/definitions/")
		names = append(names, name)
		targets[name] = map[string]any{"$ref": ref}
	}
	defs["ResourceList"] = map[string]any{
		"type":                 "object",
		"required":             []any{"resourceType"},
		"properties":           map[string]any{"resourceType": map[string]any{"enum": names}},
		"resourceTypeDispatch": targets,
	}
	delete(root, "oneOf")
	root["allOf"] = []any{map[string]any{"$ref": "#/definitions/ResourceList"}}
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	return nil
}

// dispatch is the compiled resourceTypeDispatch keyword.
type dispatch map[string]*jsonschema.Schema

// Validate validates v against the schema its resourceType names; other
// values are left to the enum beside the keyword.
func (d dispatch) Validate(ctx *jsonschema.ValidatorContext, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	typ, _ := obj["resourceType"].(string)
	if s := d[typ]; s != nil {
		if err := ctx.Validate(s, v, nil); err != nil {
			ctx.AddErr(err)
		}
	}
}

// dispatchVocab returns the vocabulary of resourceTypeDispatch: an object
// from resource type to schema.
func dispatchVocab() (*jsonschema.Vocabulary, error) {
	const url = "https://contigo.example/schema/resource-type-dispatch"
	meta, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"properties":{"resourceTypeDispatch":{"type":"object"}}}`))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, meta); err != nil {
		return nil, err
	}
	ms, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	return &jsonschema.Vocabulary{
		URL:        url,
		Schema:     ms,
		Subschemas: []jsonschema.SchemaPath{{jsonschema.Prop("resourceTypeDispatch"), jsonschema.AllProp{}}},
		Compile: func(ctx *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			targets, ok := obj["resourceTypeDispatch"].(map[string]any)
			if !ok {
				return nil, nil
			}
			d := dispatch{}
			for name := range targets {
				d[name] = ctx.Enqueue([]string{"resourceTypeDispatch", name})
			}
			return d, nil
		},
	}, nil
}

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
