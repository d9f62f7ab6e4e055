package growth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// The JSON form of Rules (shared/docs/nutrition-rules.md §5), e.g.
//
//	{"name": "who-2023", "version": "1", "country": "CO",
//	 "child": {
//	   "wasting": [{"class": "nutritional_oedema", "indicator": "oedema"},
//	               {"class": "severe_wasting", "indicator": "whz", "op": "<", "value": -3},
//	               {"class": "moderate_wasting", "indicator": "muac_mm", "range": "[115,125)"}],
//	   "stunting":    {"moderate": {"indicator": "haz", "op": "<", "value": -2}, "severe": {...}},
//	   "underweight": {"moderate": {...}, "severe": {...}},
//	   "overweight":  {"possible_risk": {"indicator": "whz_else_baz", "op": ">", "value": 1},
//	                   "overweight": {...}, "obesity": {...}},
//	   "extra_bands": [{"class": "co_risk_acute_malnutrition", "indicator": "whz", "range": "[-2,-1)"}]},
//	 "infant_u6m": {
//	   "at_risk": [{"indicator": "muac_mm", "op": "<", "value": 110, "min_age_days": 42}, ...],
//	   "high_risk_anthropometry": [{"indicator": "oedema"}, ...],
//	   "not_at_risk_requires_any": ["waz", "whz"]},
//	 "plw": {"muac": {"op": "<", "value_mm": 230}}}
//
// A document is complete: every section must be present (start from
// testdata/classify-rules-co.json or DefaultRules marshalled). A criterion has
// "op" and "value" (op one of <, <=, >, >=) or a "range" written "[a,b)",
// "(a,b]", "[a,b]" or "(a,b)"; "oedema" takes neither.

type rulesJSON struct {
	Name    string     `json:"name"`
	Version string     `json:"version"`
	Country string     `json:"country,omitempty"`
	Child   childJSON  `json:"child"`
	Infant  infantJSON `json:"infant_u6m"`
	PLW     plwJSON    `json:"plw"`
}

type childJSON struct {
	Wasting     []condJSON `json:"wasting"`
	Stunting    sevJSON    `json:"stunting"`
	Underweight sevJSON    `json:"underweight"`
	Overweight  weightJSON `json:"overweight"`
	ExtraBands  []condJSON `json:"extra_bands,omitempty"`
}

type sevJSON struct {
	Moderate condJSON `json:"moderate"`
	Severe   condJSON `json:"severe"`
}

type weightJSON struct {
	PossibleRisk condJSON `json:"possible_risk"`
	Overweight   condJSON `json:"overweight"`
	Obesity      condJSON `json:"obesity"`
}

type infantJSON struct {
	AtRisk               []condJSON `json:"at_risk"`
	HighRisk             []condJSON `json:"high_risk_anthropometry"`
	NotAtRiskRequiresAny []string   `json:"not_at_risk_requires_any"`
}

type plwJSON struct {
	MUAC struct {
		Op      string   `json:"op"`
		ValueMM *float64 `json:"value_mm"`
	} `json:"muac"`
}

type condJSON struct {
	Class      string   `json:"class,omitempty"`
	Indicator  string   `json:"indicator"`
	Op         string   `json:"op,omitempty"`
	Value      *float64 `json:"value,omitempty"`
	Range      string   `json:"range,omitempty"`
	MinAgeDays int      `json:"min_age_days,omitempty"`
}

// ParseRules parses a rule set from JSON and validates it. Every error is a
// *RulesError: ErrRulesMalformed when the text is not JSON of the right shape
// (unknown fields included), ErrRulesInvalid when a value breaks a rule.
func ParseRules(data []byte) (Rules, error) {
	var r Rules
	if err := r.UnmarshalJSON(data); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// UnmarshalJSON implements json.Unmarshaler with the checks of ParseRules.
func (r *Rules) UnmarshalJSON(data []byte) error {
	var doc rulesJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &RulesError{Reason: "data after the JSON object", Kind: ErrRulesMalformed}
	}
	out, err := doc.rules()
	if err != nil {
		return err
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*r = out
	return nil
}

// MarshalJSON implements json.Marshaler; ParseRules reads the result back.
func (r Rules) MarshalJSON() ([]byte, error) {
	doc := rulesJSON{Name: r.Name, Version: r.Version, Country: r.Country}
	for _, w := range r.Child.Wasting {
		c := condToJSON(w.Cond)
		c.Class = w.Class.String()
		doc.Child.Wasting = append(doc.Child.Wasting, c)
	}
	doc.Child.Stunting = sevJSON{condToJSON(r.Child.Stunting.Moderate), condToJSON(r.Child.Stunting.Severe)}
	doc.Child.Underweight = sevJSON{condToJSON(r.Child.Underweight.Moderate), condToJSON(r.Child.Underweight.Severe)}
	doc.Child.Overweight = weightJSON{condToJSON(r.Child.Overweight.PossibleRisk),
		condToJSON(r.Child.Overweight.Overweight), condToJSON(r.Child.Overweight.Obesity)}
	for _, b := range r.Child.ExtraBands {
		c := condToJSON(b.Cond)
		c.Class = b.Name
		doc.Child.ExtraBands = append(doc.Child.ExtraBands, c)
	}
	doc.Infant.AtRisk = condsToJSON(r.Infant.AtRisk)
	doc.Infant.HighRisk = condsToJSON(r.Infant.HighRisk)
	doc.Infant.NotAtRiskRequiresAny = []string{}
	for _, c := range r.Infant.NotAtRiskRequiresAny {
		doc.Infant.NotAtRiskRequiresAny = append(doc.Infant.NotAtRiskRequiresAny, c.String())
	}
	doc.PLW.MUAC.Op = r.PLW.MUAC.Op.String()
	v := r.PLW.MUAC.Value
	doc.PLW.MUAC.ValueMM = &v
	return json.Marshal(doc)
}

func condsToJSON(cs []Cond) []condJSON {
	out := []condJSON{}
	for _, c := range cs {
		out = append(out, condToJSON(c))
	}
	return out
}

func condToJSON(c Cond) condJSON {
	out := condJSON{Indicator: c.Crit.String(), MinAgeDays: c.MinAgeDays}
	switch c.Op {
	case CmpNone:
	case CmpIn:
		out.Range = c.rangeText()
	default:
		v := c.Value
		out.Op, out.Value = c.Op.String(), &v
	}
	return out
}

// decodeError turns an encoding/json error into a *RulesError.
func decodeError(err error) error {
	e := &RulesError{Kind: ErrRulesMalformed}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		e.Reason = "not JSON at byte " + strconv.FormatInt(syn.Offset, 10) + ": " + syn.Error()
	case errors.As(err, &typ):
		e.Field = typ.Field
		e.Reason = "JSON " + typ.Value + " where " + typ.Type.String() + " was expected"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Reason = "empty or truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		e.Field, e.Reason = name, "unknown field"
	default:
		e.Reason = err.Error()
	}
	return e
}

// rules converts the JSON form, reporting the first field it cannot read.
func (d *rulesJSON) rules() (Rules, error) {
	r := Rules{Name: d.Name, Version: d.Version, Country: d.Country}
	if len(d.Child.Wasting) == 0 {
		return r, invalid("child.wasting", "missing: at least one row is needed")
	}
	for i, w := range d.Child.Wasting {
		f := "child.wasting[" + strconv.Itoa(i) + "]"
		cls := enumParse(wastingNames[:], w.Class)
		if cls < int(WastingModerate) {
			return r, invalid(f+".class", "must be moderate_wasting, severe_wasting or nutritional_oedema")
		}
		c, err := w.cond(f, true)
		if err != nil {
			return r, err
		}
		r.Child.Wasting = append(r.Child.Wasting, WastingRule{Class: WastingClass(cls), Cond: c})
	}
	singles := []struct {
		field string
		src   *condJSON
		dst   *Cond
	}{
		{"child.stunting.moderate", &d.Child.Stunting.Moderate, &r.Child.Stunting.Moderate},
		{"child.stunting.severe", &d.Child.Stunting.Severe, &r.Child.Stunting.Severe},
		{"child.underweight.moderate", &d.Child.Underweight.Moderate, &r.Child.Underweight.Moderate},
		{"child.underweight.severe", &d.Child.Underweight.Severe, &r.Child.Underweight.Severe},
		{"child.overweight.possible_risk", &d.Child.Overweight.PossibleRisk, &r.Child.Overweight.PossibleRisk},
		{"child.overweight.overweight", &d.Child.Overweight.Overweight, &r.Child.Overweight.Overweight},
		{"child.overweight.obesity", &d.Child.Overweight.Obesity, &r.Child.Overweight.Obesity},
	}
	for _, s := range singles {
		c, err := s.src.cond(s.field, false)
		if err != nil {
			return r, err
		}
		*s.dst = c
	}
	for i, b := range d.Child.ExtraBands {
		f := "child.extra_bands[" + strconv.Itoa(i) + "]"
		if !isSnakeName(b.Class) {
			return r, invalid(f+".class", "must be a snake_case name")
		}
		c, err := b.cond(f, true)
		if err != nil {
			return r, err
		}
		r.Child.ExtraBands = append(r.Child.ExtraBands, Band{Name: b.Class, Cond: c})
	}
	var err error
	if r.Infant.AtRisk, err = condList(d.Infant.AtRisk, "infant_u6m.at_risk"); err != nil {
		return r, err
	}
	if r.Infant.HighRisk, err = condList(d.Infant.HighRisk, "infant_u6m.high_risk_anthropometry"); err != nil {
		return r, err
	}
	for i, s := range d.Infant.NotAtRiskRequiresAny {
		c := enumParse(critNames[:], s)
		if c <= int(critInvalid) {
			return r, invalid("infant_u6m.not_at_risk_requires_any["+strconv.Itoa(i)+"]", "unknown indicator")
		}
		r.Infant.NotAtRiskRequiresAny = append(r.Infant.NotAtRiskRequiresAny, Criterion(c))
	}
	op := enumParse(cmpNames[:], d.PLW.MUAC.Op)
	if op < int(CmpLT) || op > int(CmpGE) {
		return r, invalid("plw.muac.op", "missing or not one of <, <=, >, >=")
	}
	if d.PLW.MUAC.ValueMM == nil {
		return r, invalid("plw.muac.value_mm", "missing")
	}
	r.PLW.MUAC = Cond{Crit: CritMUAC, Op: CmpOp(op), Value: *d.PLW.MUAC.ValueMM}
	return r, nil
}

func condList(src []condJSON, field string) ([]Cond, error) {
	if len(src) == 0 {
		return nil, invalid(field, "missing: at least one criterion is needed")
	}
	out := make([]Cond, 0, len(src))
	for i := range src {
		c, err := src[i].cond(field+"["+strconv.Itoa(i)+"]", false)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// cond converts one criterion; field is its JSON path. classOK says whether
// a "class" member belongs there.
func (j *condJSON) cond(field string, classOK bool) (Cond, error) {
	if !classOK && j.Class != "" {
		return Cond{}, invalid(field+".class", "not allowed here")
	}
	crit := enumParse(critNames[:], j.Indicator)
	if crit <= int(critInvalid) {
		return Cond{}, invalid(field+".indicator", "missing or unknown")
	}
	c := Cond{Crit: Criterion(crit), MinAgeDays: j.MinAgeDays}
	hasOp := j.Op != "" || j.Value != nil
	switch {
	case hasOp && j.Range != "":
		return c, invalid(field+".range", "give op and value, or range, not both")
	case c.Crit == CritOedema:
		if hasOp || j.Range != "" {
			return c, invalid(field+".op", "oedema takes no op, value or range")
		}
	case j.Range != "":
		if err := parseRange(j.Range, &c); err != nil {
			return c, invalid(field+".range", err.Error())
		}
	case j.Op == "":
		return c, invalid(field+".op", "missing: give op and value, or range")
	default:
		op := enumParse(cmpNames[:], j.Op)
		if op < int(CmpLT) || op > int(CmpGE) {
			return c, invalid(field+".op", "not one of <, <=, >, >=")
		}
		if j.Value == nil {
			return c, invalid(field+".value", "missing")
		}
		c.Op, c.Value = CmpOp(op), *j.Value
	}
	return c, nil
}

// parseRange reads "[a,b)", "(a,b]", "[a,b]" or "(a,b)" into c.
func parseRange(s string, c *Cond) error {
	s = strings.TrimSpace(s)
	if len(s) < 5 || (s[0] != '[' && s[0] != '(') || (s[len(s)-1] != ')' && s[len(s)-1] != ']') {
		return errors.New(`not a range like "[-3,-2)"`)
	}
	a, b, ok := strings.Cut(s[1:len(s)-1], ",")
	if !ok {
		return errors.New(`not a range like "[-3,-2)"`)
	}
	lo, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	hi, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err1 != nil || err2 != nil {
		return errors.New("bounds must be finite numbers")
	}
	c.Op, c.Lo, c.Hi = CmpIn, lo, hi
	c.LoOpen, c.HiClosed = s[0] == '(', s[len(s)-1] == ']'
	return nil
}
