package api

import (
	"math"

	"contigo/chart"
	"contigo/growth"
	"contigo/i18n"
)

// chartSpec builds the chart of indicator ind (wfa, lhfa, wflh, bfa, acfa)
// for rec, with texts from p. Weight-for-length is drawn for a child whose
// newest measurement is under 2 years (731 days), weight-for-height after.
func chartSpec(rec *childRecord, ind string, p *i18n.Printer) chart.Spec {
	spec := chart.Spec{Sex: rec.Sex, AgeInMonths: true}
	var title, yAxis string
	xAxis := p.T("chart.age_months")
	var gi growth.Indicator
	var y func(v *chartVisit) float64
	weight := func(v *chartVisit) float64 {
		if v.M.WeightKg == nil {
			return math.NaN()
		}
		return *v.M.WeightKg
	}
	switch ind {
	case "wfa":
		spec.Table, gi, title, yAxis, y = growth.ChartWeightForAge, growth.WeightForAge, "chart.wfa", "chart.weight_kg", weight
	case "lhfa":
		spec.Table, gi, title, yAxis = growth.ChartLenHeiForAge, growth.LenHeiForAge, "chart.lhfa", "chart.length_cm"
		y = func(v *chartVisit) float64 { return v.R.CLenHei }
	case "bfa":
		spec.Table, gi, title, yAxis = growth.ChartBMIForAge, growth.BMIForAge, "chart.bfa", "chart.bmi"
		y = func(v *chartVisit) float64 { return v.R.CBMI }
	case "acfa":
		spec.Table, gi, title, yAxis = growth.ChartArmCForAge, growth.ArmCForAge, "chart.acfa", "chart.muac_cm"
		y = func(v *chartVisit) float64 {
			if v.M.MUACmm == nil {
				return math.NaN()
			}
			return float64(*v.M.MUACmm) / 10
		}
	default: // wflh
		spec.Table, gi, title, yAxis, y = growth.ChartWeightForLength, growth.WeightForLenHei, "chart.wfl", "chart.weight_kg", weight
		xAxis = p.T("chart.length_cm")
		if n := len(rec.Visits); n > 0 && rec.Visits[n-1].AgeOK && rec.Visits[n-1].AgeDays >= 731 {
			spec.Table, title, xAxis = growth.ChartWeightForHeight, "chart.wfh", p.T("chart.height_cm")
		}
	}
	sex := p.T("chart.boys")
	if rec.Sex == growth.Female {
		sex = p.T("chart.girls")
	}
	spec.Labels = chart.Labels{
		Title: p.T("chart.title", p.T(title), sex), XAxis: xAxis, YAxis: p.T(yAxis),
		Median: p.T("chart.median"), SD: p.T("chart.sd"), Child: p.T("chart.child"), NoPoints: p.T("chart.no_points"),
		Country: func(code string) string { return countryName(p, code) },
	}
	var last *chartVisit
	for i := range rec.Visits {
		v := &rec.Visits[i]
		pt := chart.Point{Y: y(v), Date: v.M.Date, Country: string(v.Country)}
		if ind == "wflh" {
			pt.X = v.R.CLenHei
		} else if v.AgeOK {
			pt.X = v.AgeDays
		} else {
			continue
		}
		if !growth.Present(pt.X) || !growth.Present(pt.Y) {
			if ind == "wflh" && oedemaPresent(v.M.Oedema) {
				last = v
			}
			continue
		}
		sc := v.R.Scores[gi]
		pt.Z, pt.ZOK = sc.Z, sc.OK
		spec.Points = append(spec.Points, pt)
		last = v
	}
	if last != nil {
		spec.Labels.Classification = classification(last, ind, gi, p)
	}
	return spec
}

// countryName names a country in p's language, or gives its code.
func countryName(p *i18n.Printer, code string) string {
	if code == "" {
		return p.T("country.unknown")
	}
	if i18n.Has(p.Tag(), "country."+code) {
		return p.T("country." + code)
	}
	return code
}

// classification is the chart's "current" line for visit v: oedema first
// on weight-for-length/height, else the band of the indicator's z-score.
func classification(v *chartVisit, ind string, gi growth.Indicator, p *i18n.Printer) string {
	date, cc := v.M.Date.Format("2006-01-02"), countryName(p, string(v.Country))
	if ind == "wflh" && oedemaPresent(v.M.Oedema) {
		return p.T("chart.oedema", date, cc)
	}
	sc := v.R.Scores[gi]
	if !sc.OK {
		return ""
	}
	return p.T("chart.current", p.T(zClass(ind, sc.Z)), sc.Z, date, cc)
}

// zClass returns the catalogue key of the WHO band of z for indicator ind.
func zClass(ind string, z float64) string {
	type band struct {
		below float64
		key   string
	}
	var low []band
	var high []band
	switch ind {
	case "wfa":
		low = []band{{-3, "class.severe_underweight"}, {-2, "class.underweight"}}
	case "lhfa":
		low, high = []band{{-3, "class.severe_stunting"}, {-2, "class.stunting"}}, []band{{3, "class.tall"}}
	case "acfa":
		low = []band{{-3, "class.severe_low_muac"}, {-2, "class.low_muac"}}
	default: // wflh, bfa
		low, high = []band{{-3, "class.severe_wasting"}, {-2, "class.moderate_wasting"}}, []band{{3, "class.obesity"}, {2, "class.overweight"}}
	}
	for _, b := range low {
		if z < b.below {
			return b.key
		}
	}
	for _, b := range high {
		if z > b.below {
			return b.key
		}
	}
	return "class.normal"
}
