package nutrition

import (
	"hash/fnv"
	"math"
	"strconv"
	"strings"

	"contigo/growth"
)

// bandEdgeDays is how close to the 6- and 60-month edges an approximate age
// makes the age band uncertain (nutrition-rules §1: ±15 days).
const bandEdgeDays = 15

// Assess derives the assessment of m (which should have passed Validate)
// with rule set rs: age, z-scores and flags from growth.Assess,
// classification by age band (growth.Classify) or, for a woman, by the
// country's PLW MUAC rule (growth.ClassifyPLW), the data-quality flags of §6
// and the change-since-previous-visit plausibility rules against the newest
// assessment in prev dated before m (prev may be nil). It never fails: what
// cannot be computed is left out and flagged.
func Assess(m Measurement, prev *State, rs *RuleSet) Assessment {
	a := Assessment{
		MeasurementID: m.ID,
		Date:          dateOnly(m.Date),
		InputHash:     inputHash(&m),
		Subject:       m.Subject,
		Sex:           m.Sex,
		WeightKg:      m.WeightKg,
		LengthCm:      m.LengthCm,
		MUACmm:        m.MUACmm,
		Oedema:        m.Oedema,
		PLWStatus:     m.PLWStatus,
		Rule:          rs.Ref(""),
		Site:          m.Site, AdminArea: m.AdminArea, PopulationGroup: m.PopulationGroup,
		Measurer: m.Measurer,
	}
	if a.Subject == "" {
		a.Subject = SubjectChild
	}
	a.OedemaAssessed = m.Oedema == OedemaAbsent || oedemaPresent(m.Oedema)
	if !m.BirthDate.IsZero() {
		b := normalBirth(m.BirthDate, m.BirthPrecision)
		days := civil(m.Date) - civil(b)
		if days < 0 { // approximate birth date after the visit: the earliest age
			days = 0
		}
		a.HasAge, a.AgeDays = true, int(days)
		a.AgeMonths = float64(days) / growth.DaysPerMonth
		a.Approximate = m.BirthPrecision == PrecisionMonth || m.BirthPrecision == PrecisionYear
	}
	if !m.DeliveryDate.IsZero() {
		a.DeliveryDate = dateOnly(m.DeliveryDate)
	}
	if a.Subject == SubjectPLW {
		assessPLW(&a, rs)
	} else {
		assessChild(&a, &m, rs)
	}
	if p := previous(prev, &a); p != nil {
		changeFlags(&a, p, &rs.DataQuality)
	}
	for _, f := range a.Flags {
		if Implausible(f) {
			a.Implausible = true
		}
	}
	return a
}

func assessPLW(a *Assessment, rs *RuleSet) {
	a.AgeBand = AgeBandPLW
	a.Rule.RuleID = "plw.muac"
	var muac float64
	if a.MUACmm != nil {
		muac = float64(*a.MUACmm)
	}
	c := growth.ClassifyPLW(muac, a.MUACmm != nil, &rs.Classification)
	a.PLW = c.String()
	a.Classification = a.PLW
	if c == growth.PLWAcuteMalnutrition {
		a.Criteria = []string{"muac_mm"}
	}
}

func assessChild(a *Assessment, m *Measurement, rs *RuleSet) {
	gm := growth.NewMeasurement()
	switch m.Sex {
	case SexMale:
		gm.Sex = growth.Male
	case SexFemale:
		gm.Sex = growth.Female
	default:
		a.Flags = append(a.Flags, FlagSexMissing)
	}
	if a.HasAge {
		gm.Age, gm.AgeUnit = float64(a.AgeDays), growth.Days
		if a.Approximate {
			a.Flags = append(a.Flags, FlagApproximateAge)
			d := float64(a.AgeDays)
			if math.Abs(d-6*growth.DaysPerMonth) <= bandEdgeDays || math.Abs(d-60*growth.DaysPerMonth) <= bandEdgeDays {
				a.Flags = append(a.Flags, FlagAgeBandEdge)
			}
		}
	} else {
		a.Flags = append(a.Flags, FlagAgeUnknown)
	}
	switch m.Position {
	case PositionLying:
		gm.Position = growth.Lying
	case PositionStanding:
		gm.Position = growth.Standing
	}
	gm.Oedema = oedemaPresent(m.Oedema)
	if m.WeightKg != nil {
		gm.Weight = *m.WeightKg
	}
	if m.LengthCm != nil {
		gm.LenHei = *m.LengthCm
	}
	if m.HeadCircCm != nil {
		gm.HeadC = *m.HeadCircCm
	}
	if m.MUACmm != nil {
		gm.ArmC = float64(*m.MUACmm) / 10
	}
	if m.TricepsMm != nil {
		gm.TriSkin = *m.TricepsMm
	}
	if m.SubscapularMm != nil {
		gm.SubSkin = *m.SubscapularMm
	}
	r, err := growth.Assess(&gm)
	if err != nil { // only for input Validate rejects; classify without z-scores
		r = growth.Result{CLenHei: gm.LenHei}
	}
	if m.LengthCm != nil {
		v := r.CLenHei
		a.AdjLengthCm = &v
	}
	zs := []struct {
		dst  **float64
		ind  growth.Indicator
		flag string
	}{
		{&a.Z.WAZ, growth.WeightForAge, FlagWAZ}, {&a.Z.HAZ, growth.LenHeiForAge, FlagHAZ},
		{&a.Z.WHZ, growth.WeightForLenHei, FlagWHZ}, {&a.Z.BAZ, growth.BMIForAge, FlagBAZ},
		{&a.Z.HCZ, growth.HeadCForAge, FlagHCZ}, {&a.Z.ACZ, growth.ArmCForAge, FlagACZ},
		{&a.Z.TSZ, growth.TricepsForAge, FlagTSZ}, {&a.Z.SSZ, growth.SubscapularForAge, FlagSSZ},
	}
	for _, z := range zs {
		s := r.Scores[z.ind]
		if !s.OK {
			continue
		}
		v := s.Z
		*z.dst = &v
		if s.Flag {
			a.Flags = append(a.Flags, z.flag)
		}
	}
	if r.C9moFlag {
		a.Flags = append(a.Flags, FlagStandingUnder9m)
	} else if a.HasAge && (a.AgeDays < 731 && gm.Position == growth.Standing || a.AgeDays >= 731 && gm.Position == growth.Lying) && m.LengthCm != nil {
		a.Flags = append(a.Flags, FlagPositionMismatch)
	}
	young := !a.HasAge || a.AgeMonths < 60
	if young && gm.Sex != growth.SexUnknown && !gm.Oedema && m.WeightKg != nil && m.LengthCm != nil && a.Z.WHZ == nil {
		a.Flags = append(a.Flags, FlagNoWHZRange)
	}

	in := growth.ClassInput{AgeMonths: a.AgeMonths, HasAge: a.HasAge, Oedema: growthOedema(m.Oedema)}
	set := func(p *float64, v *float64, has *bool) {
		if p != nil {
			*v, *has = *p, true
		}
	}
	set(a.Z.WHZ, &in.WHZ, &in.HasWHZ)
	set(a.Z.WAZ, &in.WAZ, &in.HasWAZ)
	set(a.Z.HAZ, &in.HAZ, &in.HasHAZ)
	set(a.Z.BAZ, &in.BAZ, &in.HasBAZ)
	if m.MUACmm != nil {
		in.MUACmm, in.HasMUAC = float64(*m.MUACmm), true
	}
	c := growth.Classify(in, &rs.Classification)
	a.AgeBand = c.AgeBand.String()
	if crit := c.Criteria.String(); crit != "" {
		a.Criteria = strings.Split(crit, "+")
	}
	switch c.AgeBand {
	case growth.AgeBandChild:
		a.Wasting, a.AnthroWasting = c.Wasting.String(), c.AnthroWasting.String()
		a.NutritionalOedema = c.NutritionalOedema
		a.Classification = a.Wasting
		a.Rule.RuleID = "child.wasting"
	case growth.AgeBandInfant:
		a.Infant = c.Infant.String()
		a.NutritionalOedema = gm.Oedema
		a.Classification = a.Infant
		if c.Infant.AtRisk() {
			a.Classification = ClassInfantAtRisk
		}
		// Clinical/feeding criteria (§3.2) also make the infant at risk.
		if ic := infantCriteria(m.InfantCriteria); len(ic) > 0 {
			a.InfantCriteria = ic
			a.Criteria = append(a.Criteria, ic...)
			if !c.Infant.AtRisk() {
				a.Infant = ClassInfantAtRisk
			}
			a.Classification = ClassInfantAtRisk
		}
		a.Rule.RuleID = "infant_u6m"
	case growth.AgeBandOver5:
		a.Classification = ClassNotApplicable
		a.Flags = append(a.Flags, FlagOver5)
	default:
		a.Classification = ClassUnknown
	}
	if c.AgeBand == growth.AgeBandChild || c.AgeBand == growth.AgeBandInfant {
		a.Stunting, a.Underweight, a.Overweight = c.Stunting.String(), c.Underweight.String(), c.Overweight.String()
		a.ExtraBand = c.ExtraBand
		if !a.OedemaAssessed {
			a.Flags = append(a.Flags, FlagOedemaNotAssess)
		}
	}
}

// infantCriteria returns the known codes of list, without duplicates, in
// InfantCriterionCodes order.
func infantCriteria(list []string) []string {
	var out []string
	for _, c := range InfantCriterionCodes {
		if contains(list, c) {
			out = append(out, c)
		}
	}
	return out
}

// changeFlags applies the change-since-previous-visit rules of §6.
func changeFlags(a, p *Assessment, d *DataQuality) {
	days := int(civil(a.Date) - civil(p.Date))
	if a.AdjLengthCm != nil && p.AdjLengthCm != nil && *p.AdjLengthCm-*a.AdjLengthCm > d.LengthDecreaseCm {
		a.Flags = append(a.Flags, FlagLengthDecrease)
	}
	if a.WeightKg != nil && p.WeightKg != nil && days <= d.WeightChangeDays && *p.WeightKg > 0 &&
		// rounded to 1e-6 % so that 9.0 -> 10.8 kg is exactly 20 %
		math.Round(math.Abs(*a.WeightKg-*p.WeightKg)/(*p.WeightKg)*1e8)/1e6 > d.WeightChangePct {
		a.Flags = append(a.Flags, FlagWeightChange)
	}
	if a.MUACmm != nil && p.MUACmm != nil && days <= d.MUACChangeDays {
		diff := *a.MUACmm - *p.MUACmm
		if diff > d.MUACChangeMM || -diff > d.MUACChangeMM {
			a.Flags = append(a.Flags, FlagMUACChange)
		}
	}
}

// previous returns the newest assessment in s ordered before a (by date,
// then measurement id), of the same subject kind, or nil.
func previous(s *State, a *Assessment) *Assessment {
	if s == nil {
		return nil
	}
	for i := len(s.Assessments) - 1; i >= 0; i-- {
		p := &s.Assessments[i]
		if p.MeasurementID != a.MeasurementID && p.Subject == a.Subject && before(p, a) {
			return p
		}
	}
	return nil
}

// before reports whether p sorts before a: date, then measurement id.
func before(p, a *Assessment) bool {
	if !p.Date.Equal(a.Date) {
		return p.Date.Before(a.Date)
	}
	return p.MeasurementID < a.MeasurementID
}

func oedemaPresent(o string) bool {
	return o == OedemaPlus || o == OedemaPlusPlus || o == OedemaPlusPlusPlus
}

func growthOedema(o string) growth.OedemaStatus {
	switch o {
	case OedemaAbsent:
		return growth.OedemaAbsent
	case OedemaNotAssessed:
		return growth.OedemaNotAssessed
	case OedemaPlus:
		return growth.OedemaGrade1
	case OedemaPlusPlus:
		return growth.OedemaGrade2
	case OedemaPlusPlusPlus:
		return growth.OedemaGrade3
	}
	return growth.OedemaUnknown
}

// inputHash fingerprints everything in m that Assess reads, so that a
// correction is recognised.
func inputHash(m *Measurement) string {
	b := make([]byte, 0, 160)
	str := func(s string) { b = append(append(b, s...), 0) }
	flt := func(p *float64) {
		if p == nil {
			str("-")
			return
		}
		b = strconv.AppendFloat(b, *p, 'g', -1, 64)
		b = append(b, 0)
	}
	str(m.ID)
	str(m.Date.Format("2006-01-02"))
	str(m.Subject)
	str(m.Sex)
	if !m.BirthDate.IsZero() {
		str(m.BirthDate.Format("2006-01-02"))
	}
	str(m.BirthPrecision)
	flt(m.WeightKg)
	flt(m.LengthCm)
	str(m.Position)
	flt(m.HeadCircCm)
	if m.MUACmm != nil {
		b = strconv.AppendInt(b, int64(*m.MUACmm), 10)
	}
	str("")
	str(m.Oedema)
	str(m.PLWStatus)
	if ic := infantCriteria(m.InfantCriteria); len(ic) > 0 { // only when recorded, so older fingerprints stay valid
		str("infant:" + strings.Join(ic, ","))
	}
	if !m.DeliveryDate.IsZero() { // only when known, so older fingerprints stay valid
		str("delivery:" + m.DeliveryDate.Format("2006-01-02"))
	}
	if m.TricepsMm != nil || m.SubscapularMm != nil { // only when measured, so older fingerprints stay valid
		str("skinfolds:")
		flt(m.TricepsMm)
		flt(m.SubscapularMm)
	}
	str(m.Site)
	str(m.AdminArea)
	str(m.PopulationGroup)
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 16)
}
