package growth

import (
	"errors"
	"math"
	"strconv"
)

// Sex is a child's sex as the WHO references distinguish it. The zero value,
// SexUnknown, gives NA for every z-score, as a missing sex does in anthro.
type Sex uint8

// Sex values. Male and Female are coded 1 and 2, as in anthro.
const (
	SexUnknown Sex = iota
	Male
	Female
)

// Position is how length/height was measured. The zero value,
// PositionUnknown, is anthro's NA measure.
type Position uint8

// Position values.
const (
	PositionUnknown Position = iota
	Lying                    // recumbent length, anthro "l"
	Standing                 // standing height, anthro "h"
)

// AgeUnit says whether and how Measurement.Age is given. The zero value,
// AgeUnknown, means the age is not known.
type AgeUnit uint8

// AgeUnit values.
const (
	AgeUnknown AgeUnit = iota
	Days               // Age is in days (anthro's default)
	Months             // Age is in months (anthro's is_age_in_month, anthroplus's age_in_months)
)

// DaysPerMonth is anthro's ANTHRO_DAYS_OF_MONTH, used to convert between age
// in days and age in months.
const DaysPerMonth = 30.4375

// Missing returns NaN, the value that marks a measurement as not taken.
func Missing() float64 { return math.NaN() }

// Present reports whether x holds a value: it is neither NaN (Missing) nor
// ±Inf.
func Present(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// A Measurement is one child seen once: everything anthro_zscores and
// anthroplus_zscores take as input for one row.
//
// A measurement that was not taken must be Missing (NaN). The zero value of a
// float64 field means "measured 0", which anthro scores (weight-for-length of
// weight 0 is about -14.5), so start from NewMeasurement, never from
// Measurement{}. Negative and zero measurements are accepted and scored as
// anthro scores them (mostly NA); ±Inf is an input error.
type Measurement struct {
	Sex      Sex
	Age      float64 // in AgeUnit; fractional allowed; ignored when AgeUnit is AgeUnknown
	AgeUnit  AgeUnit
	Position Position // for LenHei
	Oedema   bool     // bilateral pitting oedema present (anthro "y"); false for absent or unknown
	Weight   float64  // kg
	LenHei   float64  // length or height as measured, cm
	HeadC    float64  // head circumference, cm
	ArmC     float64  // mid-upper arm circumference (MUAC), cm (mm / 10)
	TriSkin  float64  // triceps skinfold, mm
	SubSkin  float64  // subscapular skinfold, mm
}

// NewMeasurement returns a Measurement with unknown sex, age and position, no
// oedema and every measurement Missing.
func NewMeasurement() Measurement {
	nan := math.NaN()
	return Measurement{Weight: nan, LenHei: nan, HeadC: nan, ArmC: nan, TriSkin: nan, SubSkin: nan}
}

// Indicator names one z-score. The first eight are anthro's (0 to under 60
// months), the last three anthroplus's (60 to 228 months).
type Indicator uint8

// Indicator values, in anthro's and then anthroplus's column order.
const (
	LenHeiForAge      Indicator = iota // zlen: length/height-for-age, 0-5 y
	WeightForAge                       // zwei: weight-for-age, 0-5 y
	WeightForLenHei                    // zwfl: weight-for-length/height, 0-5 y or age unknown
	BMIForAge                          // zbmi: BMI-for-age, 0-5 y
	HeadCForAge                        // zhc: head circumference-for-age, 0-5 y
	ArmCForAge                         // zac: MUAC-for-age, 3 months-5 y
	TricepsForAge                      // zts: triceps skinfold-for-age, 3 months-5 y
	SubscapularForAge                  // zss: subscapular skinfold-for-age, 3 months-5 y
	HeightForAge5to19                  // zhfa: height-for-age, 60-228 months
	WeightForAge5to10                  // zwfa: weight-for-age, 60-120 months
	BMIForAge5to19                     // zbfa: BMI-for-age, 60-228 months
	NumIndicators                      // number of indicators, not an indicator
)

var indicatorNames = [NumIndicators]string{
	"zlen", "zwei", "zwfl", "zbmi", "zhc", "zac", "zts", "zss", "zhfa", "zwfa", "zbfa",
}

// String returns the indicator's column name in anthro or anthroplus output
// ("zlen", "zwei", ..., "zbfa"); its flag column is "f" followed by
// String()[1:]. It returns "Indicator(n)" for a value out of range.
func (i Indicator) String() string {
	if i < NumIndicators {
		return indicatorNames[i]
	}
	return "Indicator(" + strconv.Itoa(int(i)) + ")"
}

// A Score is one z-score as anthro or anthroplus returns it.
//
// OK false means NA: the z-score does not apply (age, missing measurement,
// oedema, out of the table's range) or is not finite. Z and Unrounded are
// then 0, except when NonFinite is set.
type Score struct {
	Z         float64 // z rounded to 2 decimals as R's round(z, 2) does; finite when OK
	Unrounded float64 // z before rounding
	Flag      bool    // implausible value: rounded Z beyond the indicator's limits
	OK        bool    // a finite z-score was computed

	// NonFinite reports that anthro would return NaN (Flag false) or ±Inf
	// (Flag true) here, for a measurement of 0 or below; Unrounded holds that
	// value and OK is false, because our outputs never carry NaN or Inf.
	NonFinite bool
}

// A Result is everything computed for one Measurement.
type Result struct {
	// CLenHei is the length/height anthro uses (clenhei): LenHei after the
	// ±0.7 cm correction for position. Missing if LenHei is.
	CLenHei float64
	// CBMI is anthro's cbmi, Weight / (CLenHei/100)², which is +Inf for a
	// length of 0. Missing if Weight or LenHei is.
	CBMI float64
	// BMI is anthroplus's cbmi, computed from LenHei as measured (anthroplus
	// knows no position); it differs from CBMI only when Position is Lying
	// at 731 days or more.
	BMI float64
	// CMeasure is the position after the 9-month check (anthro cmeasure).
	CMeasure Position
	// C9moFlag is set when a standing height was given under 9 months of
	// age (anthro c9mo_flag); CMeasure is then PositionUnknown.
	C9moFlag bool
	// Scores holds one Score per Indicator, indexed by Indicator.
	Scores [NumIndicators]Score
}

// ErrInvalidInput is matched (errors.Is) by every error this package returns
// for bad input.
var ErrInvalidInput = errors.New("invalid input")

// An InputError reports one field of a Measurement that cannot be scored. It
// matches ErrInvalidInput.
type InputError struct {
	Field  string // Measurement field name, e.g. "Age"
	Reason string // why, without the value
}

// Error returns "growth: Field: Reason".
func (e *InputError) Error() string { return "growth: " + e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalidInput.
func (e *InputError) Unwrap() error { return ErrInvalidInput }
