package fhir

import (
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

func mustQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseSearch(t *testing.T) {
	t.Parallel()
	ge, lt, eq, pre := records.OpGe, records.OpLt, records.OpEq, records.OpPrefix
	tests := []struct {
		typ, query string
		want       []records.Cond
	}{
		{"Patient", "identifier=https://registro.gov.co/nuip|123", []records.Cond{{Key: "identifier", Op: eq, Values: []string{"https://registro.gov.co/nuip|123"}}}},
		{"Patient", "identifier=|123", []records.Cond{{Key: "identifier", Op: eq, Values: []string{"|123"}}}},
		{"Patient", "identifier=123,456", []records.Cond{{Key: "identifier:code", Op: eq, Values: []string{"123", "456"}}}},
		{"Patient", `identifier=a\,b`, []records.Cond{{Key: "identifier:code", Op: eq, Values: []string{"a,b"}}}},
		{"Patient", "name=JOSÉ", []records.Cond{{Key: "name", Op: pre, Values: []string{"jose"}}}},
		{"Patient", "family=Pérez&given=maria", []records.Cond{{Key: "family", Op: pre, Values: []string{"perez"}}, {Key: "given", Op: pre, Values: []string{"maria"}}}},
		{"Patient", "gender=female", []records.Cond{{Key: "gender", Op: eq, Values: []string{"female"}}}},
		{"Patient", "gender=http://hl7.org/fhir/administrative-gender|male", []records.Cond{{Key: "gender", Op: eq, Values: []string{"male"}}}},
		{"Patient", "birthdate=2020", []records.Cond{{Key: "birthdate", Op: ge, Values: []string{"2020"}}, {Key: "birthdate", Op: lt, Values: []string{"2021"}}}},
		{"Patient", "birthdate=eq2020-12", []records.Cond{{Key: "birthdate", Op: ge, Values: []string{"2020-12"}}, {Key: "birthdate", Op: lt, Values: []string{"2021-01"}}}},
		{"Patient", "birthdate=ge2020-05-03", []records.Cond{{Key: "birthdate", Op: ge, Values: []string{"2020-05-03"}}}},
		{"Patient", "birthdate=gt2020-05-03", []records.Cond{{Key: "birthdate", Op: ge, Values: []string{"2020-05-04"}}}},
		{"Patient", "birthdate=lt2020-05", []records.Cond{{Key: "birthdate", Op: lt, Values: []string{"2020-05"}}}},
		{"Patient", "birthdate=le2020-12-31", []records.Cond{{Key: "birthdate", Op: lt, Values: []string{"2021-01-01"}}}},
		{"Patient", "_id=abc,def", []records.Cond{{Key: "_id", Op: eq, Values: []string{"abc", "def"}}}},
		{"Patient", "_lastUpdated=ge2026-01-10T10:00:00-05:00", []records.Cond{{Key: "_lastUpdated", Op: ge, Values: []string{"2026-01-10T15:00:00.000Z"}}}},
		{"Patient", "_lastUpdated=gt2026-01-10T10:00Z", []records.Cond{{Key: "_lastUpdated", Op: ge, Values: []string{"2026-01-10T10:01:00.000Z"}}}},
		{"Observation", "subject=Patient/p1&code=http://loinc.org|29463-7", []records.Cond{{Key: "code", Op: eq, Values: []string{"http://loinc.org|29463-7"}}, {Key: "subject", Op: eq, Values: []string{"Patient/p1"}}}},
		{"Observation", "patient=p1&category=vital-signs", []records.Cond{{Key: "category:code", Op: eq, Values: []string{"vital-signs"}}, {Key: "subject", Op: eq, Values: []string{"Patient/p1"}}}},
		{"Observation", "subject=https://node.example/fhir/Patient/p1", []records.Cond{{Key: "subject", Op: eq, Values: []string{"Patient/p1"}}}},
		{"Observation", "date=ge2026-01-01&date=lt2026-02", []records.Cond{{Key: "date", Op: ge, Values: []string{"2026-01-01"}}, {Key: "date", Op: lt, Values: []string{"2026-02"}}}},
		{"Encounter", "subject=Patient/p1&date=2026-01-10", []records.Cond{{Key: "date", Op: ge, Values: []string{"2026-01-10"}}, {Key: "date", Op: lt, Values: []string{"2026-01-11"}}, {Key: "subject", Op: eq, Values: []string{"Patient/p1"}}}},
		{"Flag", "patient=p1&status=active", []records.Cond{{Key: "subject", Op: eq, Values: []string{"Patient/p1"}}, {Key: "status", Op: eq, Values: []string{"active"}}}},
		{"Condition", "subject=p1&status=active,recurrence", []records.Cond{{Key: "status", Op: eq, Values: []string{"active", "recurrence"}}, {Key: "subject", Op: eq, Values: []string{"Patient/p1"}}}},
		{"EpisodeOfCare", "patient=p1&status=active", []records.Cond{{Key: "subject", Op: eq, Values: []string{"Patient/p1"}}, {Key: "status", Op: eq, Values: []string{"active"}}}},
		{"Patient", "name=&gender=male", []records.Cond{{Key: "gender", Op: eq, Values: []string{"male"}}}},
		{"Patient", `name=$where&family={"$ne":1}`, []records.Cond{{Key: "family", Op: pre, Values: []string{`{"$ne":1}`}}, {Key: "name", Op: pre, Values: []string{"$where"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.query, func(t *testing.T) {
			t.Parallel()
			req, err := ParseSearch(tt.typ, mustQuery(t, tt.query))
			if err != nil {
				t.Fatalf("ParseSearch: %v", err)
			}
			if diff := cmp.Diff(tt.want, req.Query.Conds); diff != "" {
				t.Errorf("Conds (-want +got):\n%s", diff)
			}
			if req.Query.Type != tt.typ || req.Query.Count != DefaultCount {
				t.Errorf("Type, Count = %s, %d", req.Query.Type, req.Query.Count)
			}
		})
	}
}

func TestParseSearchControl(t *testing.T) {
	t.Parallel()
	req, err := ParseSearch("Patient", mustQuery(t, "_count=500&_sort=-_lastUpdated,family,birthdate&_summary=count&_format=json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []records.SortKey{{Key: "_lastUpdated", Desc: true}, {Key: "family:sort"}, {Key: "birthdate"}}
	if diff := cmp.Diff(want, req.Query.Sort); diff != "" {
		t.Errorf("Sort (-want +got):\n%s", diff)
	}
	if req.Query.Count != MaxCount || req.Summary != "count" {
		t.Errorf("Count, Summary = %d, %q; want %d, count", req.Query.Count, req.Summary, MaxCount)
	}
	req, err = ParseSearch("Observation", mustQuery(t, "_count=0"))
	if err != nil || req.Summary != "count" {
		t.Errorf("_count=0: %v, Summary %q; want count", err, req.Summary)
	}
}

func TestParseSearchErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, query, field string
		kind              error
	}{
		{"Patient", "foo=1", "foo", records.ErrMalformed},
		{"Patient", "date=2020", "date", records.ErrMalformed},
		{"Observation", "birthdate=2020", "birthdate", records.ErrMalformed},
		{"Patient", "name:exact=Jose", "name:exact", records.ErrMalformed},
		{"Patient", "birthdate=ne2020", "birthdate", records.ErrMalformed},
		{"Patient", "birthdate=sa2020", "birthdate", records.ErrMalformed},
		{"Patient", "birthdate=2020-13", "birthdate", records.ErrMalformed},
		{"Patient", "birthdate=2020,2021", "birthdate", records.ErrMalformed},
		{"Patient", "birthdate=yesterday", "birthdate", records.ErrMalformed},
		{"Patient", "_count=-1", "_count", records.ErrMalformed},
		{"Patient", "_count=ten", "_count", records.ErrMalformed},
		{"Patient", "_sort=color", "_sort", records.ErrMalformed},
		{"Patient", "_sort=identifier", "_sort", records.ErrMalformed},
		{"Patient", "_summary=maybe", "_summary", records.ErrMalformed},
		{"Patient", "_cursor=xyz", "_cursor", records.ErrMalformed},
		{"Patient", "_format=xml", "_format", records.ErrNotSupported},
		{"Patient", "_id=a b", "_id", records.ErrMalformed},
		{"Observation", "subject=Group/1", "subject", records.ErrMalformed},
		{"Observation", "code=a,sys|b", "code", records.ErrMalformed},
		{"Observation", "code=sys|", "code", records.ErrMalformed},
		{"AuditEvent", "patient=p1", "AuditEvent", records.ErrNotSupported},
		{"Medication", "", "Medication", records.ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.query, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSearch(tt.typ, mustQuery(t, tt.query))
			fe, ok := errors.AsType[*records.FieldError](err)
			if !ok {
				t.Fatalf("ParseSearch: %v, want a FieldError", err)
			}
			if fe.Field != tt.field || !errors.Is(err, tt.kind) {
				t.Errorf("ParseSearch: %q %v, want field %q kind %v", fe.Field, err, tt.field, tt.kind)
			}
		})
	}
}

// TestSearchMatchesKeys runs parsed searches through records.Match over
// parsed resources: the conditions and the keys agree.
func TestSearchMatchesKeys(t *testing.T) {
	t.Parallel()
	patient := func(name, birth string) records.Resource {
		body := `{"resourceType":"Patient","name":[{"family":"` + name + `","given":["José"]}],"birthDate":"` + birth + `"}`
		r, err := Parse([]byte(body), "Patient", testNow)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		query string
		r     records.Resource
		want  bool
	}{
		{"name=jose", patient("Núñez", "2020-05-03"), true},
		{"given=JOS", patient("Núñez", "2020-05-03"), true},
		{"family=nunez", patient("Núñez", "2020-05-03"), true},
		{"family=núñ", patient("Núñez", "2020-05-03"), true},
		{"family=gomez", patient("Pérez Gómez", "2020-05-03"), true},
		{"name=jose%20perez", patient("Pérez Gómez", "2020-05-03"), true},
		{"family=ez", patient("Núñez", "2020-05-03"), false},
		{"birthdate=2020", patient("A", "2020-05-03"), true},
		{"birthdate=2020", patient("A", "2020"), true},
		{"birthdate=2020", patient("A", "2021-01-01"), false},
		{"birthdate=2020", patient("A", "2019-12-31"), false},
		{"birthdate=eq2020-05", patient("A", "2020-05-31"), true},
		{"birthdate=eq2020-05", patient("A", "2020"), false},
		{"birthdate=ge2020-05-03", patient("A", "2020-05-03"), true},
		{"birthdate=ge2020-05-03", patient("A", "2020-05-02"), false},
		{"birthdate=gt2020-05-03", patient("A", "2020-05-03"), false},
		{"birthdate=gt2020-05-03", patient("A", "2020-05-04"), true},
		{"birthdate=gt2020", patient("A", "2020-12-31"), false},
		{"birthdate=le2020-05", patient("A", "2020-05-31"), true},
		{"birthdate=le2020-05", patient("A", "2020-06-01"), false},
		{"birthdate=lt2020-05", patient("A", "2020-04-30"), true},
		{"birthdate=lt2020-05", patient("A", "2020-05-01"), false},
		{"birthdate=ge2020&birthdate=lt2021", patient("A", "2020-07"), true},
	}
	for _, tt := range tests {
		req, err := ParseSearch("Patient", mustQuery(t, tt.query))
		if err != nil {
			t.Fatalf("ParseSearch(%s): %v", tt.query, err)
		}
		if got := records.Match(tt.r, req.Query.Conds); got != tt.want {
			t.Errorf("%s on %v: match = %v, want %v (conds %v)", tt.query, tt.r.Keys, got, tt.want, req.Query.Conds)
		}
	}
	obs, err := Parse([]byte(weightJSON), "Observation", testNow) // 2026-01-10T14:30Z
	if err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string]bool{
		"date=2026-01-10":                     true,
		"date=2026-01":                        true,
		"date=2026-01-11":                     false,
		"date=ge2026-01-10T14:30:00Z":         true,
		"date=gt2026-01-10T14:30:00Z":         false,
		"date=lt2026-01-10T09:30:01-05:00":    true,
		"code=29463-7":                        true,
		"code=http://loinc.org|29463-7":       true,
		"code=|29463-7":                       false,
		"code=http://snomed.info/sct|29463-7": false,
		"subject=p1":                          true,
		"patient=Patient/p2":                  false,
	} {
		req, err := ParseSearch("Observation", mustQuery(t, query))
		if err != nil {
			t.Fatalf("ParseSearch(%s): %v", query, err)
		}
		if got := records.Match(obs, req.Query.Conds); got != want {
			t.Errorf("%s: match = %v, want %v (conds %v)", query, got, want, req.Query.Conds)
		}
	}
}
