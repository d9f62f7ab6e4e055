package nutrition

import (
	"errors"
	"fmt"
	"time"

	"contigo/records"
)

// Validate applies the reject rules of nutrition-rules §6 to m with the
// bounds of rs: impossible dates (birth or visit in the future, visit before
// birth; "future" allows rs.DataQuality.FutureSkewDays of clock skew),
// missing or non-positive values, the child and PLW hard bounds, the
// enumerated fields, and a woman's MUAC without a pregnancy or lactation
// status valid at the visit. It returns nil, or every broken rule joined
// (errors.Join) as *records.FieldError values, each matching
// records.ErrInvalid and naming the Measurement field in snake_case.
func Validate(m Measurement, rs *RuleSet, now time.Time) error {
	var errs []error
	bad := func(field, reason string) {
		errs = append(errs, &records.FieldError{Field: field, Reason: reason})
	}
	if m.ID == "" {
		bad("id", "missing")
	}
	checkEnum := func(field, v string, allowed ...string) {
		if v != "" && !contains(allowed, v) {
			bad(field, fmt.Sprintf("must be one of %q", allowed))
		}
	}
	checkEnum("subject", m.Subject, SubjectChild, SubjectPLW)
	checkEnum("sex", m.Sex, SexMale, SexFemale, SexUnknown)
	checkEnum("birth_precision", m.BirthPrecision, PrecisionDay, PrecisionMonth, PrecisionYear)
	checkEnum("position", m.Position, PositionLying, PositionStanding, PositionUnknown)
	checkEnum("oedema", m.Oedema, OedemaAbsent, OedemaPlus, OedemaPlusPlus, OedemaPlusPlusPlus, OedemaNotAssessed)
	checkEnum("plw_status", m.PLWStatus, StatusPregnant, StatusLactating)
	for _, c := range m.InfantCriteria {
		checkEnum("infant_criteria", c, InfantCriterionCodes...)
	}
	if len(m.InfantCriteria) > 0 && m.Subject == SubjectPLW {
		bad("infant_criteria", "only for a child")
	}

	// Dates compare as calendar days; the skew allows a client clock ahead.
	today := civil(now)
	limit := today + int64(rs.DataQuality.FutureSkewDays)
	earliest := earliestBirth(m.BirthDate, m.BirthPrecision)
	switch {
	case m.Date.IsZero():
		bad("date", "missing")
	case civil(m.Date) > limit:
		bad("date", "in the future")
	case !m.BirthDate.IsZero() && civil(m.Date) < civil(earliest):
		bad("date", "before the date of birth")
	}
	if !m.BirthDate.IsZero() && civil(earliest) > today {
		bad("birth_date", "in the future")
	}

	plw := m.Subject == SubjectPLW
	w, l, mu, hc := boundsFor(rs, plw)
	checkF := func(field string, p *float64, b *Bounds) {
		switch {
		case p == nil:
		case !finite(*p):
			bad(field, "not a finite number")
		case *p <= 0:
			bad(field, "must be positive")
		case b != nil && !b.contains(*p):
			bad(field, fmt.Sprintf("outside the accepted range [%g, %g]", b.Min, b.Max))
		}
	}
	checkF("weight_kg", m.WeightKg, w)
	checkF("length_cm", m.LengthCm, l)
	checkF("head_circumference_cm", m.HeadCircCm, hc)
	checkF("triceps_skinfold_mm", m.TricepsMm, nil)
	checkF("subscapular_skinfold_mm", m.SubscapularMm, nil)
	if m.MUACmm != nil {
		v := float64(*m.MUACmm)
		checkF("muac_mm", &v, mu)
	}
	if plw {
		if m.Sex == SexMale {
			bad("sex", "a pregnant or lactating woman cannot be male")
		}
		if m.MUACmm != nil && m.PLWStatus == "" {
			bad("plw_status", "missing: MUAC of a woman needs her pregnancy or lactation status at the visit")
		}
		if m.PLWStatus == StatusLactating && !m.DeliveryDate.IsZero() && !m.Date.IsZero() {
			end := m.DeliveryDate.AddDate(0, rs.LactationMonths, 0)
			if civil(m.Date) < civil(m.DeliveryDate) {
				bad("delivery_date", "after the visit date of a lactating woman")
			} else if civil(m.Date) > civil(end) {
				bad("plw_status", fmt.Sprintf("lactating status not valid more than %d months after delivery", rs.LactationMonths))
			}
		}
	} else if m.PLWStatus != "" {
		bad("plw_status", "only for subject plw")
	}
	if m.WeightKg == nil && m.LengthCm == nil && m.HeadCircCm == nil && m.MUACmm == nil && m.TricepsMm == nil && m.SubscapularMm == nil &&
		(m.Oedema == "" || m.Oedema == OedemaNotAssessed) && len(m.InfantCriteria) == 0 {
		bad("measurement", "nothing measured: give weight, length/height, head circumference, MUAC, an oedema finding or an infant criterion")
	}
	return errors.Join(errs...)
}

// boundsFor returns the hard bounds for weight, length, MUAC and head
// circumference; nil where §6 sets none.
func boundsFor(rs *RuleSet, plw bool) (w, l, mu, hc *Bounds) {
	d := &rs.DataQuality
	if plw {
		return &d.PLWWeightKg, nil, &d.PLWMUACmm, nil
	}
	return &d.ChildWeightKg, &d.ChildLengthCm, &d.ChildMUACmm, &d.ChildHeadCm
}

// civil returns the day number of t's calendar date in its own location.
func civil(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// dateOnly returns t's calendar date at midnight UTC.
func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// normalBirth applies the approximate-date rule of §1: day 15 when only the
// month is known, 1 July when only the year is.
func normalBirth(b time.Time, precision string) time.Time {
	if b.IsZero() {
		return b
	}
	y, m, _ := b.Date()
	switch precision {
	case PrecisionMonth:
		return time.Date(y, m, 15, 0, 0, 0, 0, time.UTC)
	case PrecisionYear:
		return time.Date(y, time.July, 1, 0, 0, 0, 0, time.UTC)
	}
	return dateOnly(b)
}

// earliestBirth returns the first day the birth date can be, given its
// precision.
func earliestBirth(b time.Time, precision string) time.Time {
	if b.IsZero() {
		return b
	}
	y, m, _ := b.Date()
	switch precision {
	case PrecisionMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case PrecisionYear:
		return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	return dateOnly(b)
}
