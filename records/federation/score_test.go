package federation

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

func TestJaroWinkler(t *testing.T) {
	t.Parallel()
	// Values from Winkler (1990), table 1, rounded to three decimals.
	for _, tt := range []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.961},
		{"dwayne", "duane", 0.840},
		{"dixon", "dicksonx", 0.813},
		{"abc", "abc", 1},
		{"abc", "xyz", 0},
		{"", "abc", 0},
	} {
		if got := jaroWinkler(tt.a, tt.b); math.Abs(got-tt.want) > 0.0005 {
			t.Errorf("jaroWinkler(%q, %q) = %.4f, want %.3f", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"María-José De la Cruz", []string{"maria", "jose", "cruz"}},
		{"NÚÑEZ  Peña", []string{"nunez", "pena"}},
		{"Ponce de León", []string{"ponce", "leon"}},
		{"O'Brien", []string{"o", "brien"}},
		{"", []string{}},
	} {
		if diff := cmp.Diff(tt.want, tokens(tt.in)); diff != "" {
			t.Errorf("tokens(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func child() Person {
	return Person{
		Identifiers: []string{"urn:contigo:id:co-ppt|1234567"},
		Names:       []Name{{Given: []string{"María José"}, Family: []string{"García Pérez"}}},
		BirthDate:   "2023-04-09",
		Sex:         "female",
		BirthPlace:  "VE",
		Nationality: []string{"VE"},
		Mother:      Name{Given: []string{"Ana Lucía"}, Family: []string{"Pérez Núñez"}},
	}
}

func TestScore(t *testing.T) {
	t.Parallel()
	// Each case changes the registered child as another registry would
	// (or describes somebody else) and says which grade it must get.
	noID := func(f func(*Person)) Person {
		p := child()
		p.Identifiers = nil
		f(&p)
		return p
	}
	for _, tt := range []struct {
		name   string
		query  Person
		grades []Grade // acceptable grades
		reason string  // a reason that must be given
	}{
		{"shared identifier, nothing else", Person{Identifiers: []string{"urn:contigo:id:co-ppt|1234567"}}, []Grade{Certain}, "identifier"},
		{"everything agrees", noID(func(*Person) {}), []Grade{Certain}, "given:exact"},
		{"accents dropped, capitals", noID(func(p *Person) {
			p.Names = []Name{{Given: []string{"MARIA JOSE"}, Family: []string{"GARCIA PEREZ"}}}
		}), []Grade{Certain}, "family:exact"},
		{"hyphenated, surnames swapped", noID(func(p *Person) {
			p.Names = []Name{{Given: []string{"María-José"}, Family: []string{"Pérez-García"}}}
		}), []Grade{Certain}, "family:exact"},
		{"second surname dropped", noID(func(p *Person) { p.Names[0].Family = []string{"García"} }), []Grade{Probable}, "family:subset"},
		{"second given name dropped", noID(func(p *Person) { p.Names[0].Given = []string{"María"} }), []Grade{Probable}, "given:subset"},
		{"typo in a surname", noID(func(p *Person) { p.Names[0].Family = []string{"Garcia Peres"} }), []Grade{Certain, Probable}, "family:typo"},
		{"day and month swapped", noID(func(p *Person) { p.BirthDate = "2023-09-04" }), []Grade{Probable}, "birthdate:swapped"},
		{"only the year", noID(func(p *Person) { p.BirthDate = "2023" }), []Grade{Probable}, "birthdate:year"},
		{"a day off", noID(func(p *Person) { p.BirthDate = "2023-04-10" }), []Grade{Probable}, "birthdate:near"},
		{"mother's name from the maiden-name extension only", noID(func(p *Person) { p.Mother = Name{Family: []string{"Pérez"}} }), []Grade{Certain, Probable}, "mother:subset"},
		{"twin sister", noID(func(p *Person) { p.Names[0].Given = []string{"María Fernanda"} }), []Grade{Possible, ""}, "given:partial"},
		{"older brother", noID(func(p *Person) {
			p.Names[0].Given, p.Sex, p.BirthDate = []string{"Juan David"}, "male", "2021-06-30"
		}), []Grade{Possible, ""}, "given:differ"}, // the same mother: shown at most as possible
		{"same names, sex differs", noID(func(p *Person) { p.Sex = "male" }), []Grade{Probable, Possible}, "sex:differ"},
		{"stranger with the same surnames", Person{
			Names:     []Name{{Given: []string{"Thiago"}, Family: []string{"García Pérez"}}},
			BirthDate: "2025-01-20", Sex: "male",
		}, []Grade{""}, "given:differ"},
		{"same system, other value", func() Person {
			p := child()
			p.Identifiers = []string{"urn:contigo:id:co-ppt|7654321"}
			p.Names[0].Given = []string{"María"}
			return p
		}(), []Grade{Probable, Possible}, "identifier:conflict"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := Score(tt.query, child())
			ok := false
			for _, g := range tt.grades {
				ok = ok || m.Grade == g
			}
			if !ok {
				t.Errorf("grade %q (weight %.1f, %v), want one of %q", m.Grade, m.Weight, m.Reasons, tt.grades)
			}
			if !strings.Contains(strings.Join(m.Reasons, " "), tt.reason) {
				t.Errorf("reasons %v, want %q among them", m.Reasons, tt.reason)
			}
			if m.Score < 0 || m.Score > 1 {
				t.Errorf("score %v outside [0, 1]", m.Score)
			}
		})
	}
}

func TestScoreSymmetric(t *testing.T) {
	t.Parallel()
	s := generate(3, 200)
	for i := range 200 {
		a, b := s.queries[i], s.records[(i*31)%len(s.records)]
		if ab, ba := Score(a, b), Score(b, a); ab.Weight != ba.Weight || ab.Grade != ba.Grade {
			t.Fatalf("Score(a, b) = %.2f %q, Score(b, a) = %.2f %q for %v / %v", ab.Weight, ab.Grade, ba.Weight, ba.Grade, ab.Reasons, ba.Reasons)
		}
	}
}

func TestRankDemotesAmbiguousCertain(t *testing.T) {
	t.Parallel()
	// Twins: the second's record lost its second given name abroad, so the
	// query agrees exactly with the first twin and almost with the second.
	first := child()
	first.Identifiers, first.ID = nil, "twin-1"
	first.Names[0].Given = []string{"Daniela"}
	second := first
	second.ID = "twin-2"
	second.Names = []Name{{Given: []string{"Daniela", "Valentina"}, Family: first.Names[0].Family}}
	query := first
	query.ID = ""

	got := Rank(query, []Person{second, first})
	if len(got) != 2 {
		t.Fatalf("got %d candidates, want 2", len(got))
	}
	if got[0].Candidate.ID != "twin-1" {
		t.Errorf("best candidate %s, want twin-1", got[0].Candidate.ID)
	}
	for _, r := range got {
		if r.Grade == Certain {
			t.Errorf("%s graded certain with an equally plausible twin (%v)", r.Candidate.ID, r.Reasons)
		}
	}
	if one := Rank(query, []Person{first}); len(one) != 1 || one[0].Grade != Certain {
		t.Errorf("alone, twin-1 should be certain: %+v", one)
	}
}

func TestFromPatientJSON(t *testing.T) {
	t.Parallel()
	body := `{
	  "resourceType": "Patient", "id": "p1",
	  "identifier": [{"system": "urn:contigo:id:ve-cedula", "value": "31234567"}, {"system": "urn:x"}],
	  "name": [{"family": "De la Cruz Peña", "given": ["María José"]},
	           {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/humanname-fathers-family", "valueString": "Cruz"},
	                          {"url": "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family", "valueString": "Peña"}],
	            "given": ["Majo"]},
	           {"text": "Maria Jose Cruz Pena"}],
	  "gender": "female", "birthDate": "2023-04",
	  "contact": [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}], "name": {"family": "Otro"}},
	              {"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}],
	               "name": {"family": "Peña Núñez", "given": ["Ana"]}}],
	  "extension": [
	    {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Ignored"},
	    {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": {"city": "Maracaibo", "country": "VE"}},
	    {"url": "http://hl7.org/fhir/StructureDefinition/patient-nationality", "extension": [
	      {"url": "code", "valueCodeableConcept": {"coding": [{"system": "urn:iso:std:iso:3166", "code": "VE"}]}}]}]
	}`
	got, err := FromPatientJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Person{
		ID:          "p1",
		Identifiers: []string{"urn:contigo:id:ve-cedula|31234567"},
		Names: []Name{
			{Given: []string{"María José"}, Family: []string{"De la Cruz Peña"}},
			{Given: []string{"Majo"}, Family: []string{"Cruz", "Peña"}},
			{Given: []string{"Maria", "Jose"}, Family: []string{"Cruz", "Pena"}},
		},
		BirthDate: "2023-04", Sex: "female", BirthPlace: "VE", Nationality: []string{"VE"},
		Mother: Name{Given: []string{"Ana"}, Family: []string{"Peña Núñez"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromPatientJSON (-want +got):\n%s", diff)
	}

	maiden := `{"resourceType": "Patient", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Pérez"}]}`
	if got, err := FromPatientJSON([]byte(maiden)); err != nil || !cmp.Equal(got.Mother, Name{Family: []string{"Pérez"}}) {
		t.Errorf("maiden name: got %+v, %v", got.Mother, err)
	}
}

func TestFromPatientJSONRejects(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``, `[]`, `{"resourceType": "Observation"}`, `{"resourceType": "Patient", "gender": "x"}`,
		`{"resourceType": "Patient", "name": "x"}`,
	} {
		if _, err := FromPatientJSON([]byte(body)); !errors.Is(err, records.ErrMalformed) {
			t.Errorf("FromPatientJSON(%s) = %v, want ErrMalformed", body, err)
		}
	}
}

func FuzzScore(f *testing.F) {
	f.Add("María José", "García-Pérez", "2023-04-09", "Maria", "Perez Garcia", "2023-09")
	f.Add("", "", "", "x", "y", "2023-13-45")
	f.Fuzz(func(t *testing.T, g1, f1, d1, g2, f2, d2 string) {
		a := Person{Names: []Name{{Given: []string{g1}, Family: []string{f1}}}, BirthDate: d1}
		b := Person{Names: []Name{{Given: []string{g2}, Family: []string{f2}}}, BirthDate: d2}
		ab, ba := Score(a, b), Score(b, a)
		if ab.Weight != ba.Weight || ab.Grade != ba.Grade {
			t.Errorf("asymmetric: %v %q vs %v %q", ab.Weight, ab.Grade, ba.Weight, ba.Grade)
		}
		if ab.Score < 0 || ab.Score > 1 || math.IsNaN(ab.Score) {
			t.Errorf("score %v", ab.Score)
		}
	})
}

func BenchmarkScore(b *testing.B) {
	s := generate(1, 200)
	q, c := s.queries[0], s.records[0]
	b.Run("pair", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Score(q, c)
		}
	})
	b.Run("prepared", func(b *testing.B) {
		pq, pc := prepare(q), prepare(c)
		b.ReportAllocs()
		for b.Loop() {
			scorePrepared(&pq, &pc)
		}
	})
	b.Run("rank-200", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Rank(q, s.records[:200])
		}
	})
}

func TestFold(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"NÚÑEZ", "nunez"}, {"Ángela", "angela"}, {"São João", "sao joao"},
		{"Łukasz", "łukasz"}, {"Zoë", "zoe"}, {"Ǹ", "n"},
	} {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEvidenceLevels: every level Score and Rank give is in EvidenceLevels.
func TestEvidenceLevels(t *testing.T) {
	levels := EvidenceLevels()
	for _, want := range []string{"given:exact", "given:phonetic", "family:exact2", "family:typo1", "birthdate:swapped", "sex:differ", "mother:subset", "identifier:agree", "rule:twins", "rule:second", "rule:ambiguous"} {
		if !slices.Contains(levels, want) {
			t.Errorf("EvidenceLevels lacks %s: %v", want, levels)
		}
	}
	q := Person{Names: []Name{{Given: []string{"Ana", "María"}, Family: []string{"Pérez", "Gómez"}}}, BirthDate: "2024-03-05", Sex: "female"}
	for _, c := range []Person{
		{Names: []Name{{Given: []string{"Ana"}, Family: []string{"Peres"}}}, BirthDate: "2024-05-03", Sex: "male"},
		{Names: []Name{{Given: []string{"Anna", "Maria"}, Family: []string{"Perez", "Gomes"}}}, BirthDate: "2024-03", Sex: "female"},
	} {
		for _, e := range Score(q, c).Evidence {
			if !slices.Contains(levels, e.Field+":"+e.Level) {
				t.Errorf("Score gave %s:%s, not in EvidenceLevels", e.Field, e.Level)
			}
		}
	}
}
