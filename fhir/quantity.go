package fhir

import (
	"math"
	"strconv"
	"strings"

	"contigo/records"
)

// Quantity search (http://hl7.org/fhir/R4/search.html#quantity). A
// Quantity is kept under three Keys names, each holding the value as a
// sortable string (numberKey), so that records' string comparisons order
// numbers:
//
//	value-quantity                    every value, whatever its unit
//	value-quantity||<code or unit>    values with that code or unit, any system
//	value-quantity|<system>|<code>    values with that system and code
//
// A search value [prefix]number[|system|code] picks the name from its
// unit and becomes range conditions on it.

// numberWidth and numberDecimals fix the text of numberKey: 15 digits
// before the point, 9 after.
const (
	numberWidth    = 25
	numberDecimals = 9
	maxNumber      = 1e15
)

// numberKey returns the sortable text of f: "p" and the zero-padded digits
// for f >= 0, "n" and the nines' complement of |f|'s digits for f < 0 (so
// a larger |f| sorts first). ok is false for values out of range.
func numberKey(f float64) (string, bool) {
	if math.IsNaN(f) || math.Abs(f) >= maxNumber {
		return "", false
	}
	if f == 0 {
		f = 0 // -0
	}
	digits := strconv.FormatFloat(math.Abs(f), 'f', numberDecimals, 64)
	digits = strings.Repeat("0", max(0, numberWidth-len(digits))) + digits
	if f >= 0 {
		return "p" + digits, true
	}
	b := []byte(digits)
	for i, c := range b {
		if c >= '0' && c <= '9' {
			b[i] = '9' - (c - '0')
		}
	}
	return "n" + string(b), true
}

// quantityKeys adds the keys of a Quantity with value text v.
func (p *parser) quantityKeys(name, v string, system, code, unit *string) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return
	}
	k, ok := numberKey(f)
	if !ok {
		return
	}
	p.add(name, k)
	for _, u := range []*string{code, unit} {
		if u != nil && *u != "" {
			p.add(name+"||"+*u, k)
		}
	}
	if system != nil && code != nil && *code != "" {
		p.add(name+"|"+*system+"|"+*code, k)
	}
}

// quantityConds returns the conditions of one quantity search value.
// Prefixes: eq (the default, within the value's implied precision: 5.4
// is [5.35, 5.45)), ne is refused, gt/lt/ge/le compare exactly, sa and eb
// as gt and lt, ap within 10% of the value.
func quantityConds(name, key, v string) ([]records.Cond, error) {
	if strings.Contains(v, ",") {
		return nil, searchErr(name, "a quantity parameter takes one value; repeat the parameter to AND")
	}
	num, unit, hasUnit := cutEscaped(v, '|')
	prefix := "eq"
	if len(num) > 2 && num[0] >= 'a' && num[0] <= 'z' {
		prefix, num = num[:2], num[2:]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || strings.ContainsAny(num, "eEinfINFxX") {
		return nil, searchErr(name, "want [prefix]number[|system|code], e.g. lt-2|http://unitsofmeasure.org|1")
	}
	if hasUnit {
		sys, code, ok := cutEscaped(unit, '|')
		if !ok || unescape(code) == "" {
			return nil, searchErr(name, "want number|system|code or number||code")
		}
		if sys == "" {
			key += "||" + unescape(code)
		} else {
			key += "|" + unescape(sys) + "|" + unescape(code)
		}
	}
	half := 0.5
	if i := strings.IndexByte(num, '.'); i >= 0 {
		half = 0.5 * math.Pow(10, -float64(len(num)-i-1))
	}
	var conds []records.Cond
	bound := func(op records.Op, x float64) error {
		k, ok := numberKey(x)
		if !ok {
			return searchErr(name, "number out of range")
		}
		conds = append(conds, records.Cond{Key: key, Op: op, Values: []string{k}})
		return nil
	}
	switch prefix {
	case "eq":
		err = errorsJoin(bound(records.OpGe, f-half), bound(records.OpLt, f+half))
	case "gt", "sa":
		err = bound(records.OpGt, f)
	case "lt", "eb":
		err = bound(records.OpLt, f)
	case "ge":
		err = bound(records.OpGe, f)
	case "le":
		err = bound(records.OpLe, f)
	case "ap":
		d := math.Abs(f) * 0.1
		err = errorsJoin(bound(records.OpGe, f-d), bound(records.OpLe, f+d))
	default:
		return nil, searchErr(name, "prefix %q is not supported (supported: eq, gt, lt, ge, le, sa, eb, ap)", prefix)
	}
	if err != nil {
		return nil, err
	}
	return conds, nil
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
