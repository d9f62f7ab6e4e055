// Package growth computes anthropometric z-scores and implausible-value flags
// for children by the LMS method, exactly as WHO's R packages do:
//
//   - 0 to under 60 months: the WHO Child Growth Standards (2006, 2007), as
//     computed by anthro 1.1.0 (anthro_zscores);
//   - 60 to 228 months: the WHO Reference 2007 for school-age children and
//     adolescents, as computed by anthroplus 1.0.0 (anthroplus_zscores).
//
// The LMS tables are embedded (see tables/README.md) and parsed once, at
// package initialisation, into flat arrays. Every rule these packages apply
// (age rounding half up, the 9-month standing rule, the ±0.7 cm length/height
// correction, table choice and interpolation for weight-for-length/height,
// restricted LMS beyond ±3 SD, R's round(z, 2), flags from the rounded z) is
// reproduced; ../shared/who/README.md is the specification, and the tests
// compare against WHO's own outputs in testdata.
//
// # Use
//
// Fill a Measurement, starting from NewMeasurement (every measurement
// missing, age unknown), and call Assess:
//
//	m := growth.NewMeasurement()
//	m.Sex = growth.Female
//	m.Age, m.AgeUnit = 400, growth.Days
//	m.Weight, m.LenHei, m.Position = 9.1, 74.5, growth.Lying
//	r, err := growth.Assess(&m)
//	if err != nil { ... } // err matches ErrInvalidInput
//	s := r.Scores[growth.WeightForAge]
//	if s.OK { fmt.Println(s.Z, s.Flag) }
//
// Missing measurements are NaN (Missing), never 0: the zero value of a
// Measurement means "measured 0 kg, 0 cm" and gives nonsense (as in anthro), so
// always start from NewMeasurement. The age is in days or in months, as
// AgeUnit says (AgeUnknown, the zero value, for no age); anthro and anthroplus
// convert with DaysPerMonth = 30.4375. Oedema is a bool: anthro treats an
// unknown oedema as absent.
//
// Z computes a single indicator with the same rules. Neither allocates;
// Assess computes all eleven z-scores of a child in well under a microsecond.
//
// # Exactness
//
// Rounded z-scores and flags equal anthro's and anthroplus's on every value
// of the reference samples in testdata. Unrounded z-scores agree to within a
// few units in the last place: R calls glibc's pow, which this package
// replaces with its own correctly rounded pow (pow.go); glibc's differs from
// it only when x^y lies within a tiny fraction of an ulp of a rounding
// midpoint (3 of 3,590 reference z-scores).
//
// # Deviations from the R packages
//
//   - The output never holds NaN or ±Inf: where anthro or anthroplus return
//     NaN (a negative weight for weight-for-length) or ±Inf (BMI-for-age of a
//     length of 0), the Score has OK false and NonFinite true; Unrounded keeps
//     the non-finite value and Flag is true for ±Inf, as R flags it.
//   - Inputs that make the R functions stop (negative age, unknown codes) are
//     returned as an *InputError matching ErrInvalidInput, per measurement.
//     anthroplus also stops on a negative height or weight; here the 5-19 y
//     z-scores that need it are NA instead.
//
// Package growth is pure: no I/O, no logging, no global state besides the
// read-only tables. It imports the standard library only and nothing of
// Contigo's (a test checks this). Nutrition classification lives in
// classify*.go.
package growth
