package fhir

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

// TestParseKeepsPrimitiveElements parses faithful copies of R4 examples
// whose primitives carry "_element" siblings (patient-example.json from the
// R4 specification: _birthDate with patient-birthTime, a contact's _family
// with humanname-own-prefix; a Spanish name whose _family holds the
// fathers-family and mothers-family extensions) and checks that the stored
// Body keeps every sibling unchanged.
func TestParseKeepsPrimitiveElements(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/r4/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Parse(body, "Patient", testNow)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var in, stored map[string]any
			if err := json.Unmarshal(body, &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(r.Body, &stored); err != nil {
				t.Fatal(err)
			}
			delete(in, "id")
			if diff := cmp.Diff(in, stored); diff != "" {
				t.Errorf("stored body (-want +got):\n%s", diff)
			}
			rendered, err := Render(records.Resource{Type: "Patient", ID: r.ID, Body: r.Body})
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(rendered, "Patient", testNow)
			if err != nil {
				t.Fatalf("Parse(Render): %v", err)
			}
			if !bytes.Equal(again.Body, r.Body) {
				t.Errorf("round trip changed the body:\n%s\n%s", r.Body, again.Body)
			}
		})
	}
}

func TestParsePrimitiveElementErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field string
	}{
		{"sibling of a complex element", `{"resourceType":"Patient","_name":{"id":"x"}}`, "Patient._name"},
		{"sibling of nothing", `{"resourceType":"Patient","_nickname":{"id":"x"}}`, "Patient._nickname"},
		{"not an object", `{"resourceType":"Patient","birthDate":"2020-01-01","_birthDate":"x"}`, "Patient._birthDate"},
		{"empty", `{"resourceType":"Patient","_birthDate":{}}`, "Patient._birthDate"},
		{"other element", `{"resourceType":"Patient","_birthDate":{"value":"2020"}}`, "Patient._birthDate.value"},
		{"bad extension", `{"resourceType":"Patient","_birthDate":{"extension":[{"valueString":"x"}]}}`, "Patient._birthDate.extension[0].url"},
		{"misaligned list", `{"resourceType":"Patient","name":[{"given":["A","B"],"_given":[{"id":"g"}]}]}`, "Patient.name[0]._given"},
		{"null without element", `{"resourceType":"Patient","name":[{"given":["A",null],"_given":[{"id":"g"},null]}]}`, "Patient.name[0].given[1]"},
		{"only nulls", `{"resourceType":"Patient","name":[{"given":["A"],"_given":[null]}]}`, "Patient.name[0]._given"},
		{"null without sibling", `{"resourceType":"Patient","name":[{"given":["A",null]}]}`, "Patient.name[0].given[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.body), "Patient", testNow)
			fe, ok := err.(*records.FieldError)
			if !ok {
				t.Fatalf("got %v, want a FieldError", err)
			}
			if fe.Field != tt.field {
				t.Errorf("field: got %q, want %q (%v)", fe.Field, tt.field, fe)
			}
		})
	}
}

// TestParseFamilyPartsKeys checks that a name whose surnames are given only
// by the fathers-family and mothers-family extensions is found by them.
func TestParseFamilyPartsKeys(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/r4/patient-family-extensions-only.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(body, "Patient", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := records.Keys{"family": {"quispe", "mamani"}, "match": {"gf:rosa|kispe", "gf:rosa|mamani", "fp:kispe+mamani",
		"gi:rosa|q", "gi:rosa|m", "fd:kispe|2024-01-02", "fd:mamani|2024-01-02", "gd:rosa|2024-01-02", "fy:kispe|2024", "fy:mamani|2024"}}
	for k, vs := range want {
		if diff := cmp.Diff(vs, r.Keys[k]); diff != "" {
			t.Errorf("Keys[%s] (-want +got):\n%s", k, diff)
		}
	}
}
