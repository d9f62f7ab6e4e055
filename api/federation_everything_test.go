package api

import (
	"fmt"
	"strings"
	"testing"
)

// TestFederatedEverythingWholeFromPeer: $everything is paged (50 a page by
// default), but the record a peer merges into a federated $everything is
// whole: a linked record of more than a page comes back entire.
func TestFederatedEverythingWholeFromPeer(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC")
	co, ec := nodes["CO"], nodes["EC"]
	coID := must(t, co.do("POST", "/fhir/Patient", co.hw, childJSON("Daniela", "Quispe Mamani", "2023-11-20", "")), 201).JSON(t)["id"].(string)
	ecID := must(t, ec.do("POST", "/fhir/Patient", ec.hw, childJSON("Daniela", "Quispe Mamani", "2023-11-20", "")), 201).JSON(t)["id"].(string)
	var es []string
	for i := range 60 {
		es = append(es, `{"resource":`+weightJSON(ecID, fmt.Sprintf("2025-%02d-%02d", 1+i/28, 1+i%28), 9.5, "kg")+`,"request":{"method":"POST","url":"Observation"}}`)
	}
	must(t, ec.do("POST", "/fhir", ec.hw, `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(es, ",")+`]}`), 200)
	must(t, ec.do("POST", "/fhir/Consent", ec.hw, consentJSON(ecID, "active", "permit")), 201)
	must(t, co.do("POST", "/fhir/Patient/"+coID+"/$link", co.hw,
		`{"resourceType":"Parameters","parameter":[{"name":"country","valueCode":"EC"},{"name":"patient","valueString":"`+ecID+`"}]}`), 200)

	own := must(t, ec.do("GET", "/fhir/Patient/"+ecID+"/$everything?_count=1000", ec.hw, ""), 200).JSON(t)["total"].(float64)
	if own <= 50 {
		t.Fatalf("EC's record holds %v resources, want more than a page", own)
	}
	merged, issues := entries(t, must(t, co.do("GET", "/fhir/Patient/"+coID+"/$everything?_federated=true", co.hw, ""), 200))
	n := 0
	for _, e := range merged {
		if countryTag(e) == "EC" {
			n++
		}
	}
	if len(issues) != 0 || float64(n) != own {
		t.Errorf("merged record holds %d of EC's %v resources (issues %v)", n, own, issues)
	}
}
