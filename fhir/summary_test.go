package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"contigo/fhir/fhirtest"
	"contigo/records"
)

var summaryOpts = SummaryOptions{Base: "https://node.example/fhir", Country: "CO", Version: "1.2.3", Now: testNow}

// A record of a Patient, an Encounter, a weight in it and an active and
// a resolved Condition: a valid document whose problems hold the active
// Condition, past illness the resolved one, vital signs the weight, and
// which carries the Encounter the weight refers to (but no section names).
func TestSummaryDocument(t *testing.T) {
	resolved := strings.Replace(strings.Replace(conditionJSON, `"active"`, `"resolved"`, 1), `"onsetDateTime"`, `"abatementDateTime":"2026-01-12","onsetDateTime"`, 1)
	rs := []records.Resource{
		stored(t, patientJSON, "p1", 1),
		stored(t, encounterJSON, "p1.abc", 1),
		stored(t, weightJSON, "p1.w", 1),
		stored(t, conditionJSON, "p1.c1", 1),
		stored(t, resolved, "p1.c2", 1),
	}
	body, included, err := Summary(rs, "p1", summaryOpts)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.Validate(t, body)
	fhirtest.CheckIPS(t, body)
	if len(included) != 5 {
		t.Errorf("included %d resources, want all 5", len(included))
	}
	var d struct {
		Timestamp string
		Entry     []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ResourceType string
				Version      []struct{ Value string }
				Section      []struct {
					Code  struct{ Coding []struct{ Code string } }
					Entry []struct{ Reference string }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Timestamp != "2026-01-15T12:00:00Z" {
		t.Errorf("timestamp %s", d.Timestamp)
	}
	got := map[string]string{}
	for _, s := range d.Entry[0].Resource.Section {
		var refs []string
		for _, e := range s.Entry {
			refs = append(refs, strings.TrimPrefix(e.Reference, summaryOpts.Base+"/"))
		}
		got[s.Code.Coding[0].Code] = strings.Join(refs, ",")
	}
	want := map[string]string{SectionMedications: "", SectionAllergies: "", SectionProblems: "Condition/p1.c1",
		SectionPastIllness: "Condition/p1.c2", SectionVitalSigns: "Observation/p1.w"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sections %v, want %v", got, want)
	}
	if d.Entry[2].Resource.ResourceType != "Device" || d.Entry[2].Resource.Version[0].Value != "1.2.3" {
		t.Errorf("author: %+v", d.Entry[2].Resource)
	}
	if !strings.Contains(string(body), `"fullUrl":"https://node.example/fhir/Encounter/p1.abc"`) {
		t.Errorf("the Encounter the weight refers to is not in the document")
	}
}

// Without the Patient (not in the record, or deleted) there is no summary.
func TestSummaryNoPatient(t *testing.T) {
	gone := stored(t, patientJSON, "p1", 2)
	gone.Deleted = true
	for _, rs := range [][]records.Resource{nil, {stored(t, weightJSON, "p1.w", 1)}, {gone}} {
		if _, _, err := Summary(rs, "p1", summaryOpts); !errors.Is(err, records.ErrNotFound) {
			t.Errorf("Summary of %d resources: %v, want ErrNotFound", len(rs), err)
		}
	}
}

// IPSProblems finds what breaks the IPS rules in a document that the R4
// JSON schema accepts.
func TestIPSProblems(t *testing.T) {
	body, _, err := Summary([]records.Resource{stored(t, patientJSON, "p1", 1), stored(t, conditionJSON, "p1.c1", 1)}, "p1", summaryOpts)
	if err != nil {
		t.Fatal(err)
	}
	if p := fhirtest.IPSProblems(body); p != nil {
		t.Fatalf("valid summary: %q", p)
	}
	for _, tt := range []struct{ name, old, new, want string }{
		{"no identifier", `"identifier":{"system":"urn:ietf:rfc:3986"`, `"id":"x","meta":{"source":"urn:ietf:rfc:3986"`, "Bundle.identifier"},
		{"dangling entry", `"reference":"https://node.example/fhir/Condition/p1.c1"`, `"reference":"https://node.example/fhir/Condition/nope"`, "not in the Bundle"},
		{"no problems", `"code":"11450-4"`, `"code":"11348-0"`, "required section 11450-4 missing"},
		{"bad narrative", `<td>active</td>`, `<td>active</tr>`, "well-formed XHTML"},
		{"not final", `"status":"final"`, `"status":"preliminary"`, "Composition.status"},
		{"wrong type", `"code":"60591-5"`, `"code":"34133-9"`, "60591-5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			broken := strings.Replace(string(body), tt.old, tt.new, 1)
			if broken == string(body) {
				t.Fatalf("%q not in the document", tt.old)
			}
			if p := fhirtest.IPSProblems([]byte(broken)); !strings.Contains(fmt.Sprint(p), tt.want) {
				t.Errorf("problems %q, want one saying %q", p, tt.want)
			}
		})
	}
}

// BenchmarkSummary builds the summary of a record of 100 resources.
func BenchmarkSummary(b *testing.B) {
	rs := []records.Resource{stored(b, patientJSON, "p1", 1)}
	for i := range 99 {
		body := encounterJSON
		switch i % 3 {
		case 1:
			body = weightJSON
		case 2:
			body = conditionJSON
		}
		rs = append(rs, stored(b, body, fmt.Sprintf("p1.%d", i), 1))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Summary(rs, "p1", summaryOpts); err != nil {
			b.Fatal(err)
		}
	}
}

// refsOf finds relative references only: not absolute URLs, urn:uuid, or
// text that looks like a reference inside a string.
func TestRefsOf(t *testing.T) {
	body := `{"a":{"reference":"Patient/p1"},"note":[{"text":"\"reference\":\"Patient/x\" \\"}],` +
		`"b":[{"reference":"https://x.example/fhir/Patient/p2"},{"reference":"urn:uuid:1"},{"reference":"Encounter/p1.\u00e9\"q"}],"c":{"reference":"Observation/p1.w"}}`
	if !json.Valid([]byte(body)) {
		t.Fatal("test body is not JSON")
	}
	got := fmt.Sprint(refsOf([]byte(body)))
	if want := `[Patient/p1 Encounter/p1.é"q Observation/p1.w]`; got != want {
		t.Errorf("refsOf = %s, want %s", got, want)
	}
}
