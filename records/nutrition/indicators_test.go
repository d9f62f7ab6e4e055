package nutrition

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

// seeded returns the hand-made data set of TestIndicators: states built
// directly (not through the engine) so that the expectation depends only on
// the indicator definitions.
func seeded() []State {
	child := func(id, date, sex, area, anthro string, oedema bool, muac bool) Assessment {
		a := Assessment{MeasurementID: id, Date: day(date), Subject: SubjectChild, Sex: sex, AdminArea: area,
			AgeBand: AgeBandChild, AnthroWasting: anthro, Wasting: anthro, NutritionalOedema: oedema}
		if muac {
			a.MUACmm = MM(120)
		} else {
			a.Z.WHZ = F(-2.5)
		}
		a.Classification = anthro
		if oedema {
			a.Wasting, a.Classification = ClassNutritionalOedema, ClassNutritionalOedema
		}
		return a
	}
	ep := func(id, prog, sex, area, adm, typ, outcome, out string) Episode {
		e := Episode{ID: id, Programme: prog, Sex: sex, AdminArea: area, AgeBand: AgeBandChild,
			AdmissionDate: day(adm), AdmissionType: typ, Status: EpisodeActive}
		if outcome != "" {
			e.Status, e.Outcome, e.OutcomeDate = EpisodeFinished, outcome, day(out)
		}
		return e
	}
	iv := func(id, date, kind string, done bool) Intervention {
		return Intervention{ID: id, Date: day(date), Kind: kind, Completed: done, AdminArea: "X"}
	}
	return []State{
		{PersonRef: "A", Assessments: []Assessment{ // boy: severe in March (after moderate), well in April
			child("a0", "2025-02-20", SexMale, "X", ClassSevereWasting, false, true), // before the period
			child("a1", "2025-03-05", SexMale, "X", ClassModerateWasting, false, true),
			child("a2", "2025-03-20", SexMale, "X", ClassSevereWasting, false, true),
			child("a3", "2025-04-20", SexMale, "X", ClassNotWasted, false, true),
		}, Episodes: []Episode{ep("A1", ProgrammeOTP, SexMale, "X", "2025-03-20", AdmissionNew, OutcomeCured, "2025-04-20")}},
		{PersonRef: "B", Assessments: []Assessment{ // girl with oedema, defaulted
			child("b1", "2025-03-10", SexFemale, "Y", ClassNotWasted, true, true),
		}, Episodes: []Episode{ep("B1", ProgrammeOTP, SexFemale, "Y", "2025-03-10", AdmissionNew, OutcomeDefaulted, "2025-03-17")}},
		{PersonRef: "C", Assessments: []Assessment{ // girl, moderate by WHZ only
			child("c1", "2025-04-02", SexFemale, "X", ClassModerateWasting, false, false),
		}, Episodes: []Episode{ep("C1", ProgrammeTSFP, SexFemale, "X", "2025-04-02", AdmissionNew, "", "")}},
		{PersonRef: "D", Assessments: []Assessment{ // infant girl: at risk in March, not in April
			{MeasurementID: "d1", Date: day("2025-03-15"), Subject: SubjectChild, Sex: SexFemale, AdminArea: "Y",
				AgeBand: AgeBandInfant, Infant: ClassInfantAtRisk, Classification: ClassInfantAtRisk},
			{MeasurementID: "d2", Date: day("2025-04-15"), Subject: SubjectChild, Sex: SexFemale, AdminArea: "Y",
				AgeBand: AgeBandInfant, Infant: ClassInfantNotAtRisk, Classification: ClassInfantNotAtRisk},
		}},
		{PersonRef: "E", Assessments: []Assessment{ // woman: malnourished in March, cured in April
			{MeasurementID: "e1", Date: day("2025-03-03"), Subject: SubjectPLW, Sex: SexFemale, AdminArea: "X",
				AgeBand: AgeBandPLW, MUACmm: MM(220), PLW: ClassPLWMalnourished},
			{MeasurementID: "e2", Date: day("2025-04-03"), Subject: SubjectPLW, Sex: SexFemale, AdminArea: "X",
				AgeBand: AgeBandPLW, MUACmm: MM(235), PLW: ClassPLWNotMalnourished},
		}, Episodes: []Episode{ep("E1", ProgrammeTSFP, SexFemale, "X", "2025-03-03", AdmissionNew, OutcomeCured, "2025-04-17")},
			Interventions: []Intervention{iv("ei1", "2025-03-03", InterventionIFA, false), iv("ei2", "2025-03-03", InterventionPLWCounselling, false),
				iv("ei3", "2025-04-03", InterventionIFA, false)}},
		{PersonRef: "F", Assessments: []Assessment{ // boy: well; died in an OTP episode admitted in January
			child("f1", "2025-03-25", SexMale, "Y", ClassNotWasted, false, true),
		}, Episodes: []Episode{ep("F1", ProgrammeOTP, SexMale, "Y", "2025-01-05", AdmissionNew, OutcomeDied, "2025-04-05")},
			Interventions: []Intervention{iv("fi1", "2025-03-25", InterventionVitaminA, false), iv("fi2", "2025-03-25", InterventionIYCFCounselling, false),
				iv("fi3", "2025-03-25", InterventionReferral, true), iv("fi4", "2025-04-10", InterventionReferral, false)}},
		{PersonRef: "G", Episodes: []Episode{ // boy: OTP -> inpatient, then an old OTP episode moved away
			ep("G1", ProgrammeOTP, SexMale, "Y", "2025-02-01", AdmissionNew, OutcomeMovedUnknown, "2025-03-28"),
			ep("G2", ProgrammeOTP, SexMale, "Y", "2025-02-20", AdmissionNew, OutcomeTransferredInternal, "2025-03-12"),
			ep("G3", ProgrammeInpatient, SexMale, "Y", "2025-03-12", AdmissionTransferIn, "", ""),
		}},
		{PersonRef: "H", Assessments: []Assessment{ // over five: not counted
			{MeasurementID: "h1", Date: day("2025-03-10"), Subject: SubjectChild, Sex: SexMale, AgeBand: AgeBandOver5, MUACmm: MM(150)},
		}},
		{PersonRef: "I", Assessments: []Assessment{ // on the exclusive end of the period
			child("i1", "2025-05-01", SexMale, "X", ClassSevereWasting, false, true),
		}},
	}
}

func TestIndicators(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	b := func(v bool) *bool { return &v }
	adm := func(otp, inp, tsfp int) map[string]int {
		m := map[string]int{}
		for k, v := range map[string]int{ProgrammeOTP: otp, ProgrammeInpatient: inp, ProgrammeTSFP: tsfp} {
			if v > 0 {
				m[k] = v
			}
		}
		return m
	}
	// Hand-computed from seeded(); see the comments there.
	all := IndicatorRow{Group: "all",
		ChildrenScreened: 4, ChildrenModerate: 1, ChildrenSevere: 1, ChildrenOedema: 1, // A severe (not moderate), C moderate, B oedema, F well
		InfantsAssessed: 1, InfantsAtRisk: 1, PLWScreened: 1, PLWMalnourished: 1,
		Admissions: adm(2, 1, 2), AdmissionsTotal: 5, TransfersIn: 1, // A, B otp; G3 inpatient; C, E tsfp
		ExitsSevere: ExitStats{Exits: 4, Cured: 1, Died: 1, Defaulted: 1, TransferredInternal: 1, MovedUnknown: 1,
			CureRate: f(0.25), DefaultRate: f(0.25), DeathRate: f(0.25), NonResponseRate: f(0),
			MeetsCure: b(false), MeetsDefault: b(false), MeetsDeath: b(false)},
		ExitsModerate: ExitStats{Exits: 1, Cured: 1, CureRate: f(1), DefaultRate: f(0), DeathRate: f(0), NonResponseRate: f(0),
			MeetsCure: b(true), MeetsDefault: b(true), MeetsDeath: b(true)},
		ChildrenMicronutrients: 1, PLWMicronutrients: 1, IYCFCounselling: 1, PLWCounselling: 1, ReferralsMade: 2, ReferralsCompleted: 1,
	}
	march := IndicatorRow{Group: "2025-03",
		ChildrenScreened: 3, ChildrenSevere: 1, ChildrenOedema: 1, // A (severe after moderate), B, F
		InfantsAssessed: 1, InfantsAtRisk: 1, PLWScreened: 1, PLWMalnourished: 1,
		Admissions: adm(2, 1, 1), AdmissionsTotal: 4, TransfersIn: 1,
		ExitsSevere: ExitStats{Exits: 2, Defaulted: 1, TransferredInternal: 1, MovedUnknown: 1, // B defaulted, G2 transferred, G1 moved (not in the denominator)
			CureRate: f(0), DefaultRate: f(0.5), DeathRate: f(0), NonResponseRate: f(0),
			MeetsCure: b(false), MeetsDefault: b(false), MeetsDeath: b(true)},
		ChildrenMicronutrients: 1, PLWMicronutrients: 1, IYCFCounselling: 1, PLWCounselling: 1, ReferralsMade: 1, ReferralsCompleted: 1,
	}
	april := IndicatorRow{Group: "2025-04",
		ChildrenScreened: 2, ChildrenModerate: 1, // A well, C moderate
		InfantsAssessed: 1, PLWScreened: 1,
		Admissions: adm(0, 0, 1), AdmissionsTotal: 1,
		ExitsSevere: ExitStats{Exits: 2, Cured: 1, Died: 1, // A cured, F died
			CureRate: f(0.5), DefaultRate: f(0), DeathRate: f(0.5), NonResponseRate: f(0),
			MeetsCure: b(false), MeetsDefault: b(true), MeetsDeath: b(false)},
		ExitsModerate: ExitStats{Exits: 1, Cured: 1, CureRate: f(1), DefaultRate: f(0), DeathRate: f(0), NonResponseRate: f(0),
			MeetsCure: b(true), MeetsDefault: b(true), MeetsDeath: b(true)},
		PLWMicronutrients: 1, ReferralsMade: 1,
	}
	female := IndicatorRow{Group: SexFemale,
		ChildrenScreened: 2, ChildrenModerate: 1, ChildrenOedema: 1, InfantsAssessed: 1, InfantsAtRisk: 1,
		PLWScreened: 1, PLWMalnourished: 1, Admissions: adm(1, 0, 2), AdmissionsTotal: 3,
		ExitsSevere: ExitStats{Exits: 1, Defaulted: 1, CureRate: f(0), DefaultRate: f(1), DeathRate: f(0), NonResponseRate: f(0),
			MeetsCure: b(false), MeetsDefault: b(false), MeetsDeath: b(true)},
		ExitsModerate: ExitStats{Exits: 1, Cured: 1, CureRate: f(1), DefaultRate: f(0), DeathRate: f(0), NonResponseRate: f(0),
			MeetsCure: b(true), MeetsDefault: b(true), MeetsDeath: b(true)},
		PLWMicronutrients: 1, PLWCounselling: 1,
	}
	third := 1.0 / 3
	male := IndicatorRow{Group: SexMale,
		ChildrenScreened: 2, ChildrenSevere: 1, Admissions: adm(1, 1, 0), AdmissionsTotal: 2, TransfersIn: 1,
		ExitsSevere: ExitStats{Exits: 3, Cured: 1, Died: 1, TransferredInternal: 1, MovedUnknown: 1,
			CureRate: f(third), DefaultRate: f(0), DeathRate: f(third), NonResponseRate: f(0),
			MeetsCure: b(false), MeetsDefault: b(true), MeetsDeath: b(false)},
		ChildrenMicronutrients: 1, IYCFCounselling: 1, ReferralsMade: 2, ReferralsCompleted: 1,
	}
	unknownGroup := all
	unknownGroup.Group = "unknown"
	tests := []struct {
		by   string
		want []IndicatorRow
	}{
		{"", []IndicatorRow{all}},
		{ByMonth, []IndicatorRow{march, april}},
		{BySex, []IndicatorRow{female, male}},
		{ByPopGroup, []IndicatorRow{unknownGroup}}, // the seeded set records no population group
	}
	rs := DefaultRuleSet()
	for _, tt := range tests {
		t.Run("by="+tt.by, func(t *testing.T) {
			got, err := Indicators(seeded(), rs, day("2025-03-01"), day("2025-05-01"), tt.by)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Indicators by %q (-want +got):\n%s", tt.by, diff)
			}
			for _, r := range got {
				if n := len(r.Record()); n != len(IndicatorColumns) {
					t.Errorf("Record has %d fields, IndicatorColumns %d", n, len(IndicatorColumns))
				}
			}
		})
	}

	// Excluding internal transfers from the denominator (§7 config flag).
	rs.ExcludeTransferredInternal = true
	got, err := Indicators(seeded(), rs, day("2025-03-01"), day("2025-05-01"), "")
	if err != nil {
		t.Fatal(err)
	}
	if x := got[0].ExitsSevere; x.Exits != 3 || *x.CureRate != third {
		t.Errorf("without transfers: %+v", x)
	}
}

func TestIndicatorsErrors(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	_, err := Indicators(nil, rs, day("2025-03-01"), day("2025-05-01"), "site")
	if fe, ok := errors.AsType[*records.FieldError](err); !ok || fe.Field != "by" || !errors.Is(err, records.ErrInvalid) {
		t.Errorf("by=site: %v", err)
	}
	if _, err := Indicators(nil, rs, day("2025-03-01"), day("2025-03-01"), ""); !errors.Is(err, records.ErrInvalid) {
		t.Errorf("empty period: %v", err)
	}
	rows, err := Indicators(nil, rs, day("2025-01-15"), day("2025-04-01"), ByMonth)
	if err != nil || len(rows) != 3 || rows[0].Group != "2025-01" || rows[2].Group != "2025-03" {
		t.Errorf("empty months: %v, %+v", err, rows)
	}
}

// synthetic returns n states with a few assessments, an episode and an
// intervention each, spread over 2025.
func synthetic(n int) []State {
	rs := DefaultRuleSet()
	out := make([]State, n)
	classes := []string{ClassNotWasted, ClassNotWasted, ClassModerateWasting, ClassSevereWasting}
	outs := []string{OutcomeCured, OutcomeCured, OutcomeCured, OutcomeDefaulted, OutcomeDied, OutcomeMovedUnknown}
	for i := range out {
		sex := SexMale
		if i%2 == 1 {
			sex = SexFemale
		}
		area := fmt.Sprintf("A%02d", i%40)
		s := State{PersonRef: fmt.Sprintf("p%06d", i), Country: "CO"}
		d0 := day("2025-01-01").AddDate(0, 0, i%300)
		for k := range 3 {
			c := classes[(i+k)%len(classes)]
			s.Assessments = append(s.Assessments, Assessment{MeasurementID: fmt.Sprintf("m%d", k), Date: d0.AddDate(0, 0, 14*k),
				Subject: SubjectChild, Sex: sex, AdminArea: area, AgeBand: AgeBandChild, MUACmm: MM(120),
				AnthroWasting: c, Wasting: c, Classification: c, Rule: rs.Ref("child.wasting")})
		}
		if i%4 == 3 {
			s.Episodes = []Episode{{ID: "e", Programme: ProgrammeOTP, AdmissionDate: d0, Status: EpisodeFinished,
				Outcome: outs[i%len(outs)], OutcomeDate: d0.AddDate(0, 0, 40), Sex: sex, AdminArea: area, AgeBand: AgeBandChild}}
		}
		if i%3 == 0 {
			s.Interventions = []Intervention{{ID: "i", Date: d0, Kind: InterventionVitaminA, AdminArea: area}}
		}
		out[i] = s
	}
	return out
}

// BenchmarkIndicators computes the indicators over 100,000 persons, from
// their states and from their facts (what /indicators does with the facts
// in memory).
func BenchmarkIndicators(b *testing.B) {
	states := synthetic(100_000)
	facts := make([]Facts, len(states))
	for i := range states {
		facts[i] = FactsOf(&states[i])
	}
	rs := DefaultRuleSet()
	from, to := day("2025-01-01"), day("2026-01-01")
	for _, in := range []string{"states", "facts"} {
		for _, by := range []string{"", ByMonth, ByAdminArea} {
			b.Run(in+"/by="+by, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if in == "states" {
						_, err = Indicators(states, rs, from, to, by)
					} else {
						_, err = IndicatorsOf(facts, rs, from, to, by)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAssessApply assesses one measurement and applies it to a person
// with a year of history and an open episode.
func BenchmarkAssessApply(b *testing.B) {
	rs := DefaultRuleSet()
	s := State{PersonRef: "p"}
	d := day("2025-01-06")
	for k := range 12 {
		m := boy(fmt.Sprintf("m%02d", k), d.Format(time.DateOnly), 130)
		s, _ = Apply(s, Assess(m, &s, rs), rs, at(d), "hw")
		d = d.AddDate(0, 0, 14)
	}
	s, _ = Apply(s, Assess(boy("m12", d.Format(time.DateOnly), 112), &s, rs), rs, at(d), "hw")
	s, _, err := Admit(s, rs, Admission{Programme: ProgrammeOTP, Date: d}, at(d), "nurse")
	if err != nil {
		b.Fatal(err)
	}
	next := boy("m13", d.AddDate(0, 0, 7).Format(time.DateOnly), 116)
	b.ReportAllocs()
	for b.Loop() {
		a := Assess(next, &s, rs)
		if _, ev := Apply(s, a, rs, at(next.Date), "hw"); len(ev) == 0 {
			b.Fatal("no events")
		}
	}
}
