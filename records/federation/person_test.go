package federation

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFromPatientJSONFamilyParts reads the surnames of names whose
// "_family" holds the fathers-family and mothers-family extensions (the R4
// examples the fhir package tests with).
func TestFromPatientJSONFamilyParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []Name
	}{
		{"patient-spanish-surnames.json", []Name{{Given: []string{"María", "José"}, Family: []string{"Valle", "Gonzalez"}}}},
		{"patient-family-extensions-only.json", []Name{{Given: []string{"Rosa"}, Family: []string{"Quispe", "Mamani"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile("../../fhir/testdata/r4/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := FromPatientJSON(body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}
