package nutrition

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

var update = flag.Bool("update", false, "rewrite testdata/who-2023.json")

// TestDefaultRuleSetFile checks that testdata/who-2023.json, the documented
// default, is DefaultRuleSet.
func TestDefaultRuleSetFile(t *testing.T) {
	path := filepath.Join("testdata", "who-2023.json")
	if *update {
		b, err := DefaultRuleSet().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		buf.WriteByte('\n')
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRuleSet(data)
	if err != nil {
		t.Fatalf("ParseRuleSet(%s): %v", path, err)
	}
	if diff := cmp.Diff(DefaultRuleSet(), got); diff != "" {
		t.Errorf("who-2023.json differs from DefaultRuleSet (-want +got):\n%s", diff)
	}
	if err := DefaultRuleSet().Validate(); err != nil {
		t.Errorf("DefaultRuleSet().Validate() = %v", err)
	}
}

func loadCO(t testing.TB) *RuleSet {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "CO.json"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRuleSet(data)
	if err != nil {
		t.Fatalf("ParseRuleSet(CO.json): %v", err)
	}
	return rs
}

func TestColombiaExample(t *testing.T) {
	rs := loadCO(t)
	if rs.Name != "who-2023-co" || rs.Country != "CO" || rs.ConfigVersion != "example-2026-11" {
		t.Errorf("ref = %+v", rs.Ref(""))
	}
	if got := rs.Classification.PLW.MUAC.String(); got != "muac_mm < 210" {
		t.Errorf("PLW rule = %q, want muac_mm < 210", got)
	}
	if n := len(rs.Classification.Child.ExtraBands); n != 2 || rs.Classification.Child.ExtraBands[0].Name != "co_risk_acute_malnutrition" {
		t.Errorf("extra bands = %+v", rs.Classification.Child.ExtraBands)
	}
	// Everything not in the file comes from the default.
	def := DefaultRuleSet()
	if diff := cmp.Diff(def.Classification.Child.Wasting, rs.Classification.Child.Wasting); diff != "" {
		t.Errorf("wasting rows not inherited (-want +got):\n%s", diff)
	}
	if rs.FollowUpDays[ProgrammeOTP] != 7 || rs.FollowUpDays["risk"] != 15 || rs.DefaultAfterMissedVisits != 2 {
		t.Errorf("follow-up = %v, default after %d", rs.FollowUpDays, rs.DefaultAfterMissedVisits)
	}
	// Round trip.
	b, err := rs.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseRuleSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rs, again); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestLoadFS(t *testing.T) {
	co, err := os.ReadFile(filepath.Join("testdata", "CO.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := LoadFS(fstest.MapFS{
		"CO.json":    {Data: co},
		"notes.txt":  {Data: []byte("ignored")},
		"other.json": {Data: []byte("ignored: not a country code")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.For("CO").Name; got != "who-2023-co" {
		t.Errorf("For(CO) = %s", got)
	}
	if got := reg.For("PE").Name; got != "who-2023" {
		t.Errorf("For(PE) = %s, want the default", got)
	}
	if got := reg.Countries(); len(got) != 1 || got[0] != "CO" {
		t.Errorf("Countries() = %v", got)
	}

	if reg, err := LoadDir("testdata"); err != nil || reg.For("CO").Name != "who-2023-co" {
		t.Errorf("LoadDir(testdata): %v", err)
	}

	_, err = LoadFS(fstest.MapFS{"PE.json": {Data: co}})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.File != "PE.json" || ce.Field != "country" {
		t.Errorf("CO file named PE.json: err = %v", err)
	}
}

func TestParseRuleSetErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		kind      error
		field     string
	}{
		{"not json", `{`, records.ErrMalformed, ""},
		{"array", `[]`, records.ErrMalformed, ""},
		{"unknown top field", `{"colour": 1}`, records.ErrMalformed, "colour"},
		{"unknown nested field", `{"data_quality": {"hard_bounds": {"child": {"weight_lb": [1, 2]}}}}`, records.ErrMalformed, "data_quality"},
		{"wrong type", `{"missed_visit_grace_days": "three"}`, records.ErrMalformed, "missed_visit_grace_days"},
		{"plw op", `{"plw": {"muac": {"op": "~", "value_mm": 210}}}`, records.ErrInvalid, "plw.muac.op"},
		{"wasting range", `{"child": {"wasting": [{"class": "severe_wasting", "indicator": "whz", "range": "[-2,-3)"}]}}`, records.ErrInvalid, "child.wasting[0].range"},
		{"exit target", `{"child": {"exit": {"severe": {"all_of": ["whz => -2"], "consecutive_visits": 2}}}}`, records.ErrInvalid, "child.exit.severe.all_of[0]"},
		{"exit visits", `{"child": {"exit": {"moderate": {"consecutive_visits": 0}}}}`, records.ErrInvalid, "child.exit.moderate.consecutive_visits"},
		{"grace", `{"missed_visit_grace_days": -1}`, records.ErrInvalid, "missed_visit_grace_days"},
		{"default after", `{"default_after_missed_visits": 0}`, records.ErrInvalid, "default_after_missed_visits"},
		{"follow-up programme", `{"followup_days": {"spa": 3}}`, records.ErrInvalid, "followup_days.spa"},
		{"follow-up otp", `{"followup_days": {"otp": 0}}`, records.ErrInvalid, "followup_days.otp"},
		{"sphere", `{"sphere_targets": {"cure_gt": 75}}`, records.ErrInvalid, "sphere_targets.cure_gt"},
		{"bounds", `{"data_quality": {"hard_bounds": {"plw": {"muac_mm": [500, 120]}}}}`, records.ErrInvalid, "data_quality.hard_bounds.plw.muac_mm"},
		{"band alert", `{"alerts": {"extra_band_alerts": {"co_risk": "low"}}}`, records.ErrInvalid, "alerts.extra_band_alerts.co_risk"},
		{"country", `{"country": "col"}`, records.ErrInvalid, "country"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRuleSet([]byte(tt.doc))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want kind %v", err, tt.kind)
			}
			if ce.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", ce.Field, tt.field, err)
			}
		})
	}
}

// FuzzParseRuleSet: no panic; a rejection is a *ConfigError of a known
// kind; an accepted rule set is valid and round-trips.
func FuzzParseRuleSet(f *testing.F) {
	for _, name := range []string{"CO.json", "who-2023.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"plw": {"muac": {"op": "<=", "value_mm": 1e308}}}`))
	f.Add([]byte(`{"child": {"exit": {"max_weeks": {"severe": 1}}}}`))
	f.Add([]byte(`{"child": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic(fmt.Sprintf("ParseRuleSet hangs on %q", data))
			}
		}()
		rs, err := ParseRuleSet(data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !(errors.Is(err, records.ErrMalformed) || errors.Is(err, records.ErrInvalid)) {
				t.Fatalf("err = %#v, want a *ConfigError of a known kind", err)
			}
			return
		}
		if err := rs.Validate(); err != nil {
			t.Fatalf("accepted rule set fails Validate: %v", err)
		}
		b, err := rs.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRuleSet(b)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b)
		}
		if diff := cmp.Diff(rs, again); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}
