package growth

import "math"

// Assess computes every z-score that applies to m, with flags, the corrected
// length/height and BMI. It does not allocate.
//
// Ages under 60 months (unrounded) follow anthro, 60 to 228 months anthroplus
// (60 to 120 for weight-for-age); with the age unknown only
// weight-for-length/height is scored. A z-score that does not apply has OK
// false. Assess returns a zero Result and an *InputError matching
// ErrInvalidInput if Sex, Position or AgeUnit is not one of its constants,
// the age is negative, NaN or infinite while AgeUnit is set, or a
// measurement is ±Inf.
func Assess(m *Measurement) (Result, error) {
	var p prep
	if err := p.init(m); err != nil {
		return Result{}, err
	}
	r := Result{CLenHei: p.clenhei, CBMI: p.cbmi, BMI: p.bmi, CMeasure: p.cmeasure, C9moFlag: p.c9mo}
	// Only the indicators of the child's age group can be scored; the
	// others stay NA (the zero Score).
	first, end := LenHeiForAge, NumIndicators
	switch {
	case !p.ageKnown:
		first, end = WeightForLenHei, WeightForLenHei+1
	case p.young:
		end = SubscapularForAge + 1
	default:
		first = HeightForAge5to19
	}
	for i := first; i < end; i++ {
		r.Scores[i] = p.score(i, m)
	}
	return r, nil
}

// Z computes the one indicator ind for m under the same rules as Assess. It
// returns the errors Assess returns, and an *InputError if ind is not an
// indicator.
func Z(ind Indicator, m *Measurement) (Score, error) {
	if ind >= NumIndicators {
		return Score{}, &InputError{Field: "Indicator", Reason: "unknown indicator"}
	}
	var p prep
	if err := p.init(m); err != nil {
		return Score{}, err
	}
	return p.score(ind, m), nil
}

// flagLimits holds, per indicator, the rounded z-scores below and above which
// a value is flagged implausible (anthro's flag_threshold in each indicator
// wrapper; anthroplus_zscores).
var flagLimits = [NumIndicators][2]float64{
	LenHeiForAge:      {-6, 6},
	WeightForAge:      {-6, 5},
	WeightForLenHei:   {-5, 5},
	BMIForAge:         {-5, 5},
	HeadCForAge:       {-5, 5},
	ArmCForAge:        {-5, 5},
	TricepsForAge:     {-5, 5},
	SubscapularForAge: {-5, 5},
	HeightForAge5to19: {-6, 6},
	WeightForAge5to10: {-6, 5},
	BMIForAge5to19:    {-5, 5},
}

// prep holds what every indicator needs from a Measurement, derived once.
type prep struct {
	si       int     // sex: 0 male, 1 female, -1 unknown
	ageKnown bool    // an age was given
	young    bool    // ageKnown and months < 60: anthro's domain
	months   float64 // age in months, unrounded
	days     int     // age in days rounded half up; set only when young

	clenhei, cbmi, bmi float64
	cmeasure           Position
	c9mo               bool
}

// init validates m and fills p.
func (p *prep) init(m *Measurement) error {
	if err := validate(m); err != nil {
		return err
	}
	p.si = int(m.Sex) - 1
	if m.AgeUnit != AgeUnknown {
		p.ageKnown = true
		days := m.Age
		p.months = m.Age
		if m.AgeUnit == Days {
			p.months = m.Age / DaysPerMonth
		} else {
			days = m.Age * DaysPerMonth
		}
		if p.months < 60 {
			p.young = true
			p.days = roundHalfUp(days) // days < 1826.25
		}
	}

	// anthro_zscores: a standing height under 9 months loses its position.
	p.cmeasure = m.Position
	if m.Position == Standing && p.ageKnown && p.months < 9 {
		p.cmeasure, p.c9mo = PositionUnknown, true
	}
	// adjust_lenhei: length below 731 rounded days, height from 731 on.
	p.clenhei = m.LenHei
	if p.ageKnown {
		lengthAge := p.young && p.days < 731
		switch {
		case lengthAge && p.cmeasure == Standing:
			p.clenhei = m.LenHei + 0.7
		case !lengthAge && p.cmeasure == Lying:
			p.clenhei = m.LenHei - 0.7
		}
	}
	h := p.clenhei / 100
	p.cbmi = m.Weight / (h * h)
	h = m.LenHei / 100
	p.bmi = m.Weight / (h * h)
	return nil
}

// validate returns an *InputError for the first field of m that cannot be
// scored.
func validate(m *Measurement) error {
	switch {
	case m.Sex > Female:
		return &InputError{Field: "Sex", Reason: "unknown code"}
	case m.Position > Standing:
		return &InputError{Field: "Position", Reason: "unknown code"}
	case m.AgeUnit > Months:
		return &InputError{Field: "AgeUnit", Reason: "unknown code"}
	}
	if m.AgeUnit != AgeUnknown {
		switch {
		case math.IsNaN(m.Age):
			return &InputError{Field: "Age", Reason: "not a number (use AgeUnknown for a missing age)"}
		case math.IsInf(m.Age, 0):
			return &InputError{Field: "Age", Reason: "infinite"}
		case m.Age < 0:
			return &InputError{Field: "Age", Reason: "negative"}
		}
	}
	var field string
	switch {
	case math.IsInf(m.Weight, 0):
		field = "Weight"
	case math.IsInf(m.LenHei, 0):
		field = "LenHei"
	case math.IsInf(m.HeadC, 0):
		field = "HeadC"
	case math.IsInf(m.ArmC, 0):
		field = "ArmC"
	case math.IsInf(m.TriSkin, 0):
		field = "TriSkin"
	case math.IsInf(m.SubSkin, 0):
		field = "SubSkin"
	default:
		return nil
	}
	return &InputError{Field: field, Reason: "infinite"}
}

// score computes indicator ind.
func (p *prep) score(ind Indicator, m *Measurement) Score {
	var z float64
	var ok bool
	switch ind {
	case LenHeiForAge:
		z, ok = p.byAge(tabLenHeiAge, p.clenhei, present(p.clenhei), 0, false)
	case WeightForAge:
		z, ok = p.byAge(tabWeightAge, m.Weight, present(m.Weight) && !m.Oedema, 0, true)
	case WeightForLenHei:
		z, ok = p.forLenHei(m)
	case BMIForAge:
		z, ok = p.byAge(tabBMIAge, p.cbmi, present(m.Weight) && present(m.LenHei) && !m.Oedema, 0, true)
	case HeadCForAge:
		z, ok = p.byAge(tabHeadCAge, m.HeadC, present(m.HeadC), 0, false)
	case ArmCForAge:
		z, ok = p.byAge(tabArmCAge, m.ArmC, present(m.ArmC), 91, true)
	case TricepsForAge:
		z, ok = p.byAge(tabTriAge, m.TriSkin, present(m.TriSkin), 91, true)
	case SubscapularForAge:
		z, ok = p.byAge(tabSubAge, m.SubSkin, present(m.SubSkin), 91, true)
	case HeightForAge5to19:
		z, ok = p.byMonths(tabHFA5to19, m.LenHei, nonNegative(m.LenHei), 228, false)
	case WeightForAge5to10:
		z, ok = p.byMonths(tabWFA5to10, m.Weight, nonNegative(m.Weight) && !m.Oedema, 120, true)
	case BMIForAge5to19:
		z, ok = p.byMonths(tabBFA5to19, p.bmi, nonNegative(m.Weight) && nonNegative(m.LenHei) && !m.Oedema, 228, true)
	}
	if !ok {
		return Score{}
	}
	return finish(z, ind)
}

// present reports whether x is not Missing.
func present(x float64) bool { return !math.IsNaN(x) }

// nonNegative reports whether x is present and not negative: anthroplus
// stops on a negative height or weight, so the z-score is NA here.
func nonNegative(x float64) bool { return x >= 0 }

// finish rounds z and flags it.
func finish(z float64, ind Indicator) Score {
	if math.IsNaN(z) {
		return Score{Unrounded: z, NonFinite: true}
	}
	if math.IsInf(z, 0) {
		return Score{Unrounded: z, NonFinite: true, Flag: true}
	}
	r := Round2(z)
	if r == 0 {
		r = 0 // no -0
	}
	lim := &flagLimits[ind]
	return Score{Z: r, Unrounded: z, Flag: r < lim[0] || r > lim[1], OK: true}
}

// byAge is anthro's anthro_zscore_adjusted: the z-score of y from the daily
// table t at the rounded age in days, if the age is under 60 months and at
// least minDay rounded days, y is given (ok) and above 0, and the sex is
// known; by restricted LMS if restricted, else plain LMS. There is no
// interpolation between days.
func (p *prep) byAge(t *table, y float64, ok bool, minDay int, restricted bool) (float64, bool) {
	if p.si < 0 || !p.young || p.days < minDay || !ok || y <= 0 {
		return 0, false
	}
	r, found := t.row(p.si, p.days)
	if !found {
		return 0, false
	}
	if restricted {
		return zRestricted(y, r), true
	}
	return zLMS(y, r), true
}

// forLenHei is anthro's anthro_zscore_weight_for_lenhei: restricted LMS on
// the length table (age under 731 rounded days, or age unknown and lying, or
// age and position unknown and clenhei < 87) or else the height table,
// interpolated linearly between 0.1 cm rows. There is no weight > 0 test.
func (p *prep) forLenHei(m *Measurement) (float64, bool) {
	h := p.clenhei
	if p.si < 0 || m.Oedema || !present(m.Weight) || !present(h) || p.ageKnown && !p.young {
		return 0, false
	}
	var length bool
	switch {
	case p.ageKnown:
		length = p.days < 731
	case p.cmeasure != PositionUnknown:
		length = p.cmeasure == Lying
	default:
		length = h < 87
	}
	t := tabWFH
	if length {
		if h < 45 || h > 110 {
			return 0, false
		}
		t = tabWFL
	} else if h < 65 || h > 120 {
		return 0, false
	}
	// Expressions as in anthro, including their floating-point effects
	// (45.1 is 45.0 plus frac = 1.0000000000000142).
	// h is within 45..120 here, so int conversion is trunc.
	x10 := float64(h * 10)
	kLow := float64(int(x10))
	kUpp := float64(int(x10 + 1))
	frac := (h - kLow/10) / 0.1
	lo, found := t.row(p.si, int(kLow))
	if !found {
		return 0, false
	}
	if frac > 0 {
		up, found := t.row(p.si, int(kUpp))
		if !found {
			return 0, false
		}
		lo = lerp(lo, up, frac)
	}
	return zRestricted(m.Weight, lo), true
}

// byMonths is anthroplus's zscore_indicator: the z-score of y from the
// monthly table t, interpolated linearly between whole months, for ages from
// 60 to maxMonths months inclusive, y given (ok) and a known sex; by
// restricted LMS if restricted, else plain LMS.
func (p *prep) byMonths(t *table, y float64, ok bool, maxMonths float64, restricted bool) (float64, bool) {
	a := p.months
	if p.si < 0 || !p.ageKnown || !(a >= 60 && a <= maxMonths) || !ok {
		return 0, false
	}
	low := float64(int(a)) // trunc, as a is within 60..228
	upp := float64(int(a + 1))
	frac := a - low
	r, found := t.row(p.si, int(low))
	if !found {
		return 0, false
	}
	if frac > 0 {
		up, found := t.row(p.si, int(upp))
		if !found {
			return 0, false
		}
		r = lerp(r, up, frac)
	}
	if restricted {
		return zRestricted(y, r), true
	}
	return zLMS(y, r), true
}
