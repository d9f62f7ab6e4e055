package fhir

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"contigo/fhir/fhirtest"
	"contigo/records"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// compareGolden checks got (indented) against testdata/name.golden, or
// rewrites it with -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	fhirtest.Validate(t, got)
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs from %s (run go test -update and review the diff):\n%s", name, path, buf.Bytes())
	}
}

func TestGolden(t *testing.T) {
	patient := stored(t, patientJSON, "p1", 2)
	weight := stored(t, weightJSON, "p1.o", 1)
	render := func(r records.Resource) []byte {
		b, err := Render(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	req, err := ParseSearch("Observation", mustQuery(t, "subject=Patient/p1&code=http://loinc.org|29463-7&_sort=-date&_count=1"))
	if err != nil {
		t.Fatal(err)
	}
	search, err := SearchBundle("https://node.example/countries/CO/fhir", req, records.Page{Resources: []records.Resource{weight}, Next: "c1", Total: 3})
	if err != nil {
		t.Fatal(err)
	}
	visit := parseVisit(t, visitJSON)
	var applied []records.Resource
	for _, e := range visit.Entries {
		r := e.Resource
		r.Version, r.Updated = 1, testNow
		applied = append(applied, r)
	}
	txn, err := TransactionResponse(visit, applied)
	if err != nil {
		t.Fatal(err)
	}
	_, oo := OperationOutcome(&records.FieldError{Field: "Observation.valueQuantity.code", Reason: "want the UCUM unit kg or g"}, "r-1")
	for name, got := range map[string][]byte{
		"patient":              render(patient),
		"observation":          render(weight),
		"searchset":            search,
		"transaction-response": txn,
		"operation-outcome":    oo,
		"capability-statement": CapabilityStatement("https://node.example/countries/CO/fhir", "", testNow),
	} {
		t.Run(name, func(t *testing.T) { compareGolden(t, name, got) })
	}
}
