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
	if p := profilesOf(t, body); p["Condition/p1.c1"] != ProfileIPSCondition || p["Condition/p1.c2"] != ProfileIPSCondition ||
		p["Patient/p1"] != ProfileIPSPatient || p["Bundle"] != ProfileIPSBundle || p["Composition"] != ProfileIPSComposition || p["Observation/p1.w"] != "" {
		t.Errorf("profiles claimed: %v", p)
	}
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
	for _, code := range []string{SectionMedications, SectionAllergies} {
		if !strings.HasPrefix(got[code], "urn:uuid:") || strings.Contains(got[code], ",") {
			t.Errorf("section %s: %s, want one generated \"no information\" entry", code, got[code])
		}
		delete(got, code)
	}
	want := map[string]string{SectionProblems: "Condition/p1.c1",
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
		{"no Bundle profile", `"profile":["` + ProfileIPSBundle + `"]`, `"profile":[]`, "Bundle.meta.profile"},
		{"no Composition profile", `"profile":["` + ProfileIPSComposition + `"]`, `"profile":[]`, "Composition does not claim"},
		{"emptyReason", `"entry":[{"reference":"urn:uuid:`, `"emptyReason":{"text":"x"},"entry":[{"reference":"urn:uuid:`, "emptyReason"},
		{"empty required section", `"entry":[{"reference":"https://node.example/fhir/Condition/p1.c1"}]`, `"entry":[]`, "has no entry"},
		{"claimed Condition without clinicalStatus", `"clinicalStatus":{"coding":[{"code":"active","system":"http://terminology.hl7.org/CodeSystem/condition-clinical"}]},`, ``, "claims Condition-uv-ips but has no clinicalStatus"},
		{"Patient without birthDate", `"birthDate":"2023-05-04",`, ``, "claims Patient-uv-ips but has no birthDate"},
		{"Patient without a usable name", `{"text":"Pepe"}`, `{"use":"nickname"}`, "ips-pat-1"},
		{"absent statement without status", `"status":"unknown",`, ``, "claims MedicationStatement-uv-ips but has no status"},
		{"absent statement without effective", `,"effectivePeriod":{"extension":[{"url":"` + DataAbsentReasonURL + `","valueCode":"not-applicable"}]}`, ``, "has no effective[x]"},
		{"no-problem-info among the allergies", `"code":"no-allergy-info"`, `"code":"no-problem-info"`, "not for section 48765-2"},
		{"subject elsewhere", `"patient":{"reference":"https://node.example/fhir/Patient/p1"}`, `"patient":{"reference":"https://node.example/fhir/Patient/p9"}`, "is not the Patient in the Bundle"},
		{"unknown IPS profile", ProfileIPSCondition, ProfileIPSCondition + "-x", "does not know that profile"},
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

// profilesOf returns the IPS profile each resource of the document body
// claims, by "Type/id" (the Composition and the Bundle by their type; the
// generated resources by "Type/urn:uuid:...").
func profilesOf(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var d struct {
		Meta  struct{ Profile []string }
		Entry []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ResourceType, ID string
				Meta             struct{ Profile []string }
			}
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"Bundle": strings.Join(d.Meta.Profile, " ")}
	for _, e := range d.Entry {
		k := e.Resource.ResourceType + "/" + e.Resource.ID
		switch {
		case e.Resource.ResourceType == "Composition":
			k = "Composition"
		case strings.HasPrefix(e.FullURL, "urn:uuid:"):
			k = e.Resource.ResourceType + "/" + e.FullURL
		}
		out[k] = strings.Join(e.Resource.Meta.Profile, " ")
	}
	return out
}

// entryOf returns the resource of the document entry at fullUrl u, decoded.
func entryOf(t *testing.T, body []byte, u string) map[string]any {
	t.Helper()
	var d struct {
		Entry []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Entry {
		if e.FullURL == u {
			return e.Resource
		}
	}
	t.Fatalf("no entry %s", u)
	return nil
}

// A record of a Patient with neither name nor birth date, a visit, two
// administrations (one entered in error), a procedure without a date, a
// z-score and a pregnancy status: the medications section lists one
// MedicationStatement-uv-ips derived from the valid administration (same
// id in every summary), the Patient carries data-absent-reasons, the
// Procedure one for performed[x], the z-score is an IPS result, the
// pregnancy an IPS pregnancy status; the document is an IPS.
func TestSummaryProfiles(t *testing.T) {
	const (
		pat = `{"resourceType":"Patient","gender":"female"}`
		ma  = `{"resourceType":"MedicationAdministration","status":"completed","medicationCodeableConcept":{"text":"RUTF"},` +
			`"subject":{"reference":"Patient/p1"},"context":{"reference":"Encounter/p1.abc"},"effectiveDateTime":"2026-01-10",` +
			`"dosage":{"text":"1 sachet a day","dose":{"value":1,"unit":"sachet"}}}`
		maError = `{"resourceType":"MedicationAdministration","status":"entered-in-error","medicationCodeableConcept":{"text":"Wrong"},` +
			`"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-09"}`
		proc = `{"resourceType":"Procedure","status":"completed","code":{"text":"Counselling"},"subject":{"reference":"Patient/p1"}}`
		wfh  = `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"59576-9"}]},` +
			`"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-10","valueQuantity":{"value":-2.5,"system":"http://unitsofmeasure.org","code":"1"}}`
		preg = `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"82810-3"}]},` +
			`"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-10","valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA15173-0"}]}}`
	)
	rs := []records.Resource{
		stored(t, pat, "p1", 1), stored(t, encounterJSON, "p1.abc", 1), stored(t, ma, "p1.m1", 1), stored(t, maError, "p1.m2", 2),
		stored(t, proc, "p1.pr", 1), stored(t, wfh, "p1.z", 1), stored(t, preg, "p1.pg", 1),
	}
	body, included, err := Summary(rs, "p1", summaryOpts)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.Validate(t, body)
	fhirtest.CheckIPS(t, body)
	again, _, err := Summary(rs, "p1", summaryOpts)
	if err != nil {
		t.Fatal(err)
	}
	p, p2 := profilesOf(t, body), profilesOf(t, again)
	var statements []string
	for k := range p {
		if strings.HasPrefix(k, "MedicationStatement/") {
			statements = append(statements, k)
			if p2[k] == "" {
				t.Errorf("%s is not in a second summary: its id is not stable", k)
			}
		}
	}
	if len(statements) != 1 {
		t.Fatalf("MedicationStatements %v, want 1", statements)
	}
	for k, want := range map[string]string{"Patient/p1": ProfileIPSPatient, "Procedure/p1.pr": ProfileIPSProcedure,
		"Observation/p1.z": ProfileIPSObservationResults, "Observation/p1.pg": ProfileIPSPregnancyStatus,
		statements[0]: ProfileIPSMedicationStatement, "Bundle": ProfileIPSBundle, "Composition": ProfileIPSComposition} {
		if p[k] != want {
			t.Errorf("%s claims %q, want %s", k, p[k], want)
		}
	}
	if _, ok := p["MedicationAdministration/p1.m2"]; ok {
		t.Errorf("the administration entered in error is in the summary")
	}
	for _, r := range included {
		if r.ID == "p1.m2" {
			t.Errorf("the administration entered in error is disclosed")
		}
	}
	ms := entryOf(t, body, strings.TrimPrefix(statements[0], "MedicationStatement/"))
	got, _ := json.Marshal(ms)
	for _, want := range []string{`"status":"completed"`, `"medicationCodeableConcept":{"text":"RUTF"}`, `"effectiveDateTime":"2026-01-10"`,
		`"subject":{"reference":"https://node.example/fhir/Patient/p1"}`, `"context":{"reference":"https://node.example/fhir/Encounter/p1.abc"}`,
		`"derivedFrom":[{"reference":"https://node.example/fhir/MedicationAdministration/p1.m1"}]`,
		`"dosage":[{"doseAndRate":[{"doseQuantity":{"unit":"sachet","value":1}}],"text":"1 sachet a day"}]`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("MedicationStatement lacks %s: %s", want, got)
		}
	}
	patient, _ := json.Marshal(entryOf(t, body, "https://node.example/fhir/Patient/p1"))
	dar := `{"extension":[{"url":"` + DataAbsentReasonURL + `","valueCode":"unknown"}]}`
	for _, want := range []string{`"_birthDate":` + dar, `"name":[{"_text":` + dar + `}]`} {
		if !strings.Contains(string(patient), want) {
			t.Errorf("Patient lacks %s: %s", want, patient)
		}
	}
	if pr, _ := json.Marshal(entryOf(t, body, "https://node.example/fhir/Procedure/p1.pr")); !strings.Contains(string(pr), `"_performedDateTime":`+dar) {
		t.Errorf("Procedure without a date: %s", pr)
	}
}

// A record whose only problem has no clinicalStatus: the Condition cannot
// claim Condition-uv-ips, so neither can the Composition nor the Bundle
// (the problems section needs one), and IPSProblems says why.
func TestSummaryClaimsOnlyWhatHolds(t *testing.T) {
	noStatus := strings.Replace(conditionJSON, `"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},`, "", 1)
	body, _, err := Summary([]records.Resource{stored(t, patientJSON, "p1", 1), stored(t, noStatus, "p1.c1", 1)}, "p1", summaryOpts)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.Validate(t, body)
	p := profilesOf(t, body)
	if p["Condition/p1.c1"] != "" || p["Composition"] != "" || p["Bundle"] != "" || p["Patient/p1"] != ProfileIPSPatient {
		t.Errorf("profiles claimed: %v", p)
	}
	problems := fmt.Sprint(fhirtest.IPSProblems(body))
	for _, want := range []string{"Bundle.meta.profile", "has no entry claiming " + ProfileIPSCondition} {
		if !strings.Contains(problems, want) {
			t.Errorf("IPSProblems %s, want one saying %q", problems, want)
		}
	}
}
