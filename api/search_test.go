package api

import (
	"net/url"
	"strings"
	"testing"
)

// entryIDs returns the ids of a Bundle's entries whose search mode is match.
func entryIDs(b map[string]any) []string {
	var ids []string
	entries, _ := b["entry"].([]any)
	for _, en := range entries {
		m := en.(map[string]any)
		if s, ok := m["search"].(map[string]any); ok && s["mode"] == "outcome" {
			continue
		}
		ids = append(ids, m["resource"].(map[string]any)["id"].(string))
	}
	return ids
}

// relative turns an absolute link into a path for e.do.
func relative(tb testing.TB, link string) string {
	tb.Helper()
	u, err := url.Parse(link)
	if err != nil {
		tb.Fatalf("link %q: %v", link, err)
	}
	return u.RequestURI()
}

func TestSearchPatients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	jose := e.createPatient("Pérez García", "José", "s-1")
	maria := e.createPatient("Núñez", "María", "s-2")
	must(t, e.do("POST", "/fhir/Patient", e.admin, strings.Replace(patientJSON("Ortiz", "Pedro", "s-3"), `"gender":"female","birthDate":"2023-04-02"`, `"gender":"male","birthDate":"2021-11-30"`, 1)), 201)

	for _, tt := range []struct {
		query string
		want  []string // ids, in any order; nil means "count only"
		n     int
	}{
		{query: "name=jose", want: []string{jose}},
		{query: "given=JOSÉ", want: []string{jose}},
		{query: "family=perez", want: []string{jose}},
		{query: "family=garcia", want: []string{jose}},
		{query: "name=nunez", want: []string{maria}},
		{query: "identifier=urn:contigo:test|s-2", want: []string{maria}},
		{query: "identifier=urn:contigo:test|s-9", want: []string{}},
		{query: "_id=" + jose, want: []string{jose}},
		{query: "gender=female", n: 2},
		{query: "gender=male", n: 1},
		{query: "birthdate=ge2023-01-01", n: 2},
		{query: "birthdate=lt2023-01-01", n: 1},
		{query: "birthdate=2023-04-02", n: 2},
		{query: "birthdate=le2021-11-30", n: 1},
		{query: "birthdate=gt2023-04-02", n: 0},
		{query: "_lastUpdated=ge2000-01-01", n: 3},
	} {
		t.Run(tt.query, func(t *testing.T) {
			b := must(t, e.do("GET", "/fhir/Patient?"+tt.query, e.hw, ""), 200).JSON(t)
			if b["type"] != "searchset" {
				t.Errorf("type %v", b["type"])
			}
			ids := entryIDs(b)
			if tt.want != nil {
				if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
					t.Errorf("got %v, want %v", ids, tt.want)
				}
			} else if len(ids) != tt.n {
				t.Errorf("got %d matches, want %d", len(ids), tt.n)
			}
		})
	}

	b := must(t, e.do("GET", "/fhir/Patient?gender=female&_summary=count", e.hw, ""), 200).JSON(t)
	if b["total"] != float64(2) || len(entryIDs(b)) != 0 {
		t.Errorf("_summary=count: total %v entries %d", b["total"], len(entryIDs(b)))
	}
	r := e.do("POST", "/fhir/Patient/_search", e.hw, "", "Content-Type", "application/x-www-form-urlencoded")
	must(t, r, 200)
	req := e.do("POST", "/fhir/Patient/_search", e.hw, "name=jose", "Content-Type", "application/x-www-form-urlencoded")
	if ids := entryIDs(must(t, req, 200).JSON(t)); len(ids) != 1 || ids[0] != jose {
		t.Errorf("POST _search got %v", ids)
	}
	b = must(t, e.do("GET", "/fhir/Patient?_sort=-birthdate", e.hw, ""), 200).JSON(t)
	if ids := entryIDs(b); len(ids) != 3 || ids[2] == jose || ids[2] == maria {
		t.Errorf("_sort=-birthdate: got %v, want the 2021 birth last", ids)
	}
}

func TestSearchClinical(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createPatient("Luna", "Sol", "c-1")
	b := e.createPatient("Mar", "Río", "c-2")
	must(t, e.do("POST", "/fhir/Encounter", e.hw, encounterJSON(a, "2025-01-10")), 201)
	must(t, e.do("POST", "/fhir/Encounter", e.hw, encounterJSON(b, "2025-02-10")), 201)
	must(t, e.do("POST", "/fhir/Observation", e.hw, weightJSON(a, "2025-01-10", 9, "kg")), 201)
	must(t, e.do("POST", "/fhir/Observation", e.hw, weightJSON(a, "2025-03-10", 9.4, "kg")), 201)
	must(t, e.do("POST", "/fhir/Observation", e.hw, weightJSON(b, "2025-03-10", 11, "kg")), 201)
	for _, tt := range []struct {
		path string
		n    int
	}{
		{"/fhir/Observation?subject=Patient/" + a, 2},
		{"/fhir/Observation?patient=" + a, 2},
		{"/fhir/Observation?code=http://loinc.org|29463-7", 3},
		{"/fhir/Observation?code=29463-7&date=ge2025-03-01", 2},
		{"/fhir/Observation?subject=Patient/" + a + "&date=lt2025-02-01", 1},
		{"/fhir/Observation?category=vital-signs", 3},
		{"/fhir/Encounter?subject=Patient/" + b, 1},
		{"/fhir/Encounter?date=ge2025-02-01", 1},
		{"/fhir/Condition?subject=Patient/" + a, 0},
		{"/fhir/Flag?subject=Patient/" + a + "&status=active", 0},
		{"/fhir/EpisodeOfCare?subject=Patient/" + a, 0},
	} {
		t.Run(tt.path, func(t *testing.T) {
			got := entryIDs(must(t, e.do("GET", tt.path, e.hw, ""), 200).JSON(t))
			if len(got) != tt.n {
				t.Errorf("got %d, want %d", len(got), tt.n)
			}
		})
	}
}

// TestPagingWhileWriting follows next links while other requests add
// matching records: no page repeats or skips a record that existed when the
// search started.
func TestPagingWhileWriting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := map[string]bool{}
	for i := range 7 {
		before[e.createPatient("Paginado", "Niño", "pg-"+string(rune('a'+i)))] = true
	}
	seen := map[string]int{}
	path := "/fhir/Patient?family=paginado&_count=3"
	pages := 0
	for path != "" {
		b := must(t, e.do("GET", path, e.hw, ""), 200).JSON(t)
		for _, id := range entryIDs(b) {
			seen[id]++
		}
		if pages == 0 && hasLink(b, "previous") {
			t.Error("first page has a previous link")
		}
		if pages > 0 && !hasLink(b, "previous") {
			t.Errorf("page %d lacks a previous link", pages+1)
		}
		if !hasLink(b, "self") {
			t.Errorf("page %d lacks a self link", pages+1)
		}
		// Someone else writes between pages.
		e.createPatient("Paginado", "Nueva", "pg-new-"+string(rune('a'+pages)))
		path = ""
		if next := link(b, "next"); next != "" {
			path = relative(t, next)
		}
		if pages++; pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	for id := range before {
		if seen[id] != 1 {
			t.Errorf("record seen %d times, want once", seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("record %s seen %d times", id, n)
		}
	}
}
