package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"contigo/fhir"
)

// TestConformanceResourcesServed reads and searches the conformance
// resources without a token, under a configured canonical base: each
// answers at the path of its canonical URL and to a search by url, for
// the configured and the default URL.
func TestConformanceResourcesServed(t *testing.T) {
	t.Parallel()
	const canon = "https://minsalud.example.gov.co"
	e := newEnv(t, func(c *Config) { c.CanonicalBase = canon })
	r := must(t, e.do("GET", "/fhir/CodeSystem/nutrition-alert", "", ""), http.StatusOK).JSON(t)
	if r["url"] != canon+"/fhir/CodeSystem/nutrition-alert" || r["resourceType"] != "CodeSystem" {
		t.Errorf("CodeSystem = %v", r)
	}
	for _, u := range []string{canon + "/fhir/StructureDefinition/alert-status", fhir.ExtAlertStatus} {
		b := must(t, e.do("GET", "/fhir/StructureDefinition?url="+url.QueryEscape(u), "", ""), http.StatusOK).JSON(t)
		if b["total"] != float64(1) {
			t.Errorf("search url=%s: total %v", u, b["total"])
		}
	}
	must(t, e.do("GET", "/countries/EC/fhir/SearchParameter/Flag-status", "", ""), http.StatusOK)
	wantOutcome(t, e.do("GET", "/fhir/CodeSystem/nope", "", ""), http.StatusNotFound, "not-found", "")
	wantOutcome(t, e.do("GET", "/fhir/ValueSet?name=x", "", ""), http.StatusBadRequest, "", "name")
	all := must(t, e.do("GET", "/fhir/OperationDefinition", "", ""), http.StatusOK).JSON(t)
	if all["total"].(float64) < 8 {
		t.Errorf("OperationDefinitions: %v", all["total"])
	}
}

// TestMetadataComplete checks the CapabilityStatement: 4.0.1, security
// pointing at /auth/token, every routed operation with a definition that
// this server serves, every search parameter with a definition.
func TestMetadataComplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var cs struct {
		FhirVersion string
		Rest        []struct {
			Security struct {
				Cors      bool
				Extension []struct {
					Extension []struct{ URL, ValueURI string }
				}
			}
			Operation []struct{ Name, Definition string }
			Resource  []struct {
				Type        string
				SearchParam []struct{ Name, Definition string }
				Operation   []struct{ Name, Definition string }
			}
		}
	}
	if err := json.Unmarshal(must(t, e.do("GET", "/fhir/metadata", "", ""), http.StatusOK).Body, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.FhirVersion != "4.0.1" || !cs.Rest[0].Security.Cors || cs.Rest[0].Security.Extension[0].Extension[0].ValueURI != "http://example.com/auth/token" {
		t.Errorf("fhirVersion %s, security %+v", cs.FhirVersion, cs.Rest[0].Security)
	}
	resolve := func(what, def string) {
		t.Helper()
		if def == "" {
			t.Errorf("%s has no definition", what)
			return
		}
		if path, ok := strings.CutPrefix(def, fhir.DefaultCanonicalBase); ok {
			must(t, e.do("GET", path, "", ""), http.StatusOK)
		} else if !strings.HasPrefix(def, "http://hl7.org/fhir/") {
			t.Errorf("%s: definition %s", what, def)
		}
	}
	var ops []string
	for _, op := range cs.Rest[0].Operation {
		resolve("$"+op.Name, op.Definition)
	}
	for _, r := range cs.Rest[0].Resource {
		for _, p := range r.SearchParam {
			resolve(r.Type+"?"+p.Name, p.Definition)
		}
		for _, op := range r.Operation {
			resolve(r.Type+"/$"+op.Name, op.Definition)
			ops = append(ops, r.Type+"/$"+op.Name)
		}
	}
	for _, want := range []string{"Patient/$everything", "Patient/$match", "Patient/$link", "Patient/$refer", "Patient/$growth-chart", "Patient/$carne", "Patient/$summary"} {
		if !slices.Contains(ops, want) {
			t.Errorf("operations %v lack %s", ops, want)
		}
	}
	if len(e.srv.routedOperations()) == 0 {
		t.Error("no routed operations")
	}
}

var canonicalRe = regexp.MustCompile(`https://contigo\.example/[A-Za-z0-9/_.-]+`)

// TestEmittedURLsPublished runs writes that derive nutrition results
// (z-scores, Conditions, alerts, an episode) and scans every answer for
// URLs under the canonical base: each must resolve on this server.
func TestEmittedURLsPublished(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	var bodies [][]byte
	bodies = append(bodies, must(t, n.visit(pid, "2026-01-05", muacObs(108), weightObs(8.1), lengthObs(80), oedemaObs("absent")), http.StatusOK).Body)
	must(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"2026-01-06"}`), http.StatusCreated)
	bodies = append(bodies,
		must(t, n.do("GET", "/fhir/Patient/"+pid+"/$everything", n.hw, ""), http.StatusOK).Body,
		must(t, n.do("GET", "/fhir/Patient/"+pid+"/$summary", n.hw, ""), http.StatusOK).Body,
		must(t, n.do("GET", "/alerts?format=fhir", n.lead, ""), http.StatusOK).Body,
		must(t, n.do("GET", "/fhir/metadata", "", ""), http.StatusOK).Body,
	)
	seen := map[string]bool{}
	for _, b := range bodies {
		for _, u := range canonicalRe.FindAllString(string(b), -1) {
			seen[u] = true
		}
	}
	for _, want := range []string{fhir.AnthroSystem, fhir.AlertSystem, fhir.ExtAlert, fhir.PersonRefSystem} {
		if !seen[want] {
			t.Errorf("the writes emitted no %s: the test no longer covers it", want)
		}
	}
	for u := range seen {
		path := strings.TrimPrefix(u, fhir.DefaultCanonicalBase)
		if r := n.do("GET", path, "", ""); r.Code != http.StatusOK {
			t.Errorf("%s emitted but not published (GET %s: %d)", u, path, r.Code)
		}
	}
	t.Logf("%d canonical URLs emitted and resolved", len(seen))
}
