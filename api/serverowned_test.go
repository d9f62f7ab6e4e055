package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"contigo/fhir"
)

// Derived results (z-scores, severe-wasting Conditions) cannot be written by
// any client token, through PUT, batch or transaction, and a client cannot
// POST its own z-score: the record is unchanged afterwards.
func TestServerOwnedResultsRefused(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	must(t, n.visit(pid, "2026-01-05", muacObs(108), oedemaObs("absent")), http.StatusOK)
	zs := n.derived(pid, "Observation", fhir.AnthroSystem)
	if len(zs) == 0 {
		t.Fatal("no derived z-score")
	}
	z := zs[0]
	var cond string
	p, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Latest() {
		if r.Type == "Condition" && fhir.IsDerived(r.ID) {
			cond = r.ID
		}
	}
	if cond == "" {
		t.Fatal("no derived Condition after MUAC 108 mm")
	}
	ministry := n.token(RoleMinistry, "CO")
	forged := `{"resourceType":"Observation","id":"` + z.ID + `","status":"final","code":{"coding":[{"system":"` + fhir.AnthroSystem + `","code":"wfl-z"}]},` +
		`"subject":{"reference":"Patient/` + pid + `"},"effectiveDateTime":"2026-01-05","valueQuantity":{"value":-4.5}}`
	resolved := `{"resourceType":"Condition","id":"` + cond + `","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"resolved"}]},` +
		`"code":{"text":"wasting"},"subject":{"reference":"Patient/` + pid + `"}}`
	for _, tok := range []string{n.hw, ministry, n.admin} {
		wantOutcome(t, n.do("PUT", "/fhir/Observation/"+z.ID, tok, forged), http.StatusForbidden, "", "Observation.id")
		wantOutcome(t, n.do("PUT", "/fhir/Condition/"+cond, tok, resolved), http.StatusForbidden, "", "Condition.id")
		tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + resolved + `,"request":{"method":"PUT","url":"Condition/` + cond + `"}}]}`
		wantOutcome(t, n.do("POST", "/fhir", tok, tx), http.StatusForbidden, "", "Bundle.entry[0].resource.id")
		batch := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + forged + `,"request":{"method":"PUT","url":"Observation/` + z.ID + `"}}]}`
		r := must(t, n.do("POST", "/fhir", tok, batch), http.StatusOK)
		if !strings.Contains(string(r.Body), `"status":"403`) {
			t.Errorf("batch PUT of a derived z-score: %s", r.Body)
		}
	}
	// A client-made z-score, alone, in a batch and in a transaction: 422.
	own := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"` + fhir.AnthroSystem + `","code":"wfl-z"}]},` +
		`"subject":{"reference":"Patient/` + pid + `"},"effectiveDateTime":"2026-01-05","valueQuantity":{"value":-4.5}}`
	wantOutcome(t, n.do("POST", "/fhir/Observation", n.hw, own), http.StatusUnprocessableEntity, "", "Observation.code.coding.system")
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + own + `,"request":{"method":"POST","url":"Observation"}}]}`
	wantOutcome(t, n.do("POST", "/fhir", n.hw, tx), http.StatusUnprocessableEntity, "", "Bundle.entry[0].resource.code.coding.system")
	// Every server-owned entry of a transaction is named in one answer.
	tx2 := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + resolved + `,"request":{"method":"PUT","url":"Condition/` + cond + `"}},` +
		`{"resource":` + own + `,"request":{"method":"POST","url":"Observation"}}]}`
	r2 := n.do("POST", "/fhir", n.hw, tx2)
	wantOutcome(t, r2, http.StatusForbidden, "", "Bundle.entry[0].resource.id")
	if got := strings.Join(issueExprs(t, r2), ","); got != "Bundle.entry[0].resource.id,Bundle.entry[1].resource.code.coding.system" {
		t.Errorf("transaction with two server-owned entries: issues at %s", got)
	}
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + own + `,"request":{"method":"POST","url":"Observation"}}]}`
	if r := must(t, n.do("POST", "/fhir", n.hw, batch), http.StatusOK); !strings.Contains(string(r.Body), `"status":"422`) {
		t.Errorf("batch POST of a client z-score: %s", r.Body)
	}

	// Nothing changed: same versions, same number of resources.
	after, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Latest()) != len(p.Latest()) {
		t.Errorf("resources %d, want %d", len(after.Latest()), len(p.Latest()))
	}
	for _, r := range p.Latest() {
		cur, ok := after.Current(r.Type, r.ID)
		if !ok || cur.Version != r.Version || !bytes.Equal(cur.Body, r.Body) {
			t.Errorf("%s/%s changed", r.Type, r.ID)
		}
	}
}
