package api

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"contigo/fhir"
	"contigo/fhir/fhirtest"
)

// summaryDoc is the part of a $summary answer the tests look at.
type summaryDoc struct {
	Entry []struct {
		FullURL  string `json:"fullUrl"`
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Meta         struct{ Profile []string }
			Code         *ipsCode `json:"code"`
			Medication   *ipsCode `json:"medicationCodeableConcept"`
			DerivedFrom  []struct{ Reference string }
			Section      []struct {
				Code struct {
					Coding []struct{ Code string }
				}
				Text  struct{ Div string }
				Entry []struct{ Reference string }
			}
		} `json:"resource"`
	}
}

// summary GETs (or POSTs) path and checks the answer: 200, a document
// Bundle valid against the R4 schema (e.do) and an IPS (fhirtest.CheckIPS).
func summary(t *testing.T, e *env, method, path, token, body string) summaryDoc {
	t.Helper()
	r := must(t, e.do(method, path, token, body), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Fatalf("Content-Type %q", ct)
	}
	fhirtest.CheckIPS(t, r.Body)
	var d summaryDoc
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// ipsCode is a CodeableConcept of a summary entry.
type ipsCode struct {
	Coding []struct{ System, Code string }
}

// absent returns the code of an IPS "no information" concept, "" for any other.
func (c *ipsCode) absent() string {
	if c != nil && len(c.Coding) > 0 && c.Coding[0].System == fhir.AbsentUnknownSystem {
		return c.Coding[0].Code
	}
	return ""
}

// sections returns the entries' resource types of each section by code,
// "Type:<code>" for an entry coded "no information" (fhir.AbsentUnknownSystem).
func (d summaryDoc) sections() map[string][]string {
	types := map[string]string{}
	for _, e := range d.Entry {
		types[e.FullURL] = e.Resource.ResourceType
		if a := cmp.Or(e.Resource.Code.absent(), e.Resource.Medication.absent()); a != "" {
			types[e.FullURL] += ":" + a
		}
	}
	out := map[string][]string{}
	for _, s := range d.Entry[0].Resource.Section {
		code := s.Code.Coding[0].Code
		for _, en := range s.Entry {
			out[code] = append(out[code], types[en.Reference])
		}
	}
	return out
}

// A child seen on three visits (healthy, moderate, then severe wasting by
// MUAC), given RUTF and counselled: the summary lists the severe wasting
// as a problem and the moderate one as past illness, the MUACs as vital
// signs, the z-scores as results, the counselling, and a
// MedicationStatement derived from the RUTF administration; allergies say
// "no information". Every entry but the vital signs and the Encounters
// claims its IPS profile. The POST answers the same, the per-country path too,
// and the read is audited under the child.
func TestSummarySevereWasting(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	for _, v := range []struct {
		date string
		muac float64
	}{{"2026-01-05", 140}, {"2026-01-26", 120}, {"2026-02-02", 110}} {
		must(t, n.visit(pid, v.date, muacObs(v.muac), oedemaObs("absent")), http.StatusOK)
	}
	must(t, n.do("POST", "/fhir/MedicationAdministration", n.hw, `{"resourceType":"MedicationAdministration","status":"completed",`+
		`"medicationCodeableConcept":{"coding":[{"system":"`+fhir.InterventionSystem+`","code":"rutf","display":"RUTF <sachet> & co"}]},"subject":{"reference":"Patient/`+pid+`"},"effectiveDateTime":"2026-02-02"}`), http.StatusCreated)
	must(t, n.do("POST", "/fhir/Procedure", n.hw, `{"resourceType":"Procedure","status":"completed",`+
		`"code":{"coding":[{"system":"`+fhir.InterventionSystem+`","code":"iycf_counselling"}]},"subject":{"reference":"Patient/`+pid+`"},"performedDateTime":"2026-02-02"}`), http.StatusCreated)

	d := summary(t, n.env, "GET", "/fhir/Patient/"+pid+"/$summary", n.hw, "")
	got := d.sections()
	want := map[string][]string{
		fhir.SectionMedications: {"MedicationStatement"},
		fhir.SectionAllergies:   {"AllergyIntolerance:no-allergy-info"},
		fhir.SectionProblems:    {"Condition"},
		fhir.SectionProcedures:  {"Procedure"},
		fhir.SectionVitalSigns:  {"Observation", "Observation", "Observation"},
		fhir.SectionResults:     got[fhir.SectionResults], // z-scores and oedema findings, checked below
		fhir.SectionPastIllness: {"Condition"},
	}
	for code, w := range want {
		if !slices.Equal(got[code], w) {
			t.Errorf("section %s: %q, want %q", code, got[code], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("sections %v, want %d", got, len(want))
	}
	comp := d.Entry[0].Resource
	var problems, results, meds string
	for _, s := range comp.Section {
		switch s.Code.Coding[0].Code {
		case fhir.SectionProblems:
			problems = s.Text.Div
		case fhir.SectionResults:
			results = s.Text.Div
		case fhir.SectionMedications:
			meds = s.Text.Div
		}
	}
	if !strings.Contains(problems, "evere") || !strings.Contains(problems, "active") {
		t.Errorf("problems narrative: %s", problems)
	}
	if strings.Count(results, "MUAC-for-age z-score") != 3 {
		t.Errorf("results narrative lacks the three MUAC z-scores: %s", results)
	}
	if !strings.Contains(meds, "RUTF &lt;sachet&gt; &amp; co") {
		t.Errorf("medications narrative not escaped: %s", meds)
	}
	if d.Entry[1].Resource.ResourceType != "Patient" || d.Entry[1].Resource.ID != pid || d.Entry[2].Resource.ResourceType != "Device" {
		t.Errorf("entries 1 and 2: %+v %+v, want the Patient and the author Device", d.Entry[1].Resource, d.Entry[2].Resource)
	}
	claims := map[string]int{}
	for _, e := range d.Entry {
		for _, p := range e.Resource.Meta.Profile {
			claims[e.Resource.ResourceType+" "+strings.TrimPrefix(p, "http://hl7.org/fhir/uv/ips/StructureDefinition/")]++
		}
		if e.Resource.ResourceType == "MedicationStatement" && (len(e.Resource.DerivedFrom) != 1 || !strings.Contains(e.Resource.DerivedFrom[0].Reference, "/MedicationAdministration/")) {
			t.Errorf("MedicationStatement not derived from the administration: %+v", e.Resource.DerivedFrom)
		}
	}
	for _, want := range []string{"Composition Composition-uv-ips", "Patient Patient-uv-ips", "MedicationStatement MedicationStatement-uv-ips",
		"AllergyIntolerance AllergyIntolerance-uv-ips", "Condition Condition-uv-ips", "Procedure Procedure-uv-ips", "Observation Observation-results-uv-ips"} {
		if claims[want] == 0 {
			t.Errorf("no %s in %v", want, claims)
		}
	}

	p := summary(t, n.env, "POST", "/countries/CO/fhir/Patient/"+pid+"/$summary", n.hw, `{"resourceType":"Parameters"}`)
	if !slices.Equal(p.sections()[fhir.SectionProblems], []string{"Condition"}) || !strings.HasPrefix(p.Entry[1].FullURL, "http://example.com/countries/CO/fhir/Patient/") {
		t.Errorf("POST on /countries/CO: problems %v, Patient at %s", p.sections()[fhir.SectionProblems], p.Entry[1].FullURL)
	}
	wantOutcome(t, n.do("POST", "/fhir/Patient/"+pid+"/$summary", n.hw, `{"resourceType":"Parameters","parameter":[{"name":"profile","valueCanonical":"x"}]}`),
		http.StatusBadRequest, "structure", "Parameters.parameter[0].name")

	if body := auditedFor(t, n.do, n.admin, pid); strings.Count(body, "HTTP 200 (summary)") != 2 {
		t.Errorf("%d audited $summary reads of the child, want 2: %s", strings.Count(body, "(summary)"), body)
	}
}

// A record with nothing but the Patient: the required sections are there,
// each with one entry coded "no information" (no emptyReason, which the IPS
// forbids); the document holds the Composition, the Patient, the author
// and those three entries.
func TestSummaryEmptyRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "summary-empty")
	d := summary(t, e, "GET", "/fhir/Patient/"+pid+"/$summary", e.hw, "")
	want := map[string][]string{
		fhir.SectionMedications: {"MedicationStatement:no-medication-info"},
		fhir.SectionAllergies:   {"AllergyIntolerance:no-allergy-info"},
		fhir.SectionProblems:    {"Condition:no-problem-info"},
	}
	got := d.sections()
	if len(got) != len(want) {
		t.Errorf("sections %v, want %v", got, want)
	}
	for code, w := range want {
		if !slices.Equal(got[code], w) {
			t.Errorf("section %s: %q, want %q", code, got[code], w)
		}
	}
	var types []string
	for _, en := range d.Entry {
		types = append(types, en.Resource.ResourceType)
	}
	if !slices.Equal(types, []string{"Composition", "Patient", "Device", "MedicationStatement", "AllergyIntolerance", "Condition"}) {
		t.Errorf("entries %q", types)
	}
}

// Refusals: unknown patient 404, a country the token does not reach 403,
// a role without read 403, no token 401, a deleted Patient 410; each an
// OperationOutcome that validates.
func TestSummaryRefused(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	wantOutcome(t, n.do("GET", "/fhir/Patient/nope/$summary", n.hw, ""), http.StatusNotFound, "not-found", "")
	wantOutcome(t, n.do("GET", "/countries/EC/fhir/Patient/"+pid+"/$summary", n.hw, ""), http.StatusForbidden, "forbidden", "")
	wantOutcome(t, n.do("GET", "/fhir/Patient/"+pid+"/$summary", n.lead, ""), http.StatusForbidden, "forbidden", "")
	wantOutcome(t, n.do("GET", "/fhir/Patient/"+pid+"/$summary", "", ""), http.StatusUnauthorized, "", "")
	wantOutcome(t, n.do("GET", "/countries/EC/fhir/Patient/"+pid+"/$summary", n.admin, ""), http.StatusNotFound, "not-found", "")
	must(t, n.do("DELETE", "/fhir/Patient/"+pid, n.hw, ""), http.StatusNoContent)
	wantOutcome(t, n.do("GET", "/fhir/Patient/"+pid+"/$summary", n.hw, ""), http.StatusGone, "", "")
}

// A CO health worker asks for the summary of a record held in PE through
// /countries/PE: PE answers it only with the person's consent, and the
// document that comes back is an IPS whose references resolve.
func TestSummaryFromPeer(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "PE")
	co, pe := nodes["CO"], nodes["PE"]
	pid := must(t, pe.do("POST", "/fhir/Patient", pe.hw, childJSON("Sofía", "Rojas", "2024-06-01", "V-777")), http.StatusCreated).JSON(t)["id"].(string)
	path := "/countries/PE/fhir/Patient/" + pid + "/$summary"
	wantOutcome(t, co.do("GET", path, co.hw, ""), http.StatusForbidden, "forbidden", "")
	must(t, pe.do("POST", "/fhir/Consent", pe.hw, consentJSON(pid, "active", "permit")), http.StatusCreated)
	r := must(t, co.do("GET", path, co.hw, ""), http.StatusOK)
	fhirtest.CheckIPS(t, r.Body)
	var d summaryDoc
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Entry) < 2 || !strings.HasSuffix(d.Entry[1].FullURL, "/countries/PE/fhir/Patient/"+pid) {
		t.Errorf("the PE Patient is not the second entry: %s", r.Body)
	}
}
