package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/fhir/fhirtest"
	"contigo/records"
	"contigo/records/nutrition"
)

// clock is a test-controlled clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// nenv is an API server with the nutrition integration on a clock the test
// controls (the records clock; tokens use the real one).
type nenv struct {
	*env
	clk  *clock
	nut  *Nutrition
	svc  *records.Service
	lead string // nutrition-lead token for CO
}

func newNutEnv(tb testing.TB, rules *nutrition.Registry) *nenv {
	tb.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	n := &nenv{clk: clk}
	n.env = newEnv(tb, func(cfg *Config) {
		nut, err := NewNutrition(NutritionConfig{Rules: rules, Key: testKey, Registry: cfg.Registry, Store: cfg.Service.Store()})
		if err != nil {
			tb.Fatalf("NewNutrition: %v", err)
		}
		n.nut = nut
		n.svc = records.NewService(cfg.Service.Store(), records.ServiceOptions{Now: clk.Now, OnWrite: nut.OnWrite})
		cfg.Service, cfg.Nutrition = n.svc, nut
		cfg.Timeout = 10 * time.Minute // benchmarks at 100,000 persons on the embedded engine
	})
	n.lead = n.token(RoleNutritionLead, "CO")
	return n
}

// child creates a Patient and returns its id.
func (n *nenv) person(gender, birth, area string) string {
	n.t.Helper()
	body := `{"resourceType":"Patient","gender":"` + gender + `","birthDate":"` + birth + `","address":[{"state":"` + area + `"}]}`
	return must(n.t, n.do("POST", "/fhir/Patient", n.hw, body), http.StatusCreated).JSON(n.t)["id"].(string)
}

func quantity(code, display string, v float64, unit string) string {
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `","display":"` + display + `"}]},` +
		`"subject":{"reference":"Patient/PID"},"effectiveDateTime":"DATE","valueQuantity":{"value":` + strconv.FormatFloat(v, 'f', -1, 64) +
		`,"unit":"` + unit + `","system":"http://unitsofmeasure.org","code":"` + unit + `"}}`
}

func muacObs(mm float64) string   { return quantity(fhir.LOINCMUAC, "MUAC", mm, "mm") }
func weightObs(kg float64) string { return quantity(fhir.LOINCWeight, "Body weight", kg, "kg") }
func lengthObs(cm float64) string { return quantity(fhir.LOINCLength, "Body length", cm, "cm") }

func oedemaObs(grade string) string {
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"` + fhir.NutritionSystem + `","code":"oedema"}]},` +
		`"subject":{"reference":"Patient/PID"},"effectiveDateTime":"DATE","valueCodeableConcept":{"coding":[{"system":"` + fhir.NutritionSystem + `","code":"` + grade + `"}]}}`
}

func pregnantObs() string {
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + fhir.LOINCPregnancy + `"}]},` +
		`"subject":{"reference":"Patient/PID"},"effectiveDateTime":"DATE","valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA15173-0"}]}}`
}

// visit sets the clock to noon of date and uploads the Observations as one
// transaction; it returns the response.
func (n *nenv) visit(pid, date string, obs ...string) resp {
	n.t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		n.t.Fatal(err)
	}
	n.clk.Set(d.Add(12 * time.Hour))
	var entries []string
	for i, o := range obs {
		o = strings.ReplaceAll(strings.ReplaceAll(o, "PID", pid), "DATE", date)
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:b0000000-0000-4000-8000-%012d","resource":%s,"request":{"method":"POST","url":"Observation"}}`, i+1, o))
	}
	return n.do("POST", "/fhir", n.hw, `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(entries, ",")+`]}`)
}

// alerts returns GET /alerts?query as the lead.
func (n *nenv) alerts(query string) AlertPage {
	n.t.Helper()
	r := must(n.t, n.do("GET", "/alerts?"+query, n.lead, ""), http.StatusOK)
	var p AlertPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		n.t.Fatalf("alerts: %v", err)
	}
	return p
}

// state returns the stored nutrition state of pid.
func (n *nenv) state(pid string) nutrition.State {
	n.t.Helper()
	p, err := n.svc.Person(n.t.Context(), "CO", pid)
	if err != nil {
		n.t.Fatal(err)
	}
	st, err := n.nut.State(p)
	if err != nil {
		n.t.Fatal(err)
	}
	return st
}

// active returns "kind/severity/status" of pid's active alerts, sorted.
func (n *nenv) active(pid string) []string {
	n.t.Helper()
	var out []string
	for _, al := range n.alerts("count=1000").Alerts {
		if al.PersonRef == n.nut.PersonRef("CO", pid) && al.Status != nutrition.StatusResolved && al.Status != nutrition.StatusClosed {
			out = append(out, al.Kind+"/"+al.Severity+"/"+al.Status)
		}
	}
	slices.Sort(out)
	return out
}

func wantActive(tb testing.TB, got []string, want ...string) {
	tb.Helper()
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		tb.Errorf("active alerts %q, want %q", got, want)
	}
}

// derived returns the current resources of pid's record whose code has system.
func (n *nenv) derived(pid, typ, system string) []records.Resource {
	n.t.Helper()
	p, err := n.svc.Person(n.t.Context(), "CO", pid)
	if err != nil {
		n.t.Fatal(err)
	}
	var out []records.Resource
	for _, r := range p.Latest() {
		if r.Type != typ {
			continue
		}
		for _, c := range r.Keys["code"] {
			if strings.HasPrefix(c, system+"|") {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// A child healthy, then moderate, then severe, admitted to OTP, recovering
// on two visits, discharged cured; every FHIR output validates.
func TestNutritionStoryCured(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-01-15", "Arauca")

	must(t, n.visit(pid, "2026-01-05", muacObs(140), oedemaObs("absent")), http.StatusOK)
	wantActive(t, n.active(pid))
	z := n.derived(pid, "Observation", fhir.AnthroSystem)
	if len(z) != 1 || !strings.Contains(string(z[0].Body), `"acfa-z"`) || !strings.Contains(string(z[0].Body), `"derivedFrom"`) {
		t.Fatalf("z-score Observations after a MUAC: %d", len(z))
	}
	for _, r := range z {
		b, err := fhir.Render(r)
		if err != nil {
			t.Fatal(err)
		}
		fhirtest.Validate(t, b)
	}

	must(t, n.visit(pid, "2026-01-26", muacObs(120), oedemaObs("absent")), http.StatusOK)
	wantActive(t, n.active(pid), "new_moderate_wasting/medium/open")
	if al := n.alerts("kind=new_moderate_wasting").Alerts[0]; al.History[0].Via != "test-health-worker" {
		t.Errorf("alert raised via %q, want the uploading user", al.History[0].Via)
	}

	must(t, n.visit(pid, "2026-02-02", muacObs(110), oedemaObs("absent")), http.StatusOK)
	wantActive(t, n.active(pid), "new_severe_wasting/high/open")
	conds := n.derived(pid, "Condition", fhir.NutritionSystem)
	var states []string
	for _, c := range conds {
		states = append(states, c.Keys["code:code"][0]+"="+c.Keys["status"][0])
	}
	slices.Sort(states)
	if !slices.Equal(states, []string{"moderate-wasting=resolved", "severe-wasting=active"}) {
		t.Errorf("Conditions %q", states)
	}

	r := must(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"2026-02-02"}`), http.StatusCreated)
	var adm EpisodeAnswer
	if err := json.Unmarshal(r.Body, &adm); err != nil {
		t.Fatal(err)
	}
	wantActive(t, n.active(pid), "new_severe_wasting/high/admitted")

	must(t, n.visit(pid, "2026-02-09", muacObs(122), oedemaObs("absent")), http.StatusOK)
	must(t, n.visit(pid, "2026-02-16", muacObs(126), oedemaObs("absent")), http.StatusOK)
	if st := n.state(pid); !st.Episodes[0].Open() || len(st.Episodes[0].Visits) != 2 {
		t.Errorf("after one recovering visit: %+v", st.Episodes[0])
	}
	must(t, n.visit(pid, "2026-02-23", muacObs(128), oedemaObs("absent")), http.StatusOK)
	wantActive(t, n.active(pid))
	ep := must(t, n.do("GET", "/fhir/EpisodeOfCare/"+adm.ID, n.hw, ""), http.StatusOK).JSON(t)
	if ep["status"] != "finished" || !strings.Contains(fmt.Sprint(ep["extension"]), "cured") {
		t.Errorf("episode after two recovering visits: status %v, %v", ep["status"], ep["extension"])
	}
	ev := must(t, n.do("GET", "/fhir/Patient/"+pid+"/$everything", n.hw, ""), http.StatusOK)
	if !strings.Contains(string(ev.Body), fhir.AlertSystem) {
		t.Errorf("$everything holds no alert Flag")
	}
	// The lead sees no names or record ids.
	all := must(t, n.do("GET", "/alerts?format=csv", n.lead, ""), http.StatusOK)
	if strings.Contains(string(all.Body), pid) {
		t.Errorf("GET /alerts leaks the record id")
	}
	fb := must(t, n.do("GET", "/alerts", n.lead, "", "Accept", "application/fhir+json"), http.StatusOK)
	if !strings.Contains(string(fb.Body), `"Flag"`) || strings.Contains(string(fb.Body), pid) {
		t.Errorf("Bundle of Flag: %s", fb.Body)
	}
	// Health workers do not see the sector-lead endpoints; leads no records.
	must(t, n.do("GET", "/alerts", n.hw, ""), http.StatusForbidden)
	must(t, n.do("GET", "/fhir/Patient/"+pid, n.lead, ""), http.StatusForbidden)
}

func TestNutritionInfantAtRisk(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("male", "2025-12-01", "Arauca")
	must(t, n.visit(pid, "2026-02-01", weightObs(3.2), lengthObs(52), muacObs(100), oedemaObs("absent")), http.StatusOK)
	got := n.active(pid)
	if len(got) != 1 || !strings.HasPrefix(got[0], "infant_at_risk/") {
		t.Errorf("infant: %q", got)
	}
	if len(n.derived(pid, "Condition", fhir.NutritionSystem)) != 1 {
		t.Errorf("no infant-at-risk Condition")
	}
}

// A woman with MUAC 220 mm: malnourished under the default (< 230) but not
// under the CO example (< 210).
func TestNutritionPLWThresholdByCountry(t *testing.T) {
	t.Parallel()
	co, err := nutrition.LoadDir("../records/nutrition/testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		rules *nutrition.Registry
		want  []string
	}{
		{"default", nil, []string{"plw_acute_malnutrition/medium/open"}},
		{"CO example", co, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNutEnv(t, tt.rules)
			pid := n.person("female", "1999-05-05", "Arauca")
			must(t, n.visit(pid, "2026-01-10", muacObs(220), pregnantObs()), http.StatusOK)
			wantActive(t, n.active(pid), tt.want...)
			st := n.state(pid)
			if len(st.Assessments) != 1 || st.Assessments[0].Subject != nutrition.SubjectPLW {
				t.Fatalf("assessments %+v", st.Assessments)
			}
			if rule := st.Assessments[0].Rule; tt.rules != nil && rule.Country != "CO" {
				t.Errorf("rule %+v, want the CO rule set", rule)
			}
		})
	}
}

func TestNutritionOedemaCritical(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("male", "2024-06-01", "Arauca")
	must(t, n.visit(pid, "2026-01-10", muacObs(130), oedemaObs("+++")), http.StatusOK)
	wantActive(t, n.active(pid), "nutritional_oedema/critical/open")
	p := n.alerts("severity=critical")
	if len(p.Alerts) != 1 || p.Alerts[0].Trigger.OedemaGrade != "+++" {
		t.Errorf("severity=critical: %+v", p.Alerts)
	}
	// Inpatient care, then transfer to OTP in the same treatment course.
	r := must(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"inpatient","date":"2026-01-10"}`), http.StatusCreated)
	var adm EpisodeAnswer
	if err := json.Unmarshal(r.Body, &adm); err != nil {
		t.Fatal(err)
	}
	wantActive(t, n.active(pid), "nutritional_oedema/critical/admitted")
	n.clk.Set(time.Date(2026, 1, 14, 12, 0, 0, 0, time.UTC))
	must(t, n.do("PATCH", "/episodes/"+adm.ID, n.hw, `{"transfer_to":"otp","reason":"oedema gone, appetite test passed"}`), http.StatusOK)
	st := n.state(pid)
	if len(st.Episodes) != 2 || st.Episodes[0].Outcome != nutrition.OutcomeTransferredInternal || st.Episodes[1].Programme != nutrition.ProgrammeOTP ||
		st.Episodes[1].TreatmentCourseID != st.Episodes[0].TreatmentCourseID {
		t.Errorf("after transfer: %+v", st.Episodes)
	}
	must(t, n.do("PATCH", "/episodes/"+adm.ID, n.hw, `{"outcome":"cured","reason":"again"}`), http.StatusConflict)
}

// A missed visit, then default, on a scheduler whose clock the test moves;
// two replicas scanning at once raise one alert.
func TestNutritionMissedVisitThenDefault(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("male", "2024-06-01", "Arauca")
	must(t, n.visit(pid, "2026-01-05", muacObs(110), oedemaObs("absent")), http.StatusOK)
	must(t, n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"otp","date":"2026-01-05"}`), http.StatusCreated)
	// Due 2026-01-12, grace 3 days: missed once the 16th starts.
	other := records.NewService(n.svc.Store(), records.ServiceOptions{Now: n.clk.Now, OnWrite: n.nut.OnWrite})
	scan := func(date string) {
		d, _ := time.Parse(time.DateOnly, date)
		n.clk.Set(d.Add(2 * time.Hour))
		var wg sync.WaitGroup
		for _, svc := range []*records.Service{n.svc, other} {
			wg.Go(func() {
				if _, err := n.nut.RunFollowUp(t.Context(), svc, "CO", n.clk.Now()); err != nil {
					t.Errorf("RunFollowUp: %v", err)
				}
			})
		}
		wg.Wait()
	}
	scan("2026-01-15")
	wantActive(t, n.active(pid), "new_severe_wasting/high/admitted")
	scan("2026-01-16")
	wantActive(t, n.active(pid), "missed_follow_up/medium/open", "new_severe_wasting/high/admitted")
	v := n.state(pid)
	scan("2026-01-16") // again: nothing changes
	if w := n.state(pid); len(w.Alerts) != len(v.Alerts) {
		t.Errorf("a second scan changed the alerts: %d -> %d", len(v.Alerts), len(w.Alerts))
	}
	scan("2026-01-23") // second miss: defaulted
	st := n.state(pid)
	if ep := st.Episodes[0]; ep.Outcome != nutrition.OutcomeDefaulted {
		t.Errorf("episode outcome %q, want defaulted", ep.Outcome)
	}
	got := n.active(pid)
	if !slices.Contains(got, "missed_follow_up/high/open") {
		t.Errorf("after default: %q", got)
	}
	if n := strings.Count(strings.Join(got, ","), "missed_follow_up"); n != 1 {
		t.Errorf("%d missed_follow_up alerts", n)
	}
}

// An implausible MUAC (change of more than 15 mm in 14 days) is stored,
// flagged, and raises implausible_measurement; the correction clears it.
func TestNutritionImplausibleThenCorrection(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-03-01", "Arauca")
	must(t, n.visit(pid, "2026-01-05", muacObs(140), oedemaObs("absent")), http.StatusOK)
	r := must(t, n.visit(pid, "2026-01-08", muacObs(118), oedemaObs("absent")), http.StatusOK)
	got := n.active(pid)
	if !slices.Contains(got, "implausible_measurement/low/open") {
		t.Fatalf("implausible MUAC: %q", got)
	}
	// The correction: the MUAC was 138.
	loc := r.JSON(t)["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["location"].(string)
	id := strings.Split(loc, "/")[1]
	body := strings.ReplaceAll(strings.ReplaceAll(muacObs(138), "PID", pid), "DATE", "2026-01-08")
	body = strings.Replace(body, `{"resourceType":"Observation",`, `{"resourceType":"Observation","id":"`+id+`",`, 1)
	must(t, n.do("PUT", "/fhir/Observation/"+id, n.hw, body), http.StatusOK)
	wantActive(t, n.active(pid))
	p := n.alerts("kind=implausible_measurement&status=resolved")
	if len(p.Alerts) != 1 || len(p.Alerts[0].History) < 2 {
		t.Errorf("resolved implausible alert with history: %+v", p.Alerts)
	}
	// Deleting the measurement (through the records service: the FHIR API
	// has no DELETE) re-assesses too: the visit keeps its oedema finding.
	_, err := n.svc.Write(t.Context(), "CO", records.Write{PersonID: pid, Changes: []records.Change{{Method: "delete", Resource: records.Resource{Type: "Observation", ID: id}}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := n.state(pid); len(st.Assessments) != 2 || st.Assessments[1].MUACmm != nil {
		t.Errorf("after deleting the MUAC: %+v", st.Assessments)
	}
}

// Impossible values are refused with an OperationOutcome naming the field,
// and nothing is stored.
func TestNutritionImpossibleRejected(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-03-01", "Arauca")
	r := n.visit(pid, "2026-01-05", muacObs(40), oedemaObs("absent"))
	wantOutcome(t, r, http.StatusUnprocessableEntity, "", "Observation.where(code.coding.code='56072-2').valueQuantity.value")
	p, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Latest()) != 1 || p.Nutrition != nil {
		t.Errorf("after a refused visit the record holds %d resources", len(p.Latest()))
	}
}

// Exact thresholds through HTTP: MUAC 114/115/124/125 mm, WHZ -2.00/-3.00.
func TestNutritionThresholdsHTTP(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	rs := nutrition.DefaultRuleSet()
	weightFor := func(want float64) float64 {
		for g := 6000; g <= 10000; g++ {
			w := float64(g) / 1000
			m := nutrition.Measurement{ID: "m", Date: time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC), Sex: nutrition.SexMale,
				BirthDate: time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), BirthPrecision: nutrition.PrecisionDay,
				WeightKg: &w, LengthCm: nutrition.F(76), Position: nutrition.PositionLying, MUACmm: nutrition.MM(140), Oedema: nutrition.OedemaAbsent}
			if a := nutrition.Assess(m, nil, rs); a.Z.WHZ != nil && *a.Z.WHZ == want {
				return w
			}
		}
		t.Fatalf("no weight gives WHZ %v", want)
		return 0
	}
	tests := []struct {
		name    string
		whz     float64
		muac    float64
		want    []string
		wantWHZ float64
	}{
		{"MUAC 114", 0, 114, []string{"new_severe_wasting/high/open"}, 0},
		{"MUAC 115", 0, 115, []string{"new_moderate_wasting/medium/open"}, 0},
		{"MUAC 124", 0, 124, []string{"new_moderate_wasting/medium/open"}, 0},
		{"MUAC 125", 0, 125, nil, 0},
		{"WHZ -2.00", -2.00, 140, nil, -2.00},
		{"WHZ -3.00", -3.00, 140, []string{"new_moderate_wasting/medium/open"}, -3.00},
	}
	for _, tt := range tests {
		pid := n.person("male", "2024-01-10", "Arauca")
		obs := []string{muacObs(tt.muac), oedemaObs("absent")}
		if tt.whz != 0 {
			obs = append(obs, weightObs(weightFor(tt.whz)), lengthObs(76))
		}
		must(t, n.visit(pid, "2025-03-10", obs...), http.StatusOK)
		wantActive(t, n.active(pid), tt.want...)
		if tt.wantWHZ != 0 {
			st := n.state(pid)
			if z := st.Assessments[0].Z.WHZ; z == nil || *z != tt.wantWHZ {
				t.Errorf("%s: WHZ %v", tt.name, z)
			}
		}
	}
}

// Alert status changes by people are recorded with who and when; CSV and
// paging.
func TestNutritionAlertPatchCSVPaging(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	for i := range 3 {
		pid := n.person("male", "2024-06-01", "Arauca")
		must(t, n.visit(pid, fmt.Sprintf("2026-01-%02d", 5+i), muacObs(110), oedemaObs("absent")), http.StatusOK)
	}
	p1 := n.alerts("count=2")
	if len(p1.Alerts) != 2 || p1.Next == "" || p1.Total != 3 {
		t.Fatalf("page 1: %d alerts, next %q, total %d", len(p1.Alerts), p1.Next, p1.Total)
	}
	u := p1.Next[strings.Index(p1.Next, "/alerts"):]
	var p2 AlertPage
	if err := json.Unmarshal(must(t, n.do("GET", u, n.lead, ""), http.StatusOK).Body, &p2); err != nil {
		t.Fatal(err)
	}
	if len(p2.Alerts) != 1 || p2.Next != "" || p2.Alerts[0].ID == p1.Alerts[0].ID || p2.Alerts[0].ID == p1.Alerts[1].ID {
		t.Fatalf("page 2: %+v", p2)
	}
	id := p1.Alerts[0].ID
	r := must(t, n.do("PATCH", "/alerts/"+id, n.lead, `{"status":"acknowledged","reason":"called the site"}`), http.StatusOK)
	var al nutrition.Alert
	if err := json.Unmarshal(r.Body, &al); err != nil {
		t.Fatal(err)
	}
	last := al.History[len(al.History)-1]
	if al.Status != "acknowledged" || last.Actor != "test-nutrition-lead" || last.Reason != "called the site" {
		t.Errorf("after PATCH: %s, history %+v", al.Status, al.History)
	}
	wantOutcome(t, n.do("PATCH", "/alerts/"+id, n.lead, `{"status":"closed"}`), http.StatusUnprocessableEntity, "", "")
	must(t, n.do("PATCH", "/alerts/nope", n.lead, `{"status":"acknowledged"}`), http.StatusNotFound)
	if got := n.alerts("status=acknowledged"); len(got.Alerts) != 1 {
		t.Errorf("status=acknowledged: %d", len(got.Alerts))
	}
	if got := n.alerts("created_since=2026-01-06&created_until=2026-01-06"); len(got.Alerts) != 1 {
		t.Errorf("created on 2026-01-06: %d", len(got.Alerts))
	}
	c := must(t, n.do("GET", "/alerts", n.lead, "", "Accept", "text/csv"), http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(string(c.Body))).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "id" || len(rows[1]) != len(alertColumns) {
		t.Errorf("CSV: %v %q", err, c.Body)
	}
	// A token for another country only.
	must(t, n.do("GET", "/alerts?country=CO", n.token(RoleNutritionLead, "EC"), ""), http.StatusForbidden)
}

// Stored results keep the rule set that produced them when the
// configuration changes; new results name the new one. The alert's Flag
// keeps its history in versions.
func TestNutritionConfigChangeKeepsResults(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	pid := n.person("female", "1999-05-05", "Arauca")
	must(t, n.visit(pid, "2026-01-10", muacObs(220), pregnantObs()), http.StatusOK)
	co, err := nutrition.LoadDir("../records/nutrition/testdata")
	if err != nil {
		t.Fatal(err)
	}
	// The node restarts with the CO rule set on the same database.
	nut2, err := NewNutrition(NutritionConfig{Rules: co, Key: testKey, Store: n.svc.Store()})
	if err != nil {
		t.Fatal(err)
	}
	svc2 := records.NewService(n.svc.Store(), records.ServiceOptions{Now: n.clk.Now, OnWrite: nut2.OnWrite})
	srv2, err := New(Config{Service: svc2, Countries: []records.Country{"CO", "EC"}, Key: testKey, Nutrition: nut2})
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv2
	must(t, n.visit(pid, "2026-01-24", muacObs(222), pregnantObs()), http.StatusOK)
	st := n.state(pid)
	if len(st.Assessments) != 2 || st.Assessments[0].Rule.Country != "" || st.Assessments[1].Rule.Country != "CO" {
		t.Fatalf("rules %+v / %+v", st.Assessments[0].Rule, st.Assessments[1].Rule)
	}
	// Under CO (< 210 mm) the woman is no longer malnourished: the alert resolves.
	wantActive(t, n.active(pid))
	flags := n.derived(pid, "Flag", fhir.AlertSystem)
	if len(flags) != 1 {
		t.Fatalf("%d alert Flags", len(flags))
	}
	h := must(t, n.do("GET", "/fhir/Flag/"+flags[0].ID+"/_history", n.hw, ""), http.StatusOK).JSON(t)
	if got := len(h["entry"].([]any)); got < 2 {
		t.Errorf("Flag history has %d versions, want the open and the resolved one", got)
	}
}
