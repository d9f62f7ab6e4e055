package api

import (
	"net/http"
	"net/url"
	"slices"
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
	_, id, flagID := n.oneAlert()
	search := func(value string) []string {
		t.Helper()
		return entryIDs(must(t, n.do("GET", "/fhir/Flag?identifier="+url.QueryEscape(value), n.hw, ""), http.StatusOK).JSON(t))
	}
	for _, q := range []string{fhir.AlertIDSystem + "|" + id, id} {
		if got := search(q); !slices.Equal(got, []string{flagID}) {
			t.Errorf("Flag?identifier=%s: %v, want [%s]", q, got, flagID)
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
