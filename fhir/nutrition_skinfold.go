package fhir

import "contigo/records/nutrition"

// NutritionSystem codes of the skinfold Observations (valueQuantity in mm,
// or cm converted to mm): the nutrition engine derives triceps and
// subscapular skinfold-for-age z-scores (Observations "tsfa-z", "ssfa-z")
// from them, 3 to 60 months, as WHO anthro does.
const (
	CodeTricepsSkinfold     = "triceps-skinfold"
	CodeSubscapularSkinfold = "subscapular-skinfold"
)

// skinfoldCode reports whether code is a skinfold code of NutritionSystem.
func skinfoldCode(code string) bool {
	return code == CodeTricepsSkinfold || code == CodeSubscapularSkinfold
}

// readSkinfold copies a skinfold Observation into m: handled reports that o
// is one, measured that it held a value.
func readSkinfold(m *nutrition.Measurement, o *obsIn) (handled, measured bool) {
	code := o.Code.has(NutritionSystem, CodeTricepsSkinfold, CodeSubscapularSkinfold)
	if code == "" {
		return false, false
	}
	if o.ValueQuantity == nil {
		return true, false
	}
	v, err := o.ValueQuantity.Value.Float64()
	if err != nil {
		return true, false
	}
	if o.ValueQuantity.Code == "cm" {
		v *= 10
	}
	if code == CodeTricepsSkinfold {
		m.TricepsMm = &v
	} else {
		m.SubscapularMm = &v
	}
	return true, true
}

func init() {
	validationPaths["triceps_skinfold_mm"] = "Observation.where(code.coding.code='" + CodeTricepsSkinfold + "').valueQuantity.value"
	validationPaths["subscapular_skinfold_mm"] = "Observation.where(code.coding.code='" + CodeSubscapularSkinfold + "').valueQuantity.value"
}
