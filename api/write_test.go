package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"contigo/fhir"
)

// patientIdent is the search of patientJSON's identifier value v.
func patientIdent(v string) string { return url.QueryEscape("urn:contigo:test|" + v) }

// DELETE keeps history: the deletion is a version, old versions still
// vread, read is 410 with an OperationOutcome, search no longer finds it,
// If-Match is honoured, and a second DELETE changes nothing.
func TestDeleteKeepsHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "D-1")
	r := must(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(pid, "2026-01-05")), http.StatusCreated)
	eid := r.JSON(t)["id"].(string)

	wantOutcome(t, e.do("DELETE", "/fhir/Encounter/"+eid, e.admin, "", "If-Match", `W/"7"`), http.StatusPreconditionFailed, "", "")
	must(t, e.do("GET", "/fhir/Encounter/"+eid, e.admin, ""), http.StatusOK) // nothing changed
	wantOutcome(t, e.do("DELETE", "/fhir/Encounter/"+eid, e.token(RoleNutritionLead, "CO"), ""), http.StatusForbidden, "", "")

	d := must(t, e.do("DELETE", "/fhir/Encounter/"+eid, e.admin, "", "If-Match", `W/"1"`), http.StatusNoContent)
	if d.Header.Get("ETag") != `W/"2"` {
		t.Errorf("ETag %q, want W/\"2\"", d.Header.Get("ETag"))
	}
	wantOutcome(t, e.do("GET", "/fhir/Encounter/"+eid, e.admin, ""), http.StatusGone, "deleted", "")
	must(t, e.do("GET", "/fhir/Encounter/"+eid+"/_history/1", e.admin, ""), http.StatusOK)
	wantOutcome(t, e.do("GET", "/fhir/Encounter/"+eid+"/_history/2", e.admin, ""), http.StatusGone, "", "")
	h := must(t, e.do("GET", "/fhir/Encounter/"+eid+"/_history", e.admin, ""), http.StatusOK)
	if !strings.Contains(string(h.Body), `"method":"DELETE"`) || h.JSON(t)["total"].(float64) != 2 {
		t.Errorf("history does not show the deletion: %s", h.Body)
	}
	if s := must(t, e.do("GET", "/fhir/Encounter?subject=Patient/"+pid, e.admin, ""), http.StatusOK); strings.Contains(string(s.Body), eid) {
		t.Errorf("search still finds the deleted Encounter: %s", s.Body)
	}
	must(t, e.do("DELETE", "/fhir/Encounter/"+eid, e.admin, ""), http.StatusNoContent)
	if h := must(t, e.do("GET", "/fhir/Encounter/"+eid+"/_history", e.admin, ""), http.StatusOK); h.JSON(t)["total"].(float64) != 2 {
		t.Errorf("a second DELETE made a version: %s", h.Body)
	}
	wantOutcome(t, e.do("DELETE", "/fhir/Encounter/"+pid+".nothere", e.admin, ""), http.StatusNotFound, "", "")
}

// A Patient with other resources is 409 and stays; once they are deleted
// the Patient can be, its identifier is free again and search misses it.
func TestDeletePatient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "D-2")
	eid := must(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(pid, "2026-01-05")), http.StatusCreated).JSON(t)["id"].(string)
	wantOutcome(t, e.do("DELETE", "/fhir/Patient/"+pid, e.admin, ""), http.StatusConflict, "conflict", "Patient")
	must(t, e.do("GET", "/fhir/Patient/"+pid, e.admin, ""), http.StatusOK)
	must(t, e.do("DELETE", "/fhir/Encounter/"+eid, e.admin, ""), http.StatusNoContent)
	must(t, e.do("DELETE", "/fhir/Patient/"+pid, e.admin, ""), http.StatusNoContent)
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, e.admin, ""), http.StatusGone, "deleted", "")
	if s := must(t, e.do("GET", "/fhir/Patient?identifier="+patientIdent("D-2"), e.admin, ""), http.StatusOK); strings.Contains(string(s.Body), pid) {
		t.Errorf("search finds the deleted Patient: %s", s.Body)
	}
	// A new record may take the identifier; nothing can join the deleted one.
	e.createPatient("Rojas", "Ana", "D-2")
	wantOutcome(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(pid, "2026-01-06")), http.StatusUnprocessableEntity, "", "")
}

// Conditional delete: none is 204, one is deleted, several are 412, and
// a query without parameters is 400.
func TestConditionalDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	must(t, e.do("DELETE", "/fhir/Patient?identifier="+patientIdent("none"), e.admin, ""), http.StatusNoContent)
	pid := e.createPatient("Rojas", "Ana", "CD-1")
	must(t, e.do("DELETE", "/fhir/Patient?identifier="+patientIdent("CD-1"), e.admin, ""), http.StatusNoContent)
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid, e.admin, ""), http.StatusGone, "", "")
	e.createPatient("Rojas", "Bea", "CD-2")
	e.createPatient("Rojas", "Cruz", "CD-3")
	wantOutcome(t, e.do("DELETE", "/fhir/Patient?family=Rojas", e.admin, ""), http.StatusPreconditionFailed, "multiple-matches", "")
	wantOutcome(t, e.do("DELETE", "/fhir/Patient", e.admin, ""), http.StatusBadRequest, "", "url")
	if s := must(t, e.do("GET", "/fhir/Patient?family=Rojas", e.admin, ""), http.StatusOK); s.JSON(t)["total"].(float64) != 2 {
		t.Errorf("a refused conditional delete changed something: %s", s.Body)
	}
}

// Derived results are re-assessed when their measurement is deleted, and
// cannot be deleted themselves.
func TestDeleteMeasurementRetractsDerived(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	must(t, n.visit(pid, "2026-01-05", muacObs(140), oedemaObs("absent")), http.StatusOK)
	must(t, n.visit(pid, "2026-01-26", muacObs(120), oedemaObs("absent")), http.StatusOK)
	wantActive(t, n.active(pid), "new_moderate_wasting/medium/open")
	z := n.derived(pid, "Observation", fhir.AnthroSystem)
	if len(z) != 2 {
		t.Fatalf("%d z-scores, want 2", len(z))
	}
	wantOutcome(t, n.do("DELETE", "/fhir/Observation/"+z[1].ID, n.admin, ""), http.StatusForbidden, "", "Observation.id")
	if got := n.derived(pid, "Observation", fhir.AnthroSystem); len(got) != 2 {
		t.Fatalf("a refused delete removed a z-score")
	}
	// The MUAC of 120 mm: find it among the record's measurements.
	p, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	var muac string
	for _, r := range p.Latest() {
		if r.Type == "Observation" && fhir.IsNutritionInput(r) && strings.Contains(string(r.Body), `"value":120`) {
			muac = r.ID
		}
	}
	if muac == "" {
		t.Fatal("no MUAC of 120 mm")
	}
	must(t, n.do("DELETE", "/fhir/Observation/"+muac, n.hw, ""), http.StatusNoContent)
	if got := n.derived(pid, "Observation", fhir.AnthroSystem); len(got) != 1 {
		t.Errorf("%d z-scores after deleting a MUAC, want 1", len(got))
	}
	wantActive(t, n.active(pid))
	must(t, n.do("GET", "/fhir/Observation/"+muac+"/_history/1", n.hw, ""), http.StatusOK)
}

// Conditional update: none creates (201), one updates (200, If-Match
// honoured), several are 412; a retry of the same PUT changes nothing
// more than a new version; invalid bodies store nothing.
func TestConditionalUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q := "/fhir/Patient?identifier=" + patientIdent("CU-1")
	r := must(t, e.do("PUT", q, e.admin, patientJSON("Rojas", "Ana", "CU-1")), http.StatusCreated)
	pid := r.JSON(t)["id"].(string)
	if !strings.Contains(r.Header.Get("Location"), "/Patient/"+pid+"/_history/1") {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	r = must(t, e.do("PUT", q, e.admin, patientJSON("Rojas", "Ana María", "CU-1")), http.StatusOK)
	if r.JSON(t)["id"] != pid || r.Header.Get("ETag") != `W/"2"` {
		t.Errorf("update of the match: %s %s", r.Header.Get("ETag"), r.Body)
	}
	wantOutcome(t, e.do("PUT", q, e.admin, patientJSON("Rojas", "X", "CU-1"), "If-Match", `W/"1"`), http.StatusPreconditionFailed, "", "")
	must(t, e.do("PUT", q, e.admin, patientJSON("Rojas", "Ana", "CU-1"), "If-Match", `W/"2"`), http.StatusOK)
	// Broken body: 422, nothing stored.
	bad := strings.Replace(patientJSON("Rojas", "Z", "CU-1"), `"female"`, `"feminine"`, 1)
	wantOutcome(t, e.do("PUT", q, e.admin, bad), http.StatusUnprocessableEntity, "", "")
	if h := must(t, e.do("GET", "/fhir/Patient/"+pid+"/_history", e.admin, ""), http.StatusOK); h.JSON(t)["total"].(float64) != 3 {
		t.Errorf("history after a refused update: %s", h.Body)
	}
	// An Observation by its subject and code.
	must(t, e.do("PUT", "/fhir/Encounter?subject=Patient/"+pid, e.admin, encounterJSON(pid, "2026-01-05")), http.StatusCreated)
	must(t, e.do("PUT", "/fhir/Encounter?subject=Patient/"+pid, e.admin, encounterJSON(pid, "2026-01-06")), http.StatusOK)
	e.createPatient("Rojas", "Bea", "CU-2")
	wantOutcome(t, e.do("PUT", "/fhir/Patient?family=Rojas", e.admin, patientJSON("Rojas", "C", "CU-3")), http.StatusPreconditionFailed, "multiple-matches", "")
	if s := must(t, e.do("GET", "/fhir/Patient?identifier="+patientIdent("CU-3"), e.admin, ""), http.StatusOK); s.JSON(t)["total"].(float64) != 0 {
		t.Errorf("a 412 stored something: %s", s.Body)
	}
	wantOutcome(t, e.do("PUT", "/fhir/Patient", e.admin, patientJSON("Rojas", "C", "CU-3")), http.StatusBadRequest, "", "url")
}

// JSON Patch: applied to the current version, validated like an update,
// If-Match honoured, other patch formats 415.
func TestJSONPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "P-1")
	patch := func(body string, header ...string) resp {
		return e.do("PATCH", "/fhir/Patient/"+pid, e.admin, body, append([]string{"Content-Type", jsonPatchType}, header...)...)
	}
	r := must(t, patch(`[{"op":"replace","path":"/gender","value":"male"},{"op":"add","path":"/name/0/given/-","value":"María"}]`), http.StatusOK)
	if m := r.JSON(t); m["gender"] != "male" || r.Header.Get("ETag") != `W/"2"` || !strings.Contains(string(r.Body), "María") {
		t.Errorf("patched: %s", r.Body)
	}
	wantOutcome(t, patch(`[{"op":"replace","path":"/gender","value":"female"}]`, "If-Match", `W/"1"`), http.StatusPreconditionFailed, "", "")
	// Two broken rules, both reported; nothing changes.
	r = patch(`[{"op":"replace","path":"/gender","value":"feminine"},{"op":"replace","path":"/birthDate","value":"yesterday"}]`)
	wantOutcome(t, r, http.StatusUnprocessableEntity, "", "")
	if n := len(r.JSON(t)["issue"].([]any)); n < 2 {
		t.Errorf("%d issues, want one per broken rule: %s", n, r.Body)
	}
	wantOutcome(t, patch(`[{"op":"remove","path":"/telecom"}]`), http.StatusUnprocessableEntity, "", "")
	wantOutcome(t, patch(`{"op":"nope"}`), http.StatusBadRequest, "", "")
	wantOutcome(t, e.do("PATCH", "/fhir/Patient/"+pid, e.admin, `{"resourceType":"Parameters"}`, "Content-Type", "application/fhir+json"), http.StatusUnsupportedMediaType, "not-supported", "")
	wantOutcome(t, e.do("PATCH", "/fhir/Patient/nothere", e.admin, `[]`, "Content-Type", jsonPatchType), http.StatusNotFound, "", "")
	if h := must(t, e.do("GET", "/fhir/Patient/"+pid+"/_history", e.admin, ""), http.StatusOK); h.JSON(t)["total"].(float64) != 2 {
		t.Errorf("refused patches changed the record: %s", h.Body)
	}
	// A patch cannot move a resource to another record or create a derived one.
	eid := must(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(pid, "2026-01-05")), http.StatusCreated).JSON(t)["id"].(string)
	other := e.createPatient("Paz", "Eva", "P-2")
	wantOutcome(t, e.do("PATCH", "/fhir/Encounter/"+eid, e.admin, `[{"op":"replace","path":"/subject/reference","value":"Patient/`+other+`"}]`, "Content-Type", jsonPatchType), http.StatusUnprocessableEntity, "", "")
}

// $everything pages with working next links in a stable order, and
// honours _type, _since and _count; bad parameters are 400.
func TestEverythingPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pid := e.createPatient("Rojas", "Ana", "E-1")
	for i := range 7 {
		must(t, e.do("POST", "/fhir/Encounter", e.admin, encounterJSON(pid, fmt.Sprintf("2026-01-%02d", 11-i))), http.StatusCreated)
	}
	must(t, e.do("POST", "/fhir/Observation", e.admin, weightJSON(pid, "2026-01-04", 9.5, "kg")), http.StatusCreated)
	all := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_count=100", e.admin, ""), http.StatusOK).JSON(t)
	if all["total"].(float64) != 9 || len(all["entry"].([]any)) != 9 {
		t.Fatalf("everything: %v", all["total"])
	}
	var want []string
	for _, en := range all["entry"].([]any) {
		want = append(want, en.(map[string]any)["fullUrl"].(string))
	}
	var got []string
	next, pages := "/fhir/Patient/"+pid+"/$everything?_count=4", 0
	for next != "" {
		m := must(t, e.do("GET", next, e.admin, ""), http.StatusOK).JSON(t)
		pages++
		for _, en := range m["entry"].([]any) {
			got = append(got, en.(map[string]any)["fullUrl"].(string))
		}
		next = ""
		for _, l := range m["link"].([]any) {
			if l := l.(map[string]any); l["relation"] == "next" {
				u, err := url.Parse(l["url"].(string))
				if err != nil {
					t.Fatal(err)
				}
				next = u.RequestURI()
			}
		}
		if pages > 5 {
			t.Fatal("next links loop")
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages:\n%q\nwant\n%q", pages, got, want)
	}
	if !strings.Contains(want[0], "/Patient/"+pid) || !strings.Contains(want[1], "/Observation/") {
		t.Errorf("order: Patient first, then by clinical date: %q", want)
	}
	m := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_type=Observation,Patient", e.admin, ""), http.StatusOK).JSON(t)
	if m["total"].(float64) != 2 {
		t.Errorf("_type=Observation,Patient: total %v", m["total"])
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if m := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_since="+future, e.admin, ""), http.StatusOK).JSON(t); m["total"].(float64) != 0 {
		t.Errorf("_since in the future: total %v", m["total"])
	}
	if m := must(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_since=2020-01-01", e.admin, ""), http.StatusOK).JSON(t); m["total"].(float64) != 9 {
		t.Errorf("_since in the past: total %v", m["total"])
	}
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_type=Nope", e.admin, ""), http.StatusBadRequest, "", "_type")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_since=soon", e.admin, ""), http.StatusBadRequest, "", "_since")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_count=0", e.admin, ""), http.StatusBadRequest, "", "_count")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+pid+"/$everything?_cursor=xx", e.admin, ""), http.StatusBadRequest, "", "_cursor")
}
