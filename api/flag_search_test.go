package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"contigo/fhir"
)

// Flag?identifier= finds the record Flag of an alert by its canonical id
// (system|value or the value alone), nothing for another value or
// system, and the CapabilityStatement lists it with the R4 definition.
func TestFlagSearchByIdentifier(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("male", "2024-06-01", "Arauca")
	must(t, n.visit(pid, "2026-01-05", muacObs(110), oedemaObs("absent")), http.StatusOK)
	page := n.alerts("")
	if len(page.Alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(page.Alerts))
	}
	id := page.Alerts[0].ID
	flags := n.derived(pid, "Flag", fhir.AlertSystem)
	if len(flags) != 1 {
		t.Fatalf("%d record Flags, want 1", len(flags))
	}
	search := func(value string) []string {
		t.Helper()
		var b struct {
			Total int
			Entry []struct {
				Resource struct{ ResourceType, ID string }
			}
		}
		r := must(t, n.do("GET", "/fhir/Flag?identifier="+url.QueryEscape(value), n.hw, ""), http.StatusOK)
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range b.Entry {
			if e.Resource.ResourceType == "Flag" {
				ids = append(ids, e.Resource.ID)
			}
		}
		return ids
	}
	for _, q := range []string{fhir.AlertIDSystem + "|" + id, id} {
		if got := search(q); len(got) != 1 || got[0] != flags[0].ID {
			t.Errorf("Flag?identifier=%s: %v, want [%s]", q, got, flags[0].ID)
		}
	}
	for _, q := range []string{fhir.AlertIDSystem + "|" + id + "x", "https://other.example|" + id} {
		if got := search(q); len(got) != 0 {
			t.Errorf("Flag?identifier=%s: %v, want none", q, got)
		}
	}
	wantOutcome(t, n.do("GET", "/fhir/Flag?identifier="+url.QueryEscape(fhir.AlertIDSystem+"|"), n.hw, ""), http.StatusBadRequest, "", "identifier")

	cs := string(must(t, n.do("GET", "/fhir/metadata", "", ""), http.StatusOK).Body)
	if !strings.Contains(cs, `"definition":"http://hl7.org/fhir/SearchParameter/Flag-identifier"`) {
		t.Errorf("the CapabilityStatement does not define Flag?identifier")
	}
}
