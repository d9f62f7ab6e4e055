package growth

// Assess computes every z-score that applies to m, with flags, the corrected
// length/height and BMI. It does not allocate.
//
// Ages under 60 months (unrounded) follow anthro, 60 to 228 months anthroplus;
// with the age unknown only weight-for-length/height is scored. A z-score that
// does not apply has OK false. Assess returns an *InputError matching
// ErrInvalidInput, and a zero Result, if a code is out of range, the age is
// negative, NaN or infinite while AgeUnit is set, or a measurement is ±Inf.
func Assess(m *Measurement) (Result, error) {
	return Result{}, nil // TODO
}

// Z computes one indicator for m under the same rules as Assess, and returns
// the same errors.
func Z(ind Indicator, m *Measurement) (Score, error) {
	return Score{}, nil // TODO
}
