package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"contigo/fhir"
	"contigo/records"
)

// The write paths added after the first server-owned check (JSON Patch,
// DELETE, conditional update and delete, alone and inside a batch, DELETE
// inside a transaction) refuse every derived resource (z-score Observations,
// Condition, Flag: ids "<person>.n-...") with an
// OperationOutcome naming it, and a patch cannot move a client's own
// Observation into a server-owned code system. Read back afterwards, the
// record is exactly what it was.
func TestServerOwnedNewWritePathsRefused(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")
	must(t, n.visit(pid, "2026-01-05", muacObs(108), oedemaObs("absent")), http.StatusOK)
	before, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	var derived []records.Resource
	types := map[string]bool{}
	for _, r := range before.Latest() {
		if fhir.IsDerived(r.ID) {
			derived, types[r.Type] = append(derived, r), true
		}
	}
	for _, typ := range []string{"Observation", "Condition", "Flag"} {
		if !types[typ] {
			t.Fatalf("no derived %s after MUAC 108 mm (derived types %v)", typ, types)
		}
	}
	ministry := n.token(RoleMinistry, "CO")
	patchType := []string{"Content-Type", jsonPatchType}
	for _, r := range derived {
		name := r.Type + "/" + r.ID
		cur, err := fhir.Render(r)
		if err != nil {
			t.Fatal(err)
		}
		cond := "/fhir/" + r.Type + "?_id=" + url.QueryEscape(r.ID)
		for _, tok := range []string{n.hw, ministry, n.admin} {
			// JSON Patch: a real change, and one every resource type has.
			patches := []string{`[{"op":"add","path":"/language","value":"es"}]`}
			switch r.Type {
			case "Observation":
				patches = append(patches, `[{"op":"replace","path":"/valueQuantity/value","value":-4.5}]`)
			case "Condition":
				patches = append(patches, `[{"op":"replace","path":"/clinicalStatus/coding/0/code","value":"resolved"}]`)
			}
			for _, p := range patches {
				wantOutcome(t, n.do("PATCH", "/fhir/"+name, tok, p, patchType...), http.StatusForbidden, "forbidden", r.Type+".id")
			}
			wantOutcome(t, n.do("DELETE", "/fhir/"+name, tok, ""), http.StatusForbidden, "forbidden", r.Type+".id")
			wantOutcome(t, n.do("PUT", cond, tok, string(cur)), http.StatusForbidden, "forbidden", r.Type+".id")
			wantOutcome(t, n.do("DELETE", cond, tok, ""), http.StatusForbidden, "forbidden", r.Type+".id")

			cu, _ := json.Marshal(r.Type + "?_id=" + url.QueryEscape(r.ID))
			batch := `{"resourceType":"Bundle","type":"batch","entry":[` +
				`{"resource":` + string(cur) + `,"request":{"method":"PUT","url":` + string(cu) + `}},` +
				`{"request":{"method":"DELETE","url":` + string(cu) + `}},` +
				`{"request":{"method":"DELETE","url":"` + name + `"}}]}`
			b := must(t, n.do("POST", "/fhir", tok, batch), http.StatusOK)
			for i, st := range entryStatuses(t, b) {
				if !strings.HasPrefix(st, "403") {
					t.Errorf("batch entry %d on %s: status %q, want 403: %s", i, name, st, b.Body)
				}
			}
			tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"` + name + `"}}]}`
			wantOutcome(t, n.do("POST", "/fhir", tok, tx), http.StatusForbidden, "forbidden", "Bundle.entry[0].resource.id")
		}
	}
	// A client's own measurement cannot be patched into a z-score.
	var weight string
	for _, r := range before.Latest() {
		if r.Type == "Observation" && fhir.IsNutritionInput(r) {
			weight = r.ID
			break
		}
	}
	if weight == "" {
		t.Fatal("no measurement in the record")
	}
	toZ := `[{"op":"replace","path":"/code","value":{"coding":[{"system":"` + fhir.AnthroSystem + `","code":"wfl-z"}]}}]`
	wantOutcome(t, n.do("PATCH", "/fhir/Observation/"+weight, n.hw, toZ, patchType...), http.StatusUnprocessableEntity, "", "Observation.code.coding.system")

	// Nor can a client mint its own nutrition alert.
	flag := `{"resourceType":"Flag","status":"active","code":{"coding":[{"system":"` + fhir.AlertSystem + `","code":"new_severe_wasting"}]},"subject":{"reference":"Patient/` + pid + `"}}`
	wantOutcome(t, n.do("POST", "/fhir/Flag", n.hw, flag), http.StatusUnprocessableEntity, "", "Flag.code.coding.system")

	after, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Latest()) != len(before.Latest()) {
		t.Errorf("resources %d, want %d", len(after.Latest()), len(before.Latest()))
	}
	for _, r := range before.Latest() {
		cur, ok := after.Current(r.Type, r.ID)
		if !ok || cur.Version != r.Version || !bytes.Equal(cur.Body, r.Body) {
			t.Errorf("%s/%s changed", r.Type, r.ID)
		}
	}
}

// entryStatuses returns the response.status of each entry of a batch
// response.
func entryStatuses(t *testing.T, r resp) []string {
	t.Helper()
	var b struct {
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(b.Entry))
	for i, e := range b.Entry {
		out[i] = e.Response.Status
	}
	return out
}
