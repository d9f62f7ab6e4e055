package api

import (
	"net/http"
	"strings"
	"testing"
)

// issueExprs returns the expressions of an OperationOutcome's issues.
func issueExprs(t *testing.T, r resp) []string {
	t.Helper()
	var out []string
	for _, is := range asSlice(r.JSON(t)["issue"]) {
		for _, e := range asSlice(is.(map[string]any)["expression"]) {
			out = append(out, e.(string))
		}
	}
	return out
}

// The reproductions of issue 9: an episode dated 0001-01-01, criteria
// ["NaN"], text after the JSON, unlimited free text; and clinical dates
// before 1900 in FHIR resources. Each is refused naming every broken field
// in one OperationOutcome, and nothing is stored.
func TestStrictInputDatesCriteriaLengths(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")

	// POST /episodes: date and criteria, both reported at once.
	r := n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"0001-01-01","criteria":["muac_mm","NaN"]}`)
	wantOutcome(t, r, http.StatusUnprocessableEntity, "invalid", "date")
	if got := strings.Join(issueExprs(t, r), ","); got != "date,criteria[1]" {
		t.Errorf("issues at %s, want date,criteria[1]", got)
	}
	wantOutcome(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"2126-01-01"}`), http.StatusUnprocessableEntity, "invalid", "date")
	wantOutcome(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"2026-02-30"}`), http.StatusUnprocessableEntity, "invalid", "date")
	wantOutcome(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","criteria":["NaN"]}`), http.StatusUnprocessableEntity, "invalid", "criteria[0]")
	wantOutcome(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","site":"`+strings.Repeat("s", 201)+`"}`), http.StatusUnprocessableEntity, "invalid", "site")
	wantOutcome(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp"} {"x":1}`), http.StatusBadRequest, "", "")
	// PATCH /alerts: criteria is no field of it; text after the JSON; a reason of a megabyte.
	wantOutcome(t, n.do("PATCH", "/alerts/nope", n.lead, `{"status":"closed","reason":"x","criteria":["NaN"]}`), http.StatusBadRequest, "", "body")
	wantOutcome(t, n.do("PATCH", "/alerts/nope", n.lead, `{"status":"closed","reason":"x"} trailing`), http.StatusBadRequest, "", "body")
	wantOutcome(t, n.do("PATCH", "/alerts/nope", n.lead, `{"status":"closed","reason":"`+strings.Repeat("é", 1001)+`"}`), http.StatusUnprocessableEntity, "invalid", "reason")
	wantOutcome(t, n.do("PATCH", "/episodes/"+pid+".nope", n.hw, `{"outcome":"cured","reason":"`+strings.Repeat("r", 1001)+`"}`), http.StatusUnprocessableEntity, "invalid", "reason")

	// FHIR: strings over 10,000 characters, each named (the narrative's
	// 65,536 is in fhir's TestLengthLimits: this server's bodies stop at 64 KiB).
	long := strings.Repeat("ñ", 10_001)
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"` + long + `"},"subject":{"reference":"Patient/` + pid + `"},"note":[{"text":"ok"},{"text":"` + long + `"}]}`
	r = n.do("POST", "/fhir/Observation", n.hw, obs)
	wantOutcome(t, r, http.StatusUnprocessableEntity, "invalid", "Observation.code.text")
	if got := strings.Join(issueExprs(t, r), ","); got != "Observation.code.text,Observation.note[1].text" {
		t.Errorf("issues at %s", got)
	}
	// Dates before 1900 (0001-01-01 is what an unset date type sends).
	wantOutcome(t, n.do("POST", "/fhir/Patient", n.hw, `{"resourceType":"Patient","birthDate":"0001-01-01"}`), http.StatusUnprocessableEntity, "invalid", "Patient.birthDate")
	wantOutcome(t, n.do("POST", "/fhir/Observation", n.hw, `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/`+pid+`"},"effectiveDateTime":"0001-01-01T00:00:00Z","valueString":"a"}`), http.StatusUnprocessableEntity, "invalid", "Observation.effectiveDateTime")

	// Nothing stored: the person has only the Patient, unchanged, no episode.
	p, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	if l := p.Latest(); len(l) != 1 || l[0].Version != 1 {
		t.Errorf("record changed: %d resources", len(l))
	}
	if st := n.state(pid); len(st.Episodes) != 0 {
		t.Errorf("episodes stored: %+v", st.Episodes)
	}
	if b := string(must(t, n.do("GET", "/fhir/Patient?_count=100", n.hw, ""), http.StatusOK).Body); strings.Count(b, `"resourceType":"Patient"`) != 1 {
		t.Errorf("Patients stored: %s", b)
	}
	// The limits leave room: a valid admission goes through.
	must(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"2026-01-01","criteria":["muac_mm","oedema"],"site":"otp-arauquita"}`), http.StatusCreated)
}

// A report's period is a date from 1900 to a year ahead: the open range
// 0001-01-01 to 9999-12-31 by month (over a hundred thousand rows) is one
// 422 naming from and to, for the indicators and the prevalence table.
func TestIndicatorPeriodBounded(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	for _, q := range []string{"by=month", "format=prevalence"} {
		r := n.do("GET", "/indicators?from=0001-01-01&to=9999-12-31&"+q, n.lead, "")
		wantOutcome(t, r, http.StatusUnprocessableEntity, "invalid", "from")
		if got := strings.Join(issueExprs(t, r), ","); got != "from,to" {
			t.Errorf("%s: issues at %s, want from,to", q, got)
		}
		must(t, n.do("GET", "/indicators?from=1900-01-01&to=2026-03-01&"+q, n.lead, ""), http.StatusOK)
	}
}
