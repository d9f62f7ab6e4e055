package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"contigo/records"
)

// entriesByMode returns "Type/id" of a Bundle's entries by search mode.
func entriesByMode(b map[string]any) map[string][]string {
	out := map[string][]string{}
	entries, _ := b["entry"].([]any)
	for _, en := range entries {
		m := en.(map[string]any)
		mode := m["search"].(map[string]any)["mode"].(string)
		res := m["resource"].(map[string]any)
		id, _ := res["id"].(string)
		out[mode] = append(out[mode], res["resourceType"].(string)+"/"+id)
	}
	return out
}

// searchCount returns how many matches GET path (as e.hw) finds.
func (e *env) searchCount(t *testing.T, path string) int {
	t.Helper()
	return len(entriesByMode(must(t, e.do("GET", path, e.hw, ""), 200).JSON(t))["match"])
}

// createdID posts body to /fhir/typ and returns the new id.
func (e *env) createdID(t *testing.T, typ, body string) string {
	t.Helper()
	return must(t, e.do("POST", "/fhir/"+typ, e.admin, body), http.StatusCreated).JSON(t)["id"].(string)
}

func observationJSON(pid, enc, code, value, unit string) string {
	encRef := ""
	if enc != "" {
		encRef = `"encounter":{"reference":"Encounter/` + enc + `"},`
	}
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"urn:contigo:test-code","code":"` + code + `"}]},` +
		`"subject":{"reference":"Patient/` + pid + `"},` + encRef + `"effectiveDateTime":"2025-01-10",` +
		`"valueQuantity":{"value":` + value + `,"system":"http://unitsofmeasure.org","code":"` + unit + `","unit":"` + unit + `"}}`
}

func TestSearchStandardParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createdID(t, "Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:contigo:test","value":"std-1"}],`+
		`"name":[{"family":"Quispe","given":["Ana"]}],"gender":"female","birthDate":"2023-04-02",`+
		`"telecom":[{"system":"phone","value":"+57 300 000 0000"}],`+
		`"address":[{"line":["Calle 5 # 10"],"city":"Cúcuta","state":"Norte de Santander","country":"CO","postalCode":"540001"}]}`)
	b := e.createdID(t, "Patient", `{"resourceType":"Patient","name":[{"family":"Rojas","given":["Luis"]}],"gender":"male","birthDate":"2022-01-01",`+
		`"address":[{"city":"Quito","state":"Pichincha","country":"EC"}]}`)
	encA := e.createdID(t, "Encounter", encounterJSON(a, "2025-01-10"))
	e.createdID(t, "Encounter", strings.Replace(encounterJSON(b, "2025-01-11"), `"code":"AMB"`, `"code":"HH"`, 1))
	e.createdID(t, "Observation", observationJSON(a, encA, "wfl", "-2.5", "1"))
	e.createdID(t, "Observation", observationJSON(a, "", "wfl", "-1.2", "1"))
	e.createdID(t, "Observation", observationJSON(b, "", "len", "75.4", "cm"))
	e.createdID(t, "Observation", strings.Replace(observationJSON(b, "", "len", "80", "cm"), `"final"`, `"preliminary"`, 1))
	e.createdID(t, "Condition", `{"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},`+
		`"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},`+
		`"code":{"text":"anaemia"},"subject":{"reference":"Patient/`+a+`"},"encounter":{"reference":"Encounter/`+encA+`"},"onsetDateTime":"2024-06-01","recordedDate":"2025-01-10"}`)
	e.createdID(t, "Condition", `{"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"resolved"}]},`+
		`"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"provisional"}]},`+
		`"code":{"text":"cough"},"subject":{"reference":"Patient/`+b+`"},"onsetDateTime":"2025-01-01"}`)
	e.createdID(t, "Procedure", `{"resourceType":"Procedure","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"711029005"}]},`+
		`"subject":{"reference":"Patient/`+a+`"},"encounter":{"reference":"Encounter/`+encA+`"},"performedDateTime":"2025-01-10"}`)
	e.createdID(t, "MedicationAdministration", `{"resourceType":"MedicationAdministration","status":"completed","medicationCodeableConcept":{"coding":[{"system":"urn:contigo:test-med","code":"rutf"}]},`+
		`"subject":{"reference":"Patient/`+a+`"},"context":{"reference":"Encounter/`+encA+`"},"effectiveDateTime":"2025-01-10"}`)
	e.createdID(t, "Flag", `{"resourceType":"Flag","status":"active","code":{"text":"follow up"},"subject":{"reference":"Patient/`+a+`"},"encounter":{"reference":"Encounter/`+encA+`"},"period":{"start":"2025-01-10"}}`)

	for _, tt := range []struct {
		path string
		n    int
	}{
		{"/fhir/Patient?address-state=norte", 1},
		{"/fhir/Patient?address-state=Pichincha", 1},
		{"/fhir/Patient?address-city=cucuta", 1},
		{"/fhir/Patient?address-country=CO", 1},
		{"/fhir/Patient?address-postalcode=540001", 1},
		{"/fhir/Patient?address=calle", 1},
		{"/fhir/Patient?identifier=urn:contigo:test|std-1&family=quispe&given=ana&name=ana&birthdate=2023-04-02&gender=female", 1},
		{"/fhir/Observation?status=final", 3},
		{"/fhir/Observation?status=preliminary", 1},
		{"/fhir/Observation?encounter=Encounter/" + encA, 1},
		{"/fhir/Observation?encounter=" + encA + "&subject=Patient/" + a, 1},
		{"/fhir/Observation?value-quantity=lt-2|http://unitsofmeasure.org|1", 1},
		{"/fhir/Observation?value-quantity=lt-1||1", 2},
		{"/fhir/Observation?value-quantity=ge-1.2", 3},
		{"/fhir/Observation?value-quantity=gt-1.2", 2},
		{"/fhir/Observation?value-quantity=75.4|http://unitsofmeasure.org|cm", 1},
		{"/fhir/Observation?value-quantity=75|http://unitsofmeasure.org|cm", 1}, // 75 is [74.5, 75.5)
		{"/fhir/Observation?value-quantity=le80||cm&value-quantity=gt75.4||cm", 1},
		{"/fhir/Observation?value-quantity=ap78||cm", 2},
		{"/fhir/Observation?value-quantity=75.4||kg", 0},
		{"/fhir/Observation?patient=" + a + "&code=urn:contigo:test-code|wfl&date=2025-01-10", 2},
		{"/fhir/Encounter?class=AMB", 1},
		{"/fhir/Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|HH", 1},
		{"/fhir/Encounter?patient=" + a + "&status=finished&date=2025-01-10", 1},
		{"/fhir/Condition?clinical-status=active", 1},
		{"/fhir/Condition?clinical-status=http://terminology.hl7.org/CodeSystem/condition-clinical|resolved", 1},
		{"/fhir/Condition?verification-status=confirmed", 1},
		{"/fhir/Condition?verification-status=http://terminology.hl7.org/CodeSystem/condition-ver-status|provisional", 1},
		{"/fhir/Condition?onset-date=lt2025", 1},
		{"/fhir/Condition?recorded-date=2025-01-10", 1},
		{"/fhir/Condition?encounter=Encounter/" + encA, 1},
		{"/fhir/Procedure?encounter=" + encA + "&code=711029005&status=completed&date=2025-01-10", 1},
		{"/fhir/MedicationAdministration?context=Encounter/" + encA + "&effective-time=2025-01-10&code=rutf", 1},
		{"/fhir/Flag?encounter=Encounter/" + encA + "&patient=" + a, 1},
		{"/fhir/EpisodeOfCare?patient=" + a, 0},
		{"/fhir/Consent?patient=" + a, 0},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if got := e.searchCount(t, tt.path); got != tt.n {
				t.Errorf("got %d matches, want %d", got, tt.n)
			}
		})
	}
	for _, bad := range []string{"value-quantity=ne5", "value-quantity=abc", "value-quantity=5|kg", "encounter=Patient/x"} {
		wantOutcome(t, e.do("GET", "/fhir/Observation?"+bad, e.hw, ""), 400, "", strings.SplitN(bad, "=", 2)[0])
	}
}

func TestSearchIncludeRevinclude(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createPatient("Incluido", "Ana", "inc-1")
	b := e.createPatient("Otro", "Beto", "inc-2")
	encA := e.createdID(t, "Encounter", encounterJSON(a, "2025-01-10"))
	obsA := e.createdID(t, "Observation", observationJSON(a, encA, "wfl", "-1", "1"))
	obsA2 := e.createdID(t, "Observation", observationJSON(a, encA, "wfl", "-1.5", "1"))
	obsB := e.createdID(t, "Observation", observationJSON(b, "", "wfl", "0.3", "1"))

	got := entriesByMode(must(t, e.do("GET", "/fhir/Observation?patient="+a+"&_include=Observation:subject&_include=Observation:encounter:Encounter", e.hw, ""), 200).JSON(t))
	slices.Sort(got["match"])
	slices.Sort(got["include"])
	if want := []string{"Observation/" + obsA, "Observation/" + obsA2}; !slices.Equal(got["match"], sorted(want)) {
		t.Errorf("matches %v, want %v", got["match"], want)
	}
	if want := []string{"Encounter/" + encA, "Patient/" + a}; !slices.Equal(got["include"], want) {
		t.Errorf("included %v, want %v (each once)", got["include"], want)
	}

	got = entriesByMode(must(t, e.do("GET", "/fhir/Patient?_id="+a+","+b+"&_revinclude=Observation:subject&_revinclude=Encounter:patient", e.hw, ""), 200).JSON(t))
	if len(got["match"]) != 2 || len(got["include"]) != 4 || !slices.Contains(got["include"], "Observation/"+obsB) || !slices.Contains(got["include"], "Encounter/"+encA) {
		t.Errorf("_revinclude: %v", got)
	}
	got = entriesByMode(must(t, e.do("GET", "/fhir/Encounter?_id="+encA+"&_revinclude=Observation:encounter&_include=Encounter:subject", e.hw, ""), 200).JSON(t))
	if len(got["include"]) != 3 {
		t.Errorf("Encounter with _revinclude=Observation:encounter: %v", got)
	}
	for _, bad := range []string{"_include=Patient:subject", "_include=Observation:code", "_revinclude=Observation:encounter", "_include=Observation:subject:Encounter", "_include:iterate=Observation:subject"} {
		wantOutcome(t, e.do("GET", "/fhir/Observation?patient="+a+"&"+strings.Replace(bad, "Observation:encounter", "Observation:encounter", 1), e.hw, ""), 400, "", strings.SplitN(bad, "=", 2)[0])
	}

	// Audit: the request's one entry names every person whose resources
	// it returned, included ones too.
	all, _, err := e.store.Audits(context.Background(), "CO", records.AuditQuery{PersonID: b, Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, en := range all {
		if strings.HasPrefix(en.Interaction, "search") && slices.Contains(en.Persons, b) && slices.Contains(en.Persons, a) {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no search audit entry names both %s and %s: %+v", a, b, all)
	}
	// A token for another country reaches nothing there.
	ec := e.token(RoleHealthWorker, "EC")
	must(t, e.do("GET", "/countries/CO/fhir/Observation?_include=Observation:subject", ec, ""), 403)
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestSearchChainedIdentifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createPatient("Cadena", "Ana", "chain-1")
	b := e.createPatient("Cadena", "Beto", "chain-2")
	e.createdID(t, "Observation", observationJSON(a, "", "wfl", "-1", "1"))
	e.createdID(t, "Observation", observationJSON(b, "", "wfl", "1", "1"))
	e.createdID(t, "Encounter", encounterJSON(a, "2025-01-10"))
	for _, tt := range []struct {
		path string
		n    int
	}{
		{"/fhir/Observation?subject.identifier=urn:contigo:test|chain-1", 1},
		{"/fhir/Observation?patient.identifier=chain-2", 1},
		{"/fhir/Observation?subject:Patient.identifier=urn:contigo:test|chain-1,urn:contigo:test|chain-2", 2},
		{"/fhir/Observation?subject.identifier=urn:contigo:test|nobody", 0},
		{"/fhir/Observation?subject.identifier=chain-1&code=wfl", 1},
		{"/fhir/Encounter?patient.identifier=urn:contigo:test|chain-1", 1},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if got := e.searchCount(t, tt.path); got != tt.n {
				t.Errorf("got %d, want %d", got, tt.n)
			}
		})
	}
	wantOutcome(t, e.do("GET", "/fhir/Observation?subject.name=ana", e.hw, ""), 400, "", "subject.name")
	wantOutcome(t, e.do("GET", "/fhir/Observation?subject:Encounter.identifier=x", e.hw, ""), 400, "", "subject:Encounter.identifier")
}

const subsetPatient = `{"resourceType":"Patient","identifier":[{"system":"urn:contigo:test","value":"sub-1"}],` +
	`"name":[{"family":"Resumen","given":["Eva"]}],"gender":"female","birthDate":"2023-04-02",` +
	`"telecom":[{"system":"phone","value":"+57 300 000 0001"}],"maritalStatus":{"text":"single"},` +
	`"communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"es"}]}}]}`

func isSubsetted(res map[string]any) bool {
	meta, _ := res["meta"].(map[string]any)
	tags, _ := meta["tag"].([]any)
	for _, tg := range tags {
		if tg.(map[string]any)["code"] == "SUBSETTED" {
			return true
		}
	}
	return false
}

func TestReadAndSearchSubset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createdID(t, "Patient", subsetPatient)

	full := must(t, e.do("GET", "/fhir/Patient/"+id, e.hw, ""), 200).JSON(t)
	if full["communication"] == nil || isSubsetted(full) {
		t.Fatalf("plain read: %v", full)
	}
	sum := must(t, e.do("GET", "/fhir/Patient/"+id+"?_summary=true", e.hw, ""), 200).JSON(t)
	if sum["communication"] != nil || sum["maritalStatus"] != nil || sum["name"] == nil || sum["birthDate"] == nil || !isSubsetted(sum) || sum["id"] != id {
		t.Errorf("_summary=true: %v", sum)
	}
	el := must(t, e.do("GET", "/fhir/Patient/"+id+"?_elements=identifier,name", e.hw, ""), 200).JSON(t)
	if el["telecom"] != nil || el["gender"] != nil || el["name"] == nil || el["identifier"] == nil || !isSubsetted(el) {
		t.Errorf("_elements=identifier,name: %v", el)
	}
	data := must(t, e.do("GET", "/fhir/Patient/"+id+"/_history/1?_summary=data", e.hw, ""), 200).JSON(t)
	if data["communication"] == nil || !isSubsetted(data) {
		t.Errorf("vread _summary=data: %v", data)
	}
	text := must(t, e.do("GET", "/fhir/Patient/"+id+"?_summary=text", e.hw, ""), 200).JSON(t)
	if text["name"] != nil || !isSubsetted(text) {
		t.Errorf("_summary=text: %v", text)
	}
	if full := must(t, e.do("GET", "/fhir/Patient/"+id+"?_summary=false", e.hw, ""), 200).JSON(t); isSubsetted(full) {
		t.Errorf("_summary=false subsetted")
	}
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+id+"?_summary=count", e.hw, ""), 400, "", "_summary")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+id+"?_elements=name.family", e.hw, ""), 400, "", "_elements")

	// Observation _elements keeps the mandatory status and code.
	oid := e.createdID(t, "Observation", observationJSON(id, "", "wfl", "-1", "1"))
	obs := must(t, e.do("GET", "/fhir/Observation/"+oid+"?_elements=subject", e.hw, ""), 200).JSON(t)
	if obs["valueQuantity"] != nil || obs["status"] == nil || obs["code"] == nil || obs["subject"] == nil {
		t.Errorf("Observation _elements=subject: %v", obs)
	}

	b := must(t, e.do("GET", "/fhir/Patient?_id="+id+"&_elements=name", e.hw, ""), 200).JSON(t)
	res := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	if res["telecom"] != nil || res["name"] == nil || !isSubsetted(res) {
		t.Errorf("search _elements=name: %v", res)
	}
	if self := link(b, "self"); !strings.Contains(self, "_elements=name") {
		t.Errorf("self %s lacks _elements", self)
	}
	b = must(t, e.do("GET", "/fhir/Patient?_id="+id+"&_summary=true", e.hw, ""), 200).JSON(t)
	if res := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any); res["communication"] != nil || !isSubsetted(res) {
		t.Errorf("search _summary=true: %v", res)
	}
}

func TestSearchTotal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 3 {
		e.createPatient("Total", "Niña", "tot-"+string(rune('a'+i)))
	}
	for _, q := range []string{"family=total&_count=2", "family=total&_total=accurate&_count=2", "family=total&_total=estimate", "identifier=urn:contigo:test|tot-a"} {
		b := must(t, e.do("GET", "/fhir/Patient?"+q, e.hw, ""), 200).JSON(t)
		want := float64(3)
		if strings.HasPrefix(q, "identifier") {
			want = 1
		}
		if b["total"] != want {
			t.Errorf("%s: total %v, want %v", q, b["total"], want)
		}
	}
	if b := must(t, e.do("GET", "/fhir/Patient?family=total&_total=none", e.hw, ""), 200).JSON(t); b["total"] != nil {
		t.Errorf("_total=none: total %v", b["total"])
	}
	wantOutcome(t, e.do("GET", "/fhir/Patient?_total=all", e.hw, ""), 400, "", "_total")
}

func TestCompartmentSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createPatient("Compartimento", "Ana", "cmp-1")
	b := e.createPatient("Compartimento", "Beto", "cmp-2")
	e.createdID(t, "Observation", observationJSON(a, "", "wfl", "-1", "1"))
	e.createdID(t, "Observation", observationJSON(a, "", "len", "70", "cm"))
	e.createdID(t, "Observation", observationJSON(b, "", "wfl", "1", "1"))
	e.createdID(t, "Encounter", encounterJSON(a, "2025-01-10"))

	bd := must(t, e.do("GET", "/fhir/Patient/"+a+"/Observation?code=wfl", e.hw, ""), 200).JSON(t)
	if got := entriesByMode(bd)["match"]; len(got) != 1 {
		t.Errorf("Patient/a/Observation?code=wfl: %v", got)
	}
	if self := link(bd, "self"); !strings.Contains(self, "/Patient/"+a+"/Observation?code=wfl") {
		t.Errorf("self %s", self)
	}
	for path, n := range map[string]int{
		"/fhir/Patient/" + a + "/Observation":                       2,
		"/fhir/Patient/" + a + "/Encounter":                         1,
		"/fhir/Patient/" + b + "/Encounter":                         0,
		"/fhir/Patient/" + a + "/Patient":                           1,
		"/countries/CO/fhir/Patient/" + a + "/Observation?_count=1": 1,
	} {
		if got := e.searchCount(t, path); got != n {
			t.Errorf("%s: %d, want %d", path, got, n)
		}
	}
	must(t, e.do("GET", "/fhir/Patient/"+a+"/_history", e.hw, ""), 200)
	must(t, e.do("GET", "/fhir/Patient/"+a+"/$everything", e.hw, ""), 200)
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+a+"/Unknown", e.hw, ""), 404, "", "")
	wantOutcome(t, e.do("GET", "/fhir/Encounter/"+a+"/Observation", e.hw, ""), 404, "", "")
	wantOutcome(t, e.do("GET", "/fhir/Patient/"+a+"/Observation?bogus=1", e.hw, ""), 400, "", "bogus")
	must(t, e.do("GET", "/fhir/Patient/"+a+"/Observation", e.token(RoleHealthWorker, "EC"), ""), 403)
}

func TestSearchHandling(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createPatient("Manejo", "Ana", "hdl-1")
	wantOutcome(t, e.do("GET", "/fhir/Patient?family=manejo&foo=bar", e.hw, ""), 400, "", "foo")
	wantOutcome(t, e.do("GET", "/fhir/Patient?family=manejo&foo=bar", e.hw, "", "Prefer", "handling=strict"), 400, "", "foo")
	wantOutcome(t, e.do("GET", "/fhir/Patient?family:exact=manejo", e.hw, ""), 400, "", "family:exact")

	r := must(t, e.do("GET", "/fhir/Patient?family=manejo&foo=bar&family:exact=x&_include=Patient:link", e.hw, "", "Prefer", "handling=lenient"), 200)
	b := r.JSON(t)
	got := entriesByMode(b)
	if len(got["match"]) != 1 || got["match"][0] != "Patient/"+a || len(got["outcome"]) != 1 {
		t.Fatalf("lenient: %v", got)
	}
	self, _ := url.Parse(link(b, "self"))
	if q := self.Query(); q.Get("family") != "manejo" || q.Has("foo") || q.Has("family:exact") || q.Has("_include") {
		t.Errorf("self link %s shows ignored parameters", self)
	}
	entries := b["entry"].([]any)
	oo := entries[len(entries)-1].(map[string]any)["resource"].(map[string]any)
	var exprs []string
	for _, is := range oo["issue"].([]any) {
		m := is.(map[string]any)
		if m["severity"] != "warning" {
			t.Errorf("issue severity %v", m["severity"])
		}
		exprs = append(exprs, m["expression"].([]any)[0].(string))
	}
	slices.Sort(exprs)
	if strings.Join(exprs, ",") != "_include,family:exact,foo" {
		t.Errorf("outcome expressions %v", exprs)
	}
	// A known parameter with a bad value is an error even when lenient.
	wantOutcome(t, e.do("GET", "/fhir/Patient?birthdate=yesterday", e.hw, "", "Prefer", "handling=lenient"), 400, "", "birthdate")
}
