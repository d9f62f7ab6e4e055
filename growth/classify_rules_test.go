package growth

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func nan() float64 { return math.NaN() }

func readRules(tb testing.TB, path string) Rules {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := ParseRules(data)
	if err != nil {
		tb.Fatalf("ParseRules(%s): %v", path, err)
	}
	return r
}

func TestDefaultRulesValid(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Name != "who-2023" || r.Version != "1" {
		t.Errorf("got %q %q", r.Name, r.Version)
	}
	// DefaultRules returns a fresh copy each time.
	r.Child.Wasting[0].Class = WastingModerate
	if DefaultRules().Child.Wasting[0].Class != WastingOedema {
		t.Error("DefaultRules shares its slices")
	}
}

func TestRulesJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range []Rules{DefaultRules(), readRules(t, "testdata/classify-rules-co.json")} {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseRules(data)
		if err != nil {
			t.Fatalf("ParseRules(Marshal(%s)): %v\n%s", r.Name, err, data)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("%s: round trip differs:\n got %+v\nwant %+v", r.Name, got, r)
		}
	}
}

// TestColombiaMatchesDefault checks that the Colombia example only adds to
// the WHO rules: country, name and extra bands.
func TestColombiaMatchesDefault(t *testing.T) {
	t.Parallel()
	co := readRules(t, "testdata/classify-rules-co.json")
	def := DefaultRules()
	if len(co.Child.ExtraBands) != 2 {
		t.Fatalf("got %d extra bands", len(co.Child.ExtraBands))
	}
	co.Name, co.Country, co.Child.ExtraBands = def.Name, "", nil
	if !reflect.DeepEqual(co, def) {
		t.Errorf("Colombia example departs from the WHO rules:\n got %+v\nwant %+v", co, def)
	}
}

func TestParseRulesErrors(t *testing.T) {
	t.Parallel()
	base, err := json.Marshal(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	// edit replaces the first occurrence of old in the default document.
	edit := func(old, new string) string {
		if !strings.Contains(string(base), old) {
			t.Fatalf("default JSON lacks %q:\n%s", old, base)
		}
		return strings.Replace(string(base), old, new, 1)
	}
	tests := []struct {
		name  string
		in    string
		kind  error
		field string
	}{
		{"empty", "", ErrRulesMalformed, ""},
		{"not JSON", "{", ErrRulesMalformed, ""},
		{"syntax", `{"name": }`, ErrRulesMalformed, ""},
		{"array", `[]`, ErrRulesMalformed, ""},
		{"trailing", string(base) + "{}", ErrRulesMalformed, ""},
		{"unknown field", edit(`"name":`, `"nmae":"x","name":`), ErrRulesMalformed, "nmae"},
		{"wrong type", edit(`"version":"1"`, `"version":1`), ErrRulesMalformed, "version"},
		{"null", "null", ErrRulesInvalid, "child.wasting"},
		{"no name", edit(`"name":"who-2023"`, `"name":""`), ErrRulesInvalid, "name"},
		{"no version", edit(`"version":"1"`, `"version":""`), ErrRulesInvalid, "version"},
		{"bad country", edit(`"name":"who-2023"`, `"name":"x","country":"co"`), ErrRulesInvalid, "country"},
		{"bad class", edit(`"class":"nutritional_oedema"`, `"class":"not_wasted"`), ErrRulesInvalid, "child.wasting[0].class"},
		{"bad indicator", edit(`"indicator":"whz"`, `"indicator":"wfh"`), ErrRulesInvalid, "child.wasting[1].indicator"},
		{"bad op", edit(`"op":"\u003c"`, `"op":"=="`), ErrRulesInvalid, "child.wasting[1].op"},
		{"op without value", edit(`,"value":-3}`, `}`), ErrRulesInvalid, "child.wasting[1].value"},
		{"op and range", edit(`"range":"[-3,-2)"`, `"range":"[-3,-2)","op":"\u003c"`), ErrRulesInvalid, "child.wasting[3].range"},
		{"bad range", edit(`"range":"[-3,-2)"`, `"range":"-3..-2"`), ErrRulesInvalid, "child.wasting[3].range"},
		{"empty range", edit(`"range":"[-3,-2)"`, `"range":"[-2,-3)"`), ErrRulesInvalid, "child.wasting[3].range"},
		{"inf range", edit(`"range":"[-3,-2)"`, `"range":"[-inf,-2)"`), ErrRulesInvalid, "child.wasting[3].range"},
		{"nan range", edit(`"range":"[-3,-2)"`, `"range":"[NaN,-2)"`), ErrRulesInvalid, "child.wasting[3].range"},
		{"oedema with op", edit(`"indicator":"oedema"`, `"indicator":"oedema","op":"\u003c","value":1`), ErrRulesInvalid, "child.wasting[0].op"},
		{"class on stunting", edit(`"moderate":{`, `"moderate":{"class":"x",`), ErrRulesInvalid, "child.stunting.moderate.class"},
		{"missing stunting op", edit(`"stunting":{"moderate":{"indicator":"haz","op":"\u003c","value":-2}`, `"stunting":{"moderate":{"indicator":"haz"}`), ErrRulesInvalid, "child.stunting.moderate.op"},
		{"bad band name", edit(`"infant_u6m"`, `"infant_u6m_x"`), ErrRulesMalformed, "infant_u6m_x"},
		{"negative min age", edit(`"min_age_days":42`, `"min_age_days":-1`), ErrRulesInvalid, "infant_u6m.at_risk[3].min_age_days"},
		{"fractional min age", edit(`"min_age_days":42`, `"min_age_days":4.2`), ErrRulesMalformed, "infant_u6m.at_risk.min_age_days"},
		{"no at risk", edit(`"at_risk":[`, `"at_risk":[],"x":[`), ErrRulesMalformed, "x"},
		{"bad requires", edit(`"not_at_risk_requires_any":["waz"`, `"not_at_risk_requires_any":["oedema"`), ErrRulesInvalid, "infant_u6m.not_at_risk_requires_any[0]"},
		{"plw op", edit(`"muac":{"op":"\u003c"`, `"muac":{"op":"in"`), ErrRulesInvalid, "plw.muac.op"},
		{"plw value", edit(`"value_mm":230`, `"value_mm":null`), ErrRulesInvalid, "plw.muac.value_mm"},
		{"huge number", edit(`"value_mm":230`, `"value_mm":1e999`), ErrRulesMalformed, "plw.muac.value_mm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRules([]byte(tt.in))
			re, ok := errors.AsType[*RulesError](err)
			if !ok {
				t.Fatalf("got %v (%T), want a *RulesError", err, err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("got %v, want kind %v", err, tt.kind)
			}
			if re.Field != tt.field {
				t.Errorf("got field %q, want %q (%v)", re.Field, tt.field, err)
			}
		})
	}
}

func TestValidateHandBuilt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*Rules)
		field string
	}{
		{"wasting class", func(r *Rules) { r.Child.Wasting[1].Class = WastingNone }, "child.wasting[1].class"},
		{"criterion", func(r *Rules) { r.Child.Wasting[1].Cond.Crit = 0 }, "child.wasting[1].indicator"},
		{"op", func(r *Rules) { r.Child.Stunting.Severe.Op = 42 }, "child.stunting.severe.op"},
		{"NaN value", func(r *Rules) { r.Child.Underweight.Moderate.Value = nan() }, "child.underweight.moderate.value"},
		{"band name", func(r *Rules) {
			r.Child.ExtraBands = []Band{{Name: "Risk!", Cond: Cond{Crit: CritWHZ, Op: CmpLT, Value: -1}}}
		}, "child.extra_bands[0].class"},
		{"infant", func(r *Rules) { r.Infant.HighRisk[0].Op = CmpNone }, "infant_u6m.high_risk_anthropometry[0].op"},
		{"plw indicator", func(r *Rules) { r.PLW.MUAC.Crit = CritWHZ }, "plw.muac"},
		{"plw range", func(r *Rules) { r.PLW.MUAC = Cond{Crit: CritMUAC, Op: CmpIn, Lo: 1, Hi: 2} }, "plw.muac.op"},
	}
	for _, tt := range tests {
		r := DefaultRules()
		tt.edit(&r)
		err := r.Validate()
		re, ok := errors.AsType[*RulesError](err)
		if !ok || !errors.Is(err, ErrRulesInvalid) || re.Field != tt.field {
			t.Errorf("%s: got %v, want an ErrRulesInvalid on %s", tt.name, err, tt.field)
		}
	}
}

// FuzzParseRules checks that ParseRules never panics, that every error is a
// *RulesError of one of the two kinds, and that accepted rules round-trip
// through MarshalJSON and classify without panicking.
func FuzzParseRules(f *testing.F) {
	base, err := json.Marshal(DefaultRules())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base)
	if co, err := os.ReadFile("testdata/classify-rules-co.json"); err == nil {
		f.Add(co)
	}
	f.Add([]byte(`{"name":"x","version":"1","child":{"wasting":[{"class":"severe_wasting","indicator":"whz","range":"(-9,-3]"}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRules(data)
		if err != nil {
			re, ok := errors.AsType[*RulesError](err)
			if !ok {
				t.Fatalf("got %T %v, want *RulesError", err, err)
			}
			if !errors.Is(err, ErrRulesMalformed) && !errors.Is(err, ErrRulesInvalid) {
				t.Fatalf("error of no known kind: %v", err)
			}
			if re.Error() == "" {
				t.Fatal("empty message")
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := ParseRules(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", back, r)
		}
		for _, m := range []float64{1, 12, 70} {
			_ = Classify(withOedema(withMUAC(withWHZ(withWAZ(child(m), -2.5), -3), 114), OedemaGrade1), &r)
		}
		_ = ClassifyPLW(220, true, &r)
	})
}
