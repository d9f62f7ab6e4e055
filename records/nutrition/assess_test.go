package nutrition

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"contigo/records"
)

// weightForWHZ finds the lightest weight (1 g steps) that gives the boy of
// boy() a rounded WHZ of exactly want at 76 cm.
func weightForWHZ(t *testing.T, rs *RuleSet, want float64) float64 {
	t.Helper()
	for g := 6000; g <= 10000; g++ {
		m := boy("m", "2025-03-10", 140)
		m.WeightKg = F(float64(g) / 1000)
		if a := Assess(m, nil, rs); a.Z.WHZ != nil && *a.Z.WHZ == want {
			return *m.WeightKg
		}
	}
	t.Fatalf("no weight gives WHZ %v", want)
	return 0
}

// Boundary checks of nutrition-rules §3.1, end to end: measurement in,
// classification and alert out.
func TestThresholds(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	tests := []struct {
		name  string
		whz   float64 // target rounded WHZ; 0 = keep the healthy weight (WHZ -0.92)
		muac  int
		class string
		alert string
	}{
		{"WHZ -2.00 not wasted", -2.00, 140, ClassNotWasted, ""},
		{"WHZ -2.01 moderate", -2.01, 140, ClassModerateWasting, KindNewModerateWasting},
		{"WHZ -3.00 moderate", -3.00, 140, ClassModerateWasting, KindNewModerateWasting},
		{"WHZ -3.01 severe", -3.01, 140, ClassSevereWasting, KindNewSevereWasting},
		{"MUAC 114 severe", 0, 114, ClassSevereWasting, KindNewSevereWasting},
		{"MUAC 115 moderate", 0, 115, ClassModerateWasting, KindNewModerateWasting},
		{"MUAC 124 moderate", 0, 124, ClassModerateWasting, KindNewModerateWasting},
		{"MUAC 125 not wasted", 0, 125, ClassNotWasted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := boy("m1", "2025-03-10", tt.muac)
			if tt.whz != 0 {
				m.WeightKg = F(weightForWHZ(t, rs, tt.whz))
			}
			st := newStory(t, rs, "p")
			a := st.measure(m)
			if tt.whz != 0 && *a.Z.WHZ != tt.whz {
				t.Fatalf("WHZ = %v, want %v", *a.Z.WHZ, tt.whz)
			}
			if a.Classification != tt.class {
				t.Errorf("WHZ %v, MUAC %d: %s, want %s", *a.Z.WHZ, tt.muac, a.Classification, tt.class)
			}
			if tt.alert == "" {
				st.wantActive()
			} else {
				st.wantActive(tt.alert)
			}
		})
	}
}

func TestAssessFlags(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	tests := []struct {
		name   string
		edit   func(*Measurement)
		flags  []string // must be present
		class  string
		band   string
		approx bool
	}{
		{"sex missing: MUAC rule still applies", func(m *Measurement) { m.Sex = ""; m.MUACmm = MM(110) },
			[]string{FlagSexMissing}, ClassSevereWasting, AgeBandChild, false},
		{"over five", func(m *Measurement) { m.BirthDate = day("2019-01-01") },
			[]string{FlagOver5}, ClassNotApplicable, AgeBandOver5, false},
		{"birth year only", func(m *Measurement) { m.BirthDate, m.BirthPrecision = day("2024-01-01"), PrecisionYear },
			[]string{FlagApproximateAge}, ClassNotWasted, AgeBandChild, true},
		{"band edge, month only", func(m *Measurement) { m.BirthDate, m.BirthPrecision = day("2024-09-01"), PrecisionMonth },
			[]string{FlagApproximateAge, FlagAgeBandEdge}, "", "", true},
		{"no birth date", func(m *Measurement) { m.BirthDate = time.Time{} },
			[]string{FlagAgeUnknown}, ClassUnknown, AgeBandUnknown, false},
		{"standing under 9 months", func(m *Measurement) {
			m.BirthDate, m.Position, m.LengthCm, m.WeightKg = day("2024-10-01"), PositionStanding, F(66), F(7.5)
		}, []string{FlagStandingUnder9m}, "", "", false},
		{"lying at 2 years", func(m *Measurement) { m.BirthDate, m.LengthCm, m.WeightKg = day("2022-12-01"), F(87), F(12) },
			[]string{FlagPositionMismatch}, "", "", false},
		{"implausible WHZ", func(m *Measurement) { m.WeightKg = F(20) },
			[]string{FlagWHZ}, "", "", false},
		{"oedema not assessed", func(m *Measurement) { m.Oedema = "" },
			[]string{FlagOedemaNotAssess}, ClassNotWasted, AgeBandChild, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := boy("m1", "2025-03-10", 140)
			tt.edit(&m)
			if err := Validate(m, rs, at(m.Date)); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			a := Assess(m, nil, rs)
			for _, f := range tt.flags {
				if !slices.Contains(a.Flags, f) {
					t.Errorf("flags = %v, want %s", a.Flags, f)
				}
			}
			if tt.class != "" && a.Classification != tt.class {
				t.Errorf("class = %s, want %s", a.Classification, tt.class)
			}
			if tt.band != "" && a.AgeBand != tt.band {
				t.Errorf("band = %s, want %s", a.AgeBand, tt.band)
			}
			if a.Approximate != tt.approx {
				t.Errorf("approximate = %v", a.Approximate)
			}
			wantImpl := slices.ContainsFunc(a.Flags, Implausible)
			if a.Implausible != wantImpl {
				t.Errorf("implausible = %v with flags %v", a.Implausible, a.Flags)
			}
		})
	}
}

func TestChangeSincePrevious(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	prev := State{Assessments: []Assessment{Assess(boy("m0", "2025-03-01", 140), nil, rs)}}
	tests := []struct {
		name string
		edit func(*Measurement)
		flag string
	}{
		{"length -1.1 cm", func(m *Measurement) { m.LengthCm = F(74.9) }, FlagLengthDecrease},
		{"length -1.0 cm", func(m *Measurement) { m.LengthCm = F(75.0) }, ""},
		{"weight +21 %", func(m *Measurement) { m.WeightKg = F(10.9) }, FlagWeightChange},
		{"weight +20 %", func(m *Measurement) { m.WeightKg = F(10.8) }, ""},
		{"MUAC -16 mm", func(m *Measurement) { m.MUACmm = MM(124) }, FlagMUACChange},
		{"MUAC -15 mm", func(m *Measurement) { m.MUACmm = MM(125) }, ""},
		{"MUAC -16 mm after 15 days", func(m *Measurement) { m.MUACmm, m.Date = MM(124), day("2025-03-16") }, ""},
	}
	for _, tt := range tests {
		m := boy("m1", "2025-03-10", 140)
		tt.edit(&m)
		a := Assess(m, &prev, rs)
		var change []string
		for _, f := range a.Flags {
			if f == FlagLengthDecrease || f == FlagWeightChange || f == FlagMUACChange {
				change = append(change, f)
			}
		}
		want := []string{}
		if tt.flag != "" {
			want = []string{tt.flag}
		}
		if !slices.Equal(change, want) && !(len(change) == 0 && len(want) == 0) {
			t.Errorf("%s: change flags %v, want %v", tt.name, change, want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	now := at(day("2025-03-10"))
	plw := func() Measurement {
		return Measurement{ID: "w", Date: day("2025-03-10"), Subject: SubjectPLW, Sex: SexFemale,
			MUACmm: MM(220), PLWStatus: StatusPregnant}
	}
	tests := []struct {
		name   string
		m      func() Measurement
		fields []string // nil: valid
	}{
		{"valid child", func() Measurement { return boy("m", "2025-03-10", 140) }, nil},
		{"tomorrow is skew", func() Measurement { return boy("m", "2025-03-11", 140) }, nil},
		{"future", func() Measurement { return boy("m", "2025-03-12", 140) }, []string{"date"}},
		{"before birth", func() Measurement { return boy("m", "2024-01-09", 140) }, []string{"date"}},
		{"birth in future", func() Measurement { m := boy("m", "2025-03-10", 140); m.BirthDate = day("2025-04-01"); return m },
			[]string{"date", "birth_date"}},
		{"year-only birth, visit in birth year", func() Measurement {
			m := boy("m", "2024-03-01", 140)
			m.BirthDate, m.BirthPrecision = day("2024-01-01"), PrecisionYear
			return m
		}, nil},
		{"no date, no id", func() Measurement { m := boy("", "2025-03-10", 140); m.Date = time.Time{}; return m }, []string{"id", "date"}},
		{"zero weight", func() Measurement { m := boy("m", "2025-03-10", 140); m.WeightKg = F(0); return m }, []string{"weight_kg"}},
		{"NaN length", func() Measurement { m := boy("m", "2025-03-10", 140); m.LengthCm = F(math.NaN()); return m }, []string{"length_cm"}},
		{"child bounds", func() Measurement {
			m := boy("m", "2025-03-10", 69)
			m.WeightKg, m.LengthCm, m.HeadCircCm = F(0.8), F(151), F(61)
			return m
		}, []string{"weight_kg", "length_cm", "head_circumference_cm", "muac_mm"}},
		{"child bounds inclusive", func() Measurement {
			m := boy("m", "2025-03-10", 70)
			m.WeightKg, m.LengthCm, m.HeadCircCm = F(0.9), F(150), F(25)
			return m
		}, nil},
		{"enums", func() Measurement {
			m := boy("m", "2025-03-10", 140)
			m.Sex, m.Position, m.Oedema, m.BirthPrecision, m.Subject = "x", "sitting", "++++", "week", "adult"
			return m
		}, []string{"subject", "sex", "birth_precision", "position", "oedema"}},
		{"nothing measured", func() Measurement {
			return Measurement{ID: "m", Date: day("2025-03-10"), Oedema: OedemaNotAssessed}
		}, []string{"measurement"}},
		{"oedema only", func() Measurement {
			return Measurement{ID: "m", Date: day("2025-03-10"), Oedema: OedemaPlus}
		}, nil},
		{"valid PLW", plw, nil},
		{"PLW MUAC without status", func() Measurement { m := plw(); m.PLWStatus = ""; return m }, []string{"plw_status"}},
		{"PLW bounds", func() Measurement { m := plw(); m.MUACmm, m.WeightKg = MM(119), F(251); return m }, []string{"weight_kg", "muac_mm"}},
		{"PLW lactating too long", func() Measurement {
			m := plw()
			m.PLWStatus, m.DeliveryDate = StatusLactating, day("2024-09-09")
			return m
		}, []string{"plw_status"}},
		{"PLW lactating in window", func() Measurement {
			m := plw()
			m.PLWStatus, m.DeliveryDate = StatusLactating, day("2024-09-10")
			return m
		}, nil},
		{"male PLW", func() Measurement { m := plw(); m.Sex = SexMale; return m }, []string{"sex"}},
		{"status on a child", func() Measurement { m := boy("m", "2025-03-10", 140); m.PLWStatus = StatusPregnant; return m }, []string{"plw_status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.m(), rs, now)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, records.ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			var got []string
			for _, e := range fieldErrors(err) {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

// fieldErrors returns the *records.FieldError values joined in err.
func fieldErrors(err error) []*records.FieldError {
	var out []*records.FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	if fe, ok := errors.AsType[*records.FieldError](err); ok {
		out = append(out, fe)
	}
	return out
}

// FuzzValidate: Validate never panics, and every rejection is a join of
// *records.FieldError matching records.ErrInvalid; Assess and Apply never
// panic on what Validate accepts.
func FuzzValidate(f *testing.F) {
	f.Add("m", int64(20000), int64(19000), "male", "day", 9.0, 76.0, "lying", 45.0, 140, "absent", "", "")
	f.Add("m", int64(20000), int64(1000), "female", "year", 60.0, 170.0, "standing", 0.0, 300, "+++", "plw", "lactating")
	f.Add("", int64(-5), int64(99999), "x", "week", math.NaN(), math.Inf(1), "?", -1.0, -3, "++++", "?", "?")
	rs := DefaultRuleSet()
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, id string, visitDay, birthDay int64, sex, prec string, w, l float64, pos string, hc float64,
		muac int, oedema, subject, status string) {
		m := Measurement{ID: id, Sex: sex, BirthPrecision: prec, WeightKg: F(w), LengthCm: F(l), Position: pos,
			HeadCircCm: F(hc), MUACmm: MM(muac), Oedema: oedema, Subject: subject, PLWStatus: status}
		if visitDay != 0 {
			m.Date = time.Unix((visitDay%40000)*86400, 0).UTC()
		}
		if birthDay != 0 {
			m.BirthDate = time.Unix((birthDay%40000)*86400, 0).UTC()
		}
		err := Validate(m, rs, now)
		if err != nil {
			if !errors.Is(err, records.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, fe := range fieldErrors(err) {
				if fe.Field == "" || fe.Reason == "" {
					t.Fatalf("bad field error %+v", fe)
				}
			}
			if len(fieldErrors(err)) == 0 {
				t.Fatalf("err = %v holds no FieldError", err)
			}
			return
		}
		a := Assess(m, nil, rs)
		s, _ := Apply(State{PersonRef: "p"}, a, rs, now, "hw")
		if s.Status.MeasurementID != id {
			t.Fatalf("status = %+v", s.Status)
		}
	})
}
