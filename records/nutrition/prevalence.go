package nutrition

import (
	"slices"
	"time"

	"contigo/growth"
	"contigo/growth/survey"
)

// PrevalenceInput builds the input of WHO's prevalence tables
// (survey.Compute, anthro_prevalence) from the records: each child counted
// once, by its latest child assessment (not a woman's) dated in [from, to),
// restricted to one admin area when adminArea is not "". The z-scores are
// the stored ones, with their implausibility flags; age is the assessment's
// age in days (children over 1826 days are then left out as anthro leaves
// them out). The admin area is the "Geographical region" grouping and the
// population group the "Other grouping". There is no survey design: the
// records are a census of the children seen, so the simple method applies.
func PrevalenceInput(states []State, from, to time.Time, adminArea string) *survey.Input {
	lo, hi := dateOnly(from), dateOnly(to)
	in := &survey.Input{}
	in.By[survey.GRegion], in.By[survey.OtherGr] = true, true
	for si := range states {
		var last *Assessment
		for ai := range states[si].Assessments {
			a := &states[si].Assessments[ai]
			if a.PLWStatus != "" || a.Date.Before(lo) || !a.Date.Before(hi) {
				continue
			}
			if last == nil || !a.Date.Before(last.Date) {
				last = a // date order: the later one of a day wins
			}
		}
		if last == nil || adminArea != "" && last.AdminArea != adminArea {
			continue
		}
		in.Children = append(in.Children, prevalenceChild(last))
	}
	return in
}

// prevalenceChild is one survey row from an assessment.
func prevalenceChild(a *Assessment) survey.Child {
	c := survey.Child{M: growth.NewMeasurement()}
	switch a.Sex {
	case SexMale:
		c.M.Sex = growth.Male
	case SexFemale:
		c.M.Sex = growth.Female
	}
	if a.HasAge {
		c.M.Age, c.M.AgeUnit = float64(a.AgeDays), growth.Days
	}
	c.M.Oedema = oedemaPresent(a.Oedema)
	// The measurements only serve the quality report's digit preference:
	// the tables use the stored z-scores below.
	for _, f := range []struct {
		dst *float64
		v   *float64
	}{{&c.M.Weight, a.WeightKg}, {&c.M.LenHei, a.LengthCm}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if a.MUACmm != nil {
		c.M.ArmC = float64(*a.MUACmm) / 10
	}
	var sc [survey.NumIndex]growth.Score
	for _, z := range []struct {
		x    survey.Index
		v    *float64
		flag string
	}{{survey.HA, a.Z.HAZ, FlagHAZ}, {survey.WA, a.Z.WAZ, FlagWAZ}, {survey.BMI, a.Z.BAZ, FlagBAZ}, {survey.WH, a.Z.WHZ, FlagWHZ}} {
		if z.v != nil {
			sc[z.x] = growth.Score{Z: *z.v, Unrounded: *z.v, OK: true, Flag: slices.Contains(a.Flags, z.flag)}
		}
	}
	c.Scores = &sc
	c.Groups[survey.GRegion] = a.AdminArea
	c.Groups[survey.OtherGr] = a.PopulationGroup
	return c
}
