package nutrition

import (
	"math"
	"slices"
)

// Same reports whether a and b are the same assessment, field by field:
// floats bit for bit (-0 is not 0), times with their location, nil lists
// apart from empty ones (encoding/json writes null for one and [] for the
// other), so that two assessments are Same exactly when they encode to the
// same JSON. It is the cheap test of "this assessment did not change" on a
// visit, which compares every earlier assessment of the person
// (TestSameSeesEveryField checks that no field is left out).
func (a *Assessment) Same(b *Assessment) bool {
	return a.MeasurementID == b.MeasurementID && a.Date == b.Date && a.InputHash == b.InputHash &&
		a.RecordedAt == b.RecordedAt && a.Subject == b.Subject && a.Sex == b.Sex &&
		a.HasAge == b.HasAge && a.AgeDays == b.AgeDays && sameFloat(a.AgeMonths, b.AgeMonths) &&
		a.Approximate == b.Approximate && a.AgeBand == b.AgeBand &&
		sameFloatPtr(a.WeightKg, b.WeightKg) && sameFloatPtr(a.LengthCm, b.LengthCm) &&
		sameFloatPtr(a.AdjLengthCm, b.AdjLengthCm) && sameIntPtr(a.MUACmm, b.MUACmm) &&
		a.Oedema == b.Oedema && a.OedemaAssessed == b.OedemaAssessed &&
		a.PLWStatus == b.PLWStatus && a.DeliveryDate == b.DeliveryDate &&
		sameZ(&a.Z, &b.Z) &&
		a.Classification == b.Classification && a.Wasting == b.Wasting && a.AnthroWasting == b.AnthroWasting &&
		a.NutritionalOedema == b.NutritionalOedema && a.Infant == b.Infant && a.PLW == b.PLW &&
		a.Stunting == b.Stunting && a.Underweight == b.Underweight && a.Overweight == b.Overweight &&
		a.ExtraBand == b.ExtraBand && sameStrings(a.Criteria, b.Criteria) &&
		sameStrings(a.InfantCriteria, b.InfantCriteria) && sameStrings(a.Flags, b.Flags) &&
		a.Implausible == b.Implausible && a.Rule == b.Rule &&
		a.Site == b.Site && a.AdminArea == b.AdminArea && a.PopulationGroup == b.PopulationGroup &&
		a.Measurer == b.Measurer
}

func sameZ(a, b *ZScores) bool {
	return sameFloatPtr(a.WAZ, b.WAZ) && sameFloatPtr(a.HAZ, b.HAZ) && sameFloatPtr(a.WHZ, b.WHZ) &&
		sameFloatPtr(a.BAZ, b.BAZ) && sameFloatPtr(a.HCZ, b.HCZ) && sameFloatPtr(a.ACZ, b.ACZ) &&
		sameFloatPtr(a.TSZ, b.TSZ) && sameFloatPtr(a.SSZ, b.SSZ)
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func sameFloatPtr(a, b *float64) bool {
	return a == b || a != nil && b != nil && sameFloat(*a, *b)
}

func sameIntPtr(a, b *int) bool { return a == b || a != nil && b != nil && *a == *b }

// sameStrings tells nil from empty: encoding/json writes null for one and
// [] for the other (omitempty drops both).
func sameStrings(a, b []string) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }
