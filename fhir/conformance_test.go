package fhir

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"contigo/fhir/fhirtest"
)

// TestEverySearchParamHasDefinition fails when a search parameter of the
// searchParams table has neither a FHIR R4 definition (standardParams) nor
// one of ours (ownParams): add it to one of the two.
func TestEverySearchParamHasDefinition(t *testing.T) {
	t.Parallel()
	c := NewConformance("")
	for typ := range searchParams {
		for _, name := range paramNames(typ) {
			if c.ParamDefinition(typ, name) == "" {
				t.Errorf("%s?%s has no definition: add it to standardParams or ownParams", typ, name)
			}
		}
	}
	for key := range ownParams {
		typ, name, _ := strings.Cut(key, ".")
		if _, ok := paramOf(typ, name); !ok {
			t.Errorf("ownParams defines %s, which searchParams does not serve", key)
		}
		if StandardParamURL(typ, name) != "" {
			t.Errorf("ownParams defines %s, which FHIR R4 defines", key)
		}
	}
}

// TestConformanceResourcesValidate checks every conformance resource
// against the R4 JSON Schema and that it answers its canonical URL.
func TestConformanceResourcesValidate(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "https://minsalud.example.gov.co/"} {
		c := NewConformance(base)
		n := 0
		for _, typ := range ConformanceTypes {
			for _, b := range c.Search(typ, "") {
				n++
				fhirtest.Validate(t, b)
				var r struct{ ID, URL string }
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatal(err)
				}
				want := c.URL(typ, r.ID)
				if got, ok := c.Resolve(want); !ok || string(got) != string(b) {
					t.Errorf("%s/%s does not resolve at %s", typ, r.ID, want)
				}
				if typ != "NamingSystem" && r.URL != want {
					t.Errorf("%s/%s url = %q, want %q", typ, r.ID, r.URL, want)
				}
				if _, ok := c.Resolve(DefaultCanonicalBase + canonicalPath(typ, r.ID)); !ok {
					t.Errorf("%s/%s does not answer its default URL", typ, r.ID)
				}
			}
		}
		if n < 30 {
			t.Errorf("only %d conformance resources", n)
		}
	}
}

// TestEmittedSystemsPublished checks that every code system, extension and
// identifier system the fhir package writes is published.
func TestEmittedSystemsPublished(t *testing.T) {
	t.Parallel()
	c := NewConformance("")
	for _, u := range []string{NutritionSystem, AnthroSystem, AlertSystem, AlertSeveritySystem, ProgrammeSystem, InterventionSystem, PersonRefSystem,
		ExtRuleSet, ExtAlert, ExtAlertStatus, ExtEpisode, ExtOutcome, ExtPopulationGroup, ExtDeliveryDate, ExtBirthPrecision} {
		if _, ok := c.Resolve(u); !ok {
			t.Errorf("%s is not published", u)
		}
	}
}

func TestCapabilityDefinitions(t *testing.T) {
	t.Parallel()
	ops := []Operation{{"everything", "Patient"}, {"match", "Patient"}, {"link", "Patient"}, {"refer", "Patient"}, {"summary", "Patient"}, {"export", ""}, {"export", "Patient"}}
	b := Capability(CapabilityOptions{Base: "https://node.example/fhir", Now: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), TokenURL: "https://node.example/auth/token", Operations: ops})
	fhirtest.Validate(t, b)
	var cs struct {
		FhirVersion string `json:"fhirVersion"`
		Rest        []struct {
			Security struct {
				CORS    bool `json:"cors"`
				Service []struct {
					Coding []struct{ System, Code string }
				}
				Extension []struct {
					URL       string
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
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.FhirVersion != "4.0.1" {
		t.Errorf("fhirVersion = %s, want 4.0.1", cs.FhirVersion)
	}
	sec := cs.Rest[0].Security
	if !sec.CORS || len(sec.Service) != 1 || sec.Service[0].Coding[0].Code != "SMART-on-FHIR" ||
		len(sec.Extension) != 1 || sec.Extension[0].URL != oauthURIsExt || sec.Extension[0].Extension[0].ValueURI != "https://node.example/auth/token" {
		t.Errorf("security = %+v", sec)
	}
	c := NewConformance("")
	check := func(what, def string) {
		t.Helper()
		if def == "" {
			t.Errorf("%s has no definition", what)
			return
		}
		if strings.HasPrefix(def, DefaultCanonicalBase) {
			if _, ok := c.Resolve(def); !ok {
				t.Errorf("%s: definition %s is not published", what, def)
			}
		}
	}
	if len(cs.Rest[0].Operation) != 1 || cs.Rest[0].Operation[0].Name != "export" {
		t.Errorf("system operations = %+v", cs.Rest[0].Operation)
	}
	for _, op := range cs.Rest[0].Operation {
		check("$"+op.Name, op.Definition)
	}
	var patientOps []string
	for _, r := range cs.Rest[0].Resource {
		for _, p := range r.SearchParam {
			check(r.Type+"?"+p.Name, p.Definition)
		}
		for _, op := range r.Operation {
			check(r.Type+"/$"+op.Name, op.Definition)
			if r.Type == "Patient" {
				patientOps = append(patientOps, op.Name)
			}
		}
	}
	if strings.Join(patientOps, ",") != "everything,export,link,match,refer,summary" {
		t.Errorf("Patient operations = %v", patientOps)
	}
}
