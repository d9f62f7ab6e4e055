package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"contigo/fhir"
	"contigo/records/nutrition"
)

// flagIdentifier returns the value of a Flag's identifier of system
// fhir.AlertIDSystem.
func flagIdentifier(tb testing.TB, body []byte) string {
	tb.Helper()
	var f struct {
		ID         string `json:"id"`
		Identifier []struct{ System, Value string }
	}
	if err := json.Unmarshal(body, &f); err != nil {
		tb.Fatalf("Flag: %v", err)
	}
	for _, i := range f.Identifier {
		if i.System == fhir.AlertIDSystem {
			return i.Value
		}
	}
	return ""
}

// oneAlert records a child with one visit of severe wasting (MUAC 110 mm)
// and returns the child's id, the canonical id of the one alert it raises
// and the id of the alert's one Flag in the record.
func (n *nenv) oneAlert() (pid, alertID, flagID string) {
	n.t.Helper()
	pid = n.person("male", "2024-06-01", "Arauca")
	must(n.t, n.visit(pid, "2026-01-05", muacObs(110), oedemaObs("absent")), http.StatusOK)
	page := n.alerts("")
	if len(page.Alerts) != 1 {
		n.t.Fatalf("%d alerts, want 1", len(page.Alerts))
	}
	flags := n.derived(pid, "Flag", fhir.AlertSystem)
	if len(flags) != 1 {
		n.t.Fatalf("%d record Flags, want 1", len(flags))
	}
	return pid, page.Alerts[0].ID, flags[0].ID
}

// One alert has one id everywhere: the /alerts row (JSON, CSV, FHIR), its
// pseudonymous Flag, the identifier of the Flag in the record (read at
// /fhir/Flag/{id} and in $everything, which is what peers get), GET and
// PATCH /alerts/{id} by either id, and no alert id in the metrics.
func TestAlertOneID(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid, id, flagID := n.oneAlert()

	c := must(t, n.do("GET", "/alerts", n.lead, "", "Accept", "text/csv"), http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(string(c.Body))).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != id {
		t.Errorf("CSV id: %v %q, want %s", err, c.Body, id)
	}
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		}
	}
	if err := json.Unmarshal(must(t, n.do("GET", "/alerts?format=fhir", n.lead, ""), http.StatusOK).Body, &b); err != nil || len(b.Entry) != 1 {
		t.Fatalf("FHIR page: %v, %d entries", err, len(b.Entry))
	}
	if got := flagIdentifier(t, b.Entry[0].Resource); got != id || !strings.HasSuffix(b.Entry[0].FullURL, "/alerts/"+id) {
		t.Errorf("pseudonymous Flag: identifier %q, fullUrl %q, want %s", got, b.Entry[0].FullURL, id)
	}

	if flagID == id {
		t.Fatalf("record Flag id %s is the pseudonymous id", flagID)
	}
	if got := flagIdentifier(t, must(t, n.do("GET", "/fhir/Flag/"+flagID, n.hw, ""), http.StatusOK).Body); got != id {
		t.Errorf("/fhir/Flag/%s identifier %q, want %s", flagID, got, id)
	}
	ev := string(must(t, n.do("GET", "/fhir/Patient/"+pid+"/$everything", n.hw, ""), http.StatusOK).Body)
	if !strings.Contains(ev, `"value":"`+id+`"`) {
		t.Errorf("$everything carries no Flag identifier %s", id)
	}

	for _, tt := range []struct{ name, path string }{{"canonical id", id}, {"record Flag id", flagID}} {
		t.Run(tt.name, func(t *testing.T) {
			var al nutrition.Alert
			if err := json.Unmarshal(must(t, n.do("GET", "/alerts/"+tt.path, n.lead, ""), http.StatusOK).Body, &al); err != nil || al.ID != id {
				t.Errorf("GET /alerts/%s: %v, id %q, want %s", tt.path, err, al.ID, id)
			}
			f := must(t, n.do("GET", "/alerts/"+tt.path+"?format=fhir", n.lead, ""), http.StatusOK)
			if got := f.JSON(t)["id"]; got != id {
				t.Errorf("GET /alerts/%s?format=fhir: id %v, want %s", tt.path, got, id)
			}
			r := must(t, n.do("GET", "/alerts/"+tt.path, n.lead, "", "Accept", "text/csv"), http.StatusOK)
			if rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll(); err != nil || len(rows) != 2 || rows[1][0] != id {
				t.Errorf("GET /alerts/%s CSV: %v %q", tt.path, err, r.Body)
			}
		})
	}
	var al nutrition.Alert
	if err := json.Unmarshal(must(t, n.do("PATCH", "/alerts/"+flagID, n.lead, `{"status":"acknowledged","reason":"called"}`), http.StatusOK).Body, &al); err != nil || al.ID != id || al.Status != "acknowledged" {
		t.Errorf("PATCH by record Flag id: %v, %s %s", err, al.ID, al.Status)
	}
	if got := n.alerts("status=acknowledged"); len(got.Alerts) != 1 || got.Alerts[0].ID != id {
		t.Errorf("after PATCH: %+v", got.Alerts)
	}

	for _, bad := range []string{"nope", pid + ".n-fnosuchalert", "nosuchref.fabc"} {
		wantOutcome(t, n.do("GET", "/alerts/"+bad, n.lead, ""), http.StatusNotFound, "not-found", "")
	}
	must(t, n.do("GET", "/alerts/"+id, n.hw, ""), http.StatusForbidden)                                           // not a lead role
	must(t, n.do("GET", "/alerts/"+id+"?country=CO", n.token(RoleNutritionLead, "EC"), ""), http.StatusForbidden) // another country

	m := string(must(t, n.do("GET", "/metrics", "", ""), http.StatusOK).Body)
	if !strings.Contains(m, `url="/alerts/:id"`) || strings.Contains(m, id) || strings.Contains(m, flagID) {
		t.Errorf("metrics: want the route template /alerts/:id and no alert id")
	}
}
