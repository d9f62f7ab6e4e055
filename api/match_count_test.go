package api

import (
	"fmt"
	"slices"
	"testing"

	"contigo/records"
)

// TestMatchCountBest: a federated $match with count=k answers the first k
// entries of the answer with a larger count (each node keeps only its best
// count candidates before reading their Consent and rendering them, which
// must not change which ones the caller gets, nor their order).
func TestMatchCountBest(t *testing.T) {
	t.Parallel()
	nodes := startFederation(t, fedOptions{}, "CO", "EC", "PE")
	for cc, people := range map[records.Country][][3]string{
		"CO": {{"María José", "García Pérez", "2024-03-05"}, {"María", "García Pérez", "2024-03-06"}, {"José", "García Pérez", "2024-03-05"}},
		"EC": {{"María José", "García", "2024-03-05"}, {"María", "García López", "2024-03-05"}, {"Mariana", "García Pérez", "2023-03-05"}},
		"PE": {{"Maria Jose", "Garcia Perez", "2024-05-03"}, {"María José", "Pérez García", "2024-03-05"}},
	} {
		n := nodes[cc]
		for _, p := range people {
			must(t, n.do("POST", "/fhir/Patient", n.hw, childJSON(p[0], p[1], p[2], "")), 201)
		}
	}
	ec := nodes["EC"]
	patient := childJSON("Maria Jose", "Garcia Perez", "2024-03-05", "")
	answer := func(count int) []string {
		body := fmt.Sprintf(`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":%s},{"name":"count","valueInteger":%d}]}`, patient, count)
		es, issues := entries(t, must(t, ec.do("POST", "/fhir/Patient/$match?_federated=true", ec.hw, body), 200))
		if len(issues) != 0 {
			t.Fatalf("count %d: issues %v", count, issues)
		}
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s %v", e["fullUrl"], e["search"].(map[string]any)["score"]))
		}
		return out
	}
	all := answer(100)
	if len(all) < 5 {
		t.Fatalf("want at least 5 candidates across the countries, got %v", all)
	}
	for k := 1; k < len(all); k++ {
		if got := answer(k); !slices.Equal(got, all[:k]) {
			t.Errorf("count %d: got\n%v\nwant the first %d of\n%v", k, got, k, all)
		}
	}
}
