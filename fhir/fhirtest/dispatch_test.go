package fhirtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestDispatchEquivalent checks the premise of dispatchOnResourceType and
// that the rewritten schema decides as the official one on samples.
func TestDispatchEquivalent(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(schemaGz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Definitions map[string]struct {
			Properties struct {
				ResourceType struct {
					Const string `json:"const"`
				} `json:"resourceType"`
			} `json:"properties"`
			Required []string `json:"required"`
			OneOf    []struct {
				Ref string `json:"$ref"`
			} `json:"oneOf"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	for _, b := range s.Definitions["ResourceList"].OneOf {
		name := b.Ref[len("#/definitions/"):]
		d := s.Definitions[name]
		if d.Properties.ResourceType.Const != name || len(d.Required) == 0 || d.Required[0] != "resourceType" && !contains(d.Required, "resourceType") {
			t.Errorf("%s: resourceType is not a required const of its name", name)
		}
	}

	official, err := compile(false)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"resourceType":"Patient","birthDate":"2020-01-02"}`,
		`{"resourceType":"Patient","birthDate":"2020-13-02"}`,
		`{"resourceType":"Nope"}`,
		`{"gender":"male"}`,
		`"Patient"`,
		`[]`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","gender":"male"}}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","gender":"boy"}}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Nope"}}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"gender":"male"}}]}`,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":"x"}]}`,
		`{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"final","code":{"text":"w"}}]}`,
		`{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"done","code":{"text":"w"}}]}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"w"},"foo":1}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		want, got := official.root.Validate(inst) == nil, fast.root.Validate(inst) == nil
		if got != want {
			t.Errorf("%s: valid = %v with the rewritten schema, %v with the official one", body, got, want)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
