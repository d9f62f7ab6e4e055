package nutrition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"contigo/growth"
	"contigo/records"
)

// The JSON form of a RuleSet is growth's rules document (name, version,
// country, child, infant_u6m, plw) with these additions (see
// docs/nutrition.md and testdata/who-2023.json):
//
//	"config_version": "2026-11-01", "description": "...",
//	"child": {..., "exit": {"ruleset": "who-2023", "severe": {"all_of": ["whz >= -2", "muac_mm >= 125"],
//	                                   "oedema_absent": true, "consecutive_visits": 2},
//	                        "moderate": {...}, "max_weeks": {"severe": 16, "moderate": 16}}},
//	"infant_u6m": {..., "exit": {"consecutive_visits": 2}},
//	"plw": {"muac": {...}, "lactation_months": 6, "exit": {"consecutive_visits": 2}},
//	"followup_days": {"otp": 7, "tsfp": 14, "mami": 14, "followup": 30, "inpatient": 0, ...},
//	"followup_visits": 3, "followup_risk_bands": ["co_risk_acute_malnutrition"],
//	"missed_visit_grace_days": 3, "default_after_missed_visits": 2, "relapse_months": 6,
//	"sphere_targets": {"cure_gt": 0.75, "default_lt": 0.15, "death_lt_sam": 0.10, "death_lt_mam": 0.03},
//	"indicators": {"exclude_transferred_internal": false},
//	"data_quality": {"hard_bounds": {"child": {"weight_kg": [0.9, 58], ...}, "plw": {...}},
//	                 "future_skew_days": 1, "plausibility": {...},
//	                 "heaping": {"share_gt": 0.4, "min_records": 50}},
//	"alerts": {"deterioration_muac_drop_mm": 5, "extra_band_alerts": {"co_risk_acute_malnutrition": "low"}}
//
// A file is merged over the default rule set before it is read: objects
// member by member, anything else (arrays included) replaced. So a country
// file lists only what differs from who-2023, and a complete file replaces
// everything.

type exitJSON struct {
	AllOf             []string `json:"all_of,omitempty"`
	OedemaAbsent      bool     `json:"oedema_absent,omitempty"`
	ConsecutiveVisits int      `json:"consecutive_visits"`
}

type childExitJSON struct {
	RuleSet  string   `json:"ruleset"`
	Severe   exitJSON `json:"severe"`
	Moderate exitJSON `json:"moderate"`
	MaxWeeks struct {
		Severe   int `json:"severe"`
		Moderate int `json:"moderate"`
	} `json:"max_weeks"`
}

type boundsJSON [2]float64

func (b boundsJSON) bounds() Bounds { return Bounds{b[0], b[1]} }

type dataQualityJSON struct {
	HardBounds struct {
		Child struct {
			WeightKg boundsJSON `json:"weight_kg"`
			LengthCm boundsJSON `json:"length_cm"`
			MUACmm   boundsJSON `json:"muac_mm"`
			HeadCm   boundsJSON `json:"head_circumference_cm"`
		} `json:"child"`
		PLW struct {
			MUACmm   boundsJSON `json:"muac_mm"`
			WeightKg boundsJSON `json:"weight_kg"`
		} `json:"plw"`
	} `json:"hard_bounds"`
	FutureSkewDays int `json:"future_skew_days"`
	Plausibility   struct {
		LengthDecreaseCm float64 `json:"length_decrease_cm"`
		WeightChangePct  float64 `json:"weight_change_pct"`
		WeightChangeDays int     `json:"weight_change_days"`
		MUACChangeMM     int     `json:"muac_change_mm"`
		MUACChangeDays   int     `json:"muac_change_days"`
	} `json:"plausibility"`
	Heaping struct {
		ShareGT    float64 `json:"share_gt"`
		MinRecords int     `json:"min_records"`
	} `json:"heaping"`
}

type sphereJSON struct {
	CureGT    float64 `json:"cure_gt"`
	DefaultLT float64 `json:"default_lt"`
	DeathSAM  float64 `json:"death_lt_sam"`
	DeathMAM  float64 `json:"death_lt_mam"`
}

type alertsJSON struct {
	DeteriorationMUACDropMM int               `json:"deterioration_muac_drop_mm"`
	ExtraBandAlerts         map[string]string `json:"extra_band_alerts"`
}

type indicatorsJSON struct {
	ExcludeTransferredInternal bool `json:"exclude_transferred_internal"`
}

// ParseRuleSet reads a rule set from JSON merged over DefaultRuleSet and
// validates it. Every error is a *ConfigError: records.ErrMalformed when the
// text is not JSON of the right shape (unknown fields included),
// records.ErrInvalid when a value breaks a rule.
func ParseRuleSet(data []byte) (*RuleSet, error) {
	var over any
	if err := strictDecode(data, &over); err != nil {
		return nil, err
	}
	if _, ok := over.(map[string]any); !ok {
		return nil, &ConfigError{Reason: "want a JSON object", Kind: records.ErrMalformed}
	}
	base, err := DefaultRuleSet().MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal default rule set: %w", err)
	}
	var doc any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("read default rule set: %w", err)
	}
	return fromMerged(merge(doc, over).(map[string]any))
}

// merge returns over merged into base: objects member by member, anything
// else replaced.
func merge(base, over any) any {
	bm, ok1 := base.(map[string]any)
	om, ok2 := over.(map[string]any)
	if !ok1 || !ok2 {
		return over
	}
	for k, v := range om {
		bm[k] = merge(bm[k], v)
	}
	return bm
}

// strictDecode decodes one JSON value and nothing after it.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError("", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &ConfigError{Reason: "data after the JSON value", Kind: records.ErrMalformed}
	}
	return nil
}

func decodeError(prefix string, err error) error {
	e := &ConfigError{Field: prefix, Kind: records.ErrMalformed}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		e.Reason = "not JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		e.Field = joinField(prefix, typ.Field)
		e.Reason = "JSON " + typ.Value + " where " + typ.Type.String() + " was expected"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Reason = "empty or truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		// encoding/json names the member, not its path: name the section.
		if prefix == "" {
			e.Field, e.Reason = name, "unknown field"
		} else {
			e.Reason = "unknown field " + strconv.Quote(name)
		}
	default:
		e.Reason = err.Error()
	}
	return e
}

func joinField(prefix, f string) string {
	switch {
	case prefix == "":
		return f
	case f == "":
		return prefix
	}
	return prefix + "." + f
}

// take removes key from m and decodes it into v (when present).
func take(m map[string]any, key, field string, v any) error {
	raw, ok := m[key]
	delete(m, key)
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return &ConfigError{Field: field, Reason: "cannot re-encode", Kind: records.ErrMalformed}
	}
	return strictDecode2(b, field, v)
}

func strictDecode2(b []byte, field string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(field, err)
	}
	return nil
}

// section returns m[key] as an object (nil if absent); an error if it is
// something else.
func section(m map[string]any, key string) (map[string]any, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	s, ok := v.(map[string]any)
	if !ok {
		return nil, &ConfigError{Field: key, Reason: "want a JSON object", Kind: records.ErrMalformed}
	}
	return s, nil
}

// fromMerged builds and validates a RuleSet from a complete merged document.
func fromMerged(doc map[string]any) (*RuleSet, error) {
	rs := &RuleSet{}
	var ext struct {
		childExit  childExitJSON
		infantExit exitJSON
		plwExit    exitJSON
		lactation  int
		followUp   map[string]int
		sphere     sphereJSON
		dq         dataQualityJSON
		alerts     alertsJSON
		ind        indicatorsJSON
	}
	for _, t := range []struct {
		key string
		v   any
	}{
		{"config_version", &rs.ConfigVersion}, {"description", &rs.Description},
		{"followup_days", &ext.followUp}, {"followup_visits", &rs.FollowUpVisits},
		{"followup_risk_bands", &rs.FollowUpRiskBands},
		{"missed_visit_grace_days", &rs.MissedVisitGraceDays},
		{"default_after_missed_visits", &rs.DefaultAfterMissedVisits}, {"relapse_months", &rs.RelapseMonths},
		{"sphere_targets", &ext.sphere}, {"data_quality", &ext.dq}, {"alerts", &ext.alerts},
		{"indicators", &ext.ind},
	} {
		if err := take(doc, t.key, t.key, t.v); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		sec, key string
		v        any
	}{
		{"child", "exit", &ext.childExit}, {"infant_u6m", "exit", &ext.infantExit},
		{"plw", "exit", &ext.plwExit}, {"plw", "lactation_months", &ext.lactation},
	} {
		m, err := section(doc, s.sec)
		if err != nil {
			return nil, err
		}
		if m != nil {
			if err := take(m, s.key, s.sec+"."+s.key, s.v); err != nil {
				return nil, err
			}
		}
	}
	rest, err := json.Marshal(doc)
	if err != nil {
		return nil, &ConfigError{Reason: "cannot re-encode", Kind: records.ErrMalformed}
	}
	cls, err := growth.ParseRules(rest)
	if err != nil {
		return nil, fromRulesError(err)
	}
	rs.Classification = cls
	rs.Name, rs.Version, rs.Country = cls.Name, cls.Version, cls.Country
	if rs.Exit.Severe, err = ext.childExit.Severe.criteria("child.exit.severe"); err != nil {
		return nil, err
	}
	if rs.Exit.Moderate, err = ext.childExit.Moderate.criteria("child.exit.moderate"); err != nil {
		return nil, err
	}
	if rs.Exit.Infant, err = ext.infantExit.criteria("infant_u6m.exit"); err != nil {
		return nil, err
	}
	if rs.Exit.PLW, err = ext.plwExit.criteria("plw.exit"); err != nil {
		return nil, err
	}
	rs.Exit.MaxWeeksSevere, rs.Exit.MaxWeeksModerate = ext.childExit.MaxWeeks.Severe, ext.childExit.MaxWeeks.Moderate
	rs.Exit.RuleSet = ext.childExit.RuleSet
	rs.LactationMonths = ext.lactation
	rs.FollowUpDays = ext.followUp
	rs.Sphere = SphereTargets{ext.sphere.CureGT, ext.sphere.DefaultLT, ext.sphere.DeathSAM, ext.sphere.DeathMAM}
	rs.ExcludeTransferredInternal = ext.ind.ExcludeTransferredInternal
	q := &ext.dq
	hb := &q.HardBounds
	rs.DataQuality = DataQuality{
		ChildWeightKg: hb.Child.WeightKg.bounds(), ChildLengthCm: hb.Child.LengthCm.bounds(),
		ChildMUACmm: hb.Child.MUACmm.bounds(), ChildHeadCm: hb.Child.HeadCm.bounds(),
		PLWMUACmm: hb.PLW.MUACmm.bounds(), PLWWeightKg: hb.PLW.WeightKg.bounds(),
		FutureSkewDays:   q.FutureSkewDays,
		LengthDecreaseCm: q.Plausibility.LengthDecreaseCm, WeightChangePct: q.Plausibility.WeightChangePct,
		WeightChangeDays: q.Plausibility.WeightChangeDays, MUACChangeMM: q.Plausibility.MUACChangeMM,
		MUACChangeDays: q.Plausibility.MUACChangeDays,
		HeapingShareGT: q.Heaping.ShareGT, HeapingMinRecords: q.Heaping.MinRecords,
	}
	if len(rs.FollowUpRiskBands) == 0 {
		rs.FollowUpRiskBands = nil
	}
	rs.Alerts = AlertOptions{DeteriorationMUACDropMM: ext.alerts.DeteriorationMUACDropMM, ExtraBandAlerts: ext.alerts.ExtraBandAlerts}
	if rs.Alerts.ExtraBandAlerts == nil {
		rs.Alerts.ExtraBandAlerts = map[string]string{}
	}
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	return rs, nil
}

// criteria parses "whz >= -2" style targets.
func (j exitJSON) criteria(field string) (ExitCriteria, error) {
	out := ExitCriteria{OedemaAbsent: j.OedemaAbsent, ConsecutiveVisits: j.ConsecutiveVisits}
	for i, s := range j.AllOf {
		f := field + ".all_of[" + strconv.Itoa(i) + "]"
		parts := strings.Fields(s)
		if len(parts) != 3 {
			return out, cfgInvalid(f, `want "indicator op value", e.g. "whz >= -2"`)
		}
		v, err := strconv.ParseFloat(parts[2], 64)
		if err != nil {
			return out, cfgInvalid(f, "value is not a number")
		}
		out.AllOf = append(out.AllOf, Threshold{Indicator: parts[0], Op: parts[1], Value: v})
	}
	return out, nil
}

func (c ExitCriteria) toJSON() exitJSON {
	out := exitJSON{OedemaAbsent: c.OedemaAbsent, ConsecutiveVisits: c.ConsecutiveVisits}
	for _, t := range c.AllOf {
		out.AllOf = append(out.AllOf, t.String())
	}
	return out
}

// UnmarshalJSON implements json.Unmarshaler with ParseRuleSet (merged over
// the default, validated).
func (rs *RuleSet) UnmarshalJSON(data []byte) error {
	out, err := ParseRuleSet(data)
	if err != nil {
		return err
	}
	*rs = *out
	return nil
}

// MarshalJSON implements json.Marshaler; ParseRuleSet reads the result back
// to an equal RuleSet.
func (rs *RuleSet) MarshalJSON() ([]byte, error) {
	cls, err := rs.Classification.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal classification rules: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(cls, &doc); err != nil {
		return nil, fmt.Errorf("read classification rules: %w", err)
	}
	put := func(m map[string]any, k string, v any) {
		b, _ := json.Marshal(v)
		var x any
		_ = json.Unmarshal(b, &x)
		m[k] = x
	}
	if rs.ConfigVersion != "" {
		doc["config_version"] = rs.ConfigVersion
	}
	if rs.Description != "" {
		doc["description"] = rs.Description
	}
	var ce childExitJSON
	ce.RuleSet = rs.Exit.RuleSet
	ce.Severe, ce.Moderate = rs.Exit.Severe.toJSON(), rs.Exit.Moderate.toJSON()
	ce.MaxWeeks.Severe, ce.MaxWeeks.Moderate = rs.Exit.MaxWeeksSevere, rs.Exit.MaxWeeksModerate
	put(doc["child"].(map[string]any), "exit", ce)
	put(doc["infant_u6m"].(map[string]any), "exit", rs.Exit.Infant.toJSON())
	plw := doc["plw"].(map[string]any)
	put(plw, "exit", rs.Exit.PLW.toJSON())
	plw["lactation_months"] = rs.LactationMonths
	put(doc, "followup_days", rs.FollowUpDays)
	doc["followup_visits"] = rs.FollowUpVisits
	put(doc, "followup_risk_bands", append([]string{}, rs.FollowUpRiskBands...))
	doc["missed_visit_grace_days"] = rs.MissedVisitGraceDays
	doc["default_after_missed_visits"] = rs.DefaultAfterMissedVisits
	doc["relapse_months"] = rs.RelapseMonths
	put(doc, "sphere_targets", sphereJSON{rs.Sphere.CureGT, rs.Sphere.DefaultLT, rs.Sphere.DeathLTSevere, rs.Sphere.DeathLTMod})
	put(doc, "indicators", indicatorsJSON{rs.ExcludeTransferredInternal})
	var dq dataQualityJSON
	d := &rs.DataQuality
	dq.HardBounds.Child.WeightKg, dq.HardBounds.Child.LengthCm = boundsJSON{d.ChildWeightKg.Min, d.ChildWeightKg.Max}, boundsJSON{d.ChildLengthCm.Min, d.ChildLengthCm.Max}
	dq.HardBounds.Child.MUACmm, dq.HardBounds.Child.HeadCm = boundsJSON{d.ChildMUACmm.Min, d.ChildMUACmm.Max}, boundsJSON{d.ChildHeadCm.Min, d.ChildHeadCm.Max}
	dq.HardBounds.PLW.MUACmm, dq.HardBounds.PLW.WeightKg = boundsJSON{d.PLWMUACmm.Min, d.PLWMUACmm.Max}, boundsJSON{d.PLWWeightKg.Min, d.PLWWeightKg.Max}
	dq.FutureSkewDays = d.FutureSkewDays
	dq.Plausibility.LengthDecreaseCm, dq.Plausibility.WeightChangePct = d.LengthDecreaseCm, d.WeightChangePct
	dq.Plausibility.WeightChangeDays, dq.Plausibility.MUACChangeMM, dq.Plausibility.MUACChangeDays = d.WeightChangeDays, d.MUACChangeMM, d.MUACChangeDays
	dq.Heaping.ShareGT, dq.Heaping.MinRecords = d.HeapingShareGT, d.HeapingMinRecords
	put(doc, "data_quality", dq)
	put(doc, "alerts", alertsJSON{rs.Alerts.DeteriorationMUACDropMM, rs.Alerts.ExtraBandAlerts})
	return marshalOrdered(doc)
}

// topOrder is the order of the top-level members in MarshalJSON's output.
var topOrder = []string{"name", "version", "country", "config_version", "description", "child", "infant_u6m",
	"plw", "followup_days", "followup_visits", "followup_risk_bands", "missed_visit_grace_days", "default_after_missed_visits", "relapse_months",
	"sphere_targets", "indicators", "data_quality", "alerts"}

// marshalOrdered writes doc's members in topOrder (nested objects sorted),
// without HTML escaping.
func marshalOrdered(doc map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	first := true
	for _, k := range topOrder {
		v, ok := doc[k]
		if !ok {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		if err := enc.Encode(k); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("marshal %s: %w", k, err)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
