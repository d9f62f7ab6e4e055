package growth

import "time"

// AgeDaysFromMonths converts an age in months to days as anthro does for
// is_age_in_month = TRUE: months × 30.4375 (not rounded).
func AgeDaysFromMonths(months float64) float64 { return months * DaysPerMonth }

// AgeMonthsFromDays converts an age in days to months as anthro and this
// package do: days / 30.4375 (not rounded).
func AgeMonthsFromDays(days float64) float64 { return days / DaysPerMonth }

// AgeDays returns the number of calendar days from birth to visit, both taken
// as dates in their own locations (the time of day is ignored). It returns an
// *InputError matching ErrInvalidInput if visit is before birth.
func AgeDays(birth, visit time.Time) (float64, error) {
	b := civilDays(birth)
	v := civilDays(visit)
	if v < b {
		return 0, &InputError{Field: "visit", Reason: "before birth"}
	}
	return float64(v - b), nil
}

// civilDays returns the day number of t's calendar date.
func civilDays(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// roundHalfUp is anthro's round_up: floor(x), plus 1 when the fraction is at
// least one half. x must be non-negative and below 2^62 (the conversion to
// int is then floor).
func roundHalfUp(x float64) int {
	f := int(x)
	if x-float64(f) >= 0.5 {
		f++
	}
	return f
}
