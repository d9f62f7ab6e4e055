package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"contigo/records/nutrition"
)

// GET /data-quality/heaping through the real router on the embedded
// database: a measurer whose weights all end in .0 is named for the site;
// one whose weights do not is not; health workers may not ask.
func TestHeapingEndpoint(t *testing.T) {
	rs, err := nutrition.ParseRuleSet([]byte(`{"data_quality": {"heaping": {"share_gt": 0.4, "min_records": 3}}}`))
	if err != nil {
		t.Fatal(err)
	}
	n := newNutEnv(t, nutrition.NewRegistry(rs))
	performed := func(obs, who string) string {
		return strings.Replace(obs, `"effectiveDateTime"`, `"performer":[{"type":"Practitioner","identifier":{"value":"`+who+`"}}],"effectiveDateTime"`, 1)
	}
	for i := range 3 {
		pid := n.person("female", "2024-06-01", "Arauca")
		date := fmt.Sprintf("2026-01-%02d", 10+i)
		must(t, n.visit(pid, date, performed(weightObs(9+float64(i)), "pr-heap")), http.StatusOK)
		pid = n.person("male", "2024-06-01", "Arauca")
		must(t, n.visit(pid, date, performed(weightObs(9.13+float64(i)), "pr-ok")), http.StatusOK)
	}
	r := must(t, n.do("GET", "/data-quality/heaping?country=CO&from=2026-01-01&to=2026-02-01", n.lead, ""), http.StatusOK)
	var got heapingReport
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Country != "CO" || got.From != "2026-01-01" || got.To != "2026-02-01" || len(got.Warnings) != 1 {
		t.Fatalf("report %+v", got)
	}
	if w := got.Warnings[0]; w.Measurer != "Practitioner|pr-heap" || w.Variable != nutrition.HeapWeight || w.Records != 3 || w.Heaped != 3 || w.Share != 1 {
		t.Errorf("warning %+v", w)
	}
	r = must(t, n.do("GET", "/data-quality/heaping?country=CO&from=2026-01-11&to=2026-02-01", n.lead, ""), http.StatusOK)
	if err := json.Unmarshal(r.Body, &got); err != nil || len(got.Warnings) != 0 {
		t.Errorf("two records in the window: %+v %v", got, err)
	}
	must(t, n.do("GET", "/data-quality/heaping?from=2026-13-01", n.lead, ""), http.StatusBadRequest)
	must(t, n.do("GET", "/data-quality/heaping", n.hw, ""), http.StatusForbidden)
}
