package main

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"contigo/growth"
)

// Input columns the zscore command reads, by header name.
const (
	colSex = iota
	colAgeDays
	colAgeMonths
	colBirth
	colVisit
	colWeight
	colLenHei
	colMeasure
	colHeadC
	colArmC
	colTriSkin
	colSubSkin
	colOedema
	numInputCols
)

var inputColNames = [numInputCols]string{"sex", "age_days", "age_months", "birth_date", "visit_date",
	"weight", "lenhei", "measure", "headc", "armc", "triskin", "subskin", "oedema"}

// The output's result columns, in order: anthro's z-scores, their flags,
// anthroplus's z-scores, their flags, then the classes.
var (
	young   = []growth.Indicator{growth.LenHeiForAge, growth.WeightForAge, growth.WeightForLenHei, growth.BMIForAge, growth.HeadCForAge, growth.ArmCForAge, growth.TricepsForAge, growth.SubscapularForAge}
	older   = []growth.Indicator{growth.HeightForAge5to19, growth.WeightForAge5to10, growth.BMIForAge5to19}
	classes = []string{"age_band", "wasting", "wasting_anthro", "wasting_criteria", "infant_risk",
		"stunting", "underweight", "overweight", "extra_band"}
	numResultCols = 2*len(young) + 2*len(older) + len(classes)
)

// zscoreRow turns one input record into one output line, allocating
// nothing for a good row.
type zscoreRow struct {
	header []string
	col    [numInputCols]int // index in the record, or -1
	rules  *growth.Rules
}

// newZscoreRow maps the header's names to input columns. It returns an error
// naming a column given twice.
func newZscoreRow(header []string, rules *growth.Rules) (*zscoreRow, error) {
	p := &zscoreRow{header: append([]string(nil), header...), rules: rules}
	if len(p.header) > 0 {
		p.header[0] = strings.TrimPrefix(p.header[0], "\ufeff") // a byte-order mark from spreadsheets
	}
	for i := range p.col {
		p.col[i] = -1
	}
	for i, h := range p.header {
		for c, name := range inputColNames {
			if strings.EqualFold(strings.TrimSpace(h), name) {
				if p.col[c] >= 0 {
					return nil, errors.New("column " + h + ": given twice")
				}
				p.col[c] = i
			}
		}
	}
	return p, nil
}

// headerLine returns the output header line.
func (p *zscoreRow) headerLine() []byte {
	var b []byte
	for i, h := range p.header {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, h)
	}
	for _, f := range []string{"z", "f"} {
		for _, ind := range young {
			b = append(append(append(b, ','), f...), ind.String()[1:]...)
		}
	}
	for _, f := range []string{"z", "f"} {
		for _, ind := range older {
			b = append(append(append(b, ','), f...), ind.String()[1:]...)
		}
	}
	for _, c := range classes {
		b = append(append(b, ','), c...)
	}
	return append(b, '\n')
}

// field returns the trimmed text of input column c, or nothing when absent.
func (p *zscoreRow) field(rec *zRecord, c int) []byte {
	if i := p.col[c]; i >= 0 {
		return bytes.TrimSpace(rec.field(i))
	}
	return nil
}

// missing reports whether s means "not measured".
func missing(s []byte) bool { return len(s) == 0 || string(s) == "NA" }

// isLetter reports whether s is the lower-case ASCII letter c in either
// case, as strings.EqualFold(s, string(c)) does for the letters the codes
// use (no other rune folds to f, h, l, m, n or y).
func isLetter(s []byte, c byte) bool { return len(s) == 1 && s[0]|0x20 == c }

// appendLine appends the output line of rec to dst. On a bad row the line
// has rec's fields and empty results, and appendLine also returns the index
// of the offending column in rec (-1 if none), its name ("" for the row as
// a whole) and the reason.
func (p *zscoreRow) appendLine(dst []byte, rec *zRecord) (line []byte, col int, name, reason string) {
	if rec.nfields() != len(p.header) {
		return p.appendBad(dst, rec), -1, "", "has " + strconv.Itoa(rec.nfields()) + " fields, the header has " + strconv.Itoa(len(p.header))
	}
	m := growth.NewMeasurement()
	var in growth.ClassInput
	if c, why := p.parse(rec, &m, &in); why != "" {
		if p.col[c] >= 0 {
			return p.appendBad(dst, rec), p.col[c], p.header[p.col[c]], why
		}
		return p.appendBad(dst, rec), -1, inputColNames[c], why
	}
	res, err := growth.Assess(&m)
	if err != nil {
		// parse rejects everything Assess does; keep a message just in case.
		return p.appendBad(dst, rec), -1, "", err.Error()
	}
	in.WHZ, in.HasWHZ = score(&res, growth.WeightForLenHei)
	in.WAZ, in.HasWAZ = score(&res, growth.WeightForAge)
	in.HAZ, in.HasHAZ = score(&res, growth.LenHeiForAge)
	in.BAZ, in.HasBAZ = score(&res, growth.BMIForAge)
	cl := growth.Classify(in, p.rules)

	b := p.passThrough(dst, rec)
	for _, ind := range young {
		b = appendZ(append(b, ','), res.Scores[ind])
	}
	for _, ind := range young {
		b = appendFlag(append(b, ','), res.Scores[ind])
	}
	for _, ind := range older {
		b = appendZ(append(b, ','), res.Scores[ind])
	}
	for _, ind := range older {
		b = appendFlag(append(b, ','), res.Scores[ind])
	}
	b = append(append(b, ','), cl.AgeBand.String()...)
	b = appendClass(b, cl.Wasting != growth.WastingNA, cl.Wasting.String())
	b = appendClass(b, cl.AnthroWasting != growth.WastingNA, cl.AnthroWasting.String())
	b = cl.Criteria.Append(append(b, ','))
	b = appendClass(b, cl.Infant != growth.InfantNA, cl.Infant.String())
	b = appendClass(b, cl.Stunting != growth.SeverityNA, cl.Stunting.String())
	b = appendClass(b, cl.Underweight != growth.SeverityNA, cl.Underweight.String())
	b = appendClass(b, cl.Overweight != growth.WeightNA, cl.Overweight.String())
	b = appendClass(b, true, cl.ExtraBand)
	return append(b, '\n'), 0, "", ""
}

// parse reads rec's known columns into m and in. On a bad value it returns
// the column (one of the col constants) and the reason.
func (p *zscoreRow) parse(rec *zRecord, m *growth.Measurement, in *growth.ClassInput) (int, string) {
	switch s := p.field(rec, colSex); {
	case missing(s):
	case string(s) == "1" || isLetter(s, 'm'):
		m.Sex = growth.Male
	case string(s) == "2" || isLetter(s, 'f'):
		m.Sex = growth.Female
	default:
		return colSex, "unknown sex (want 1, 2, m or f)"
	}
	if c, why := p.parseAge(rec, m, in); why != "" {
		return c, why
	}
	for _, f := range [...]struct {
		c   int
		dst *float64
	}{
		{colWeight, &m.Weight}, {colLenHei, &m.LenHei}, {colHeadC, &m.HeadC},
		{colArmC, &m.ArmC}, {colTriSkin, &m.TriSkin}, {colSubSkin, &m.SubSkin},
	} {
		s := p.field(rec, f.c)
		if missing(s) {
			continue
		}
		v, ok := parseNumber(s)
		if !ok {
			return f.c, "not a number"
		}
		*f.dst = v
	}
	switch s := p.field(rec, colMeasure); {
	case missing(s):
	case isLetter(s, 'l'):
		m.Position = growth.Lying
	case isLetter(s, 'h'):
		m.Position = growth.Standing
	default:
		return colMeasure, "unknown measure (want l, h or empty)"
	}
	switch s := p.field(rec, colOedema); {
	case missing(s):
		in.Oedema = growth.OedemaUnknown
	case isLetter(s, 'y') || string(s) == "1":
		in.Oedema = growth.OedemaPresent
	case isLetter(s, 'n') || string(s) == "2":
		in.Oedema = growth.OedemaAbsent
	case string(s) == "+":
		in.Oedema = growth.OedemaGrade1
	case string(s) == "++":
		in.Oedema = growth.OedemaGrade2
	case string(s) == "+++":
		in.Oedema = growth.OedemaGrade3
	default:
		return colOedema, "unknown oedema (want y, n, +, ++, +++ or empty)"
	}
	m.Oedema = in.Oedema.Present()
	if growth.Present(m.ArmC) {
		// MUAC in whole mm; the inner rounding removes binary noise such as
		// 11.45*10 = 114.49999999999999.
		in.MUACmm, in.HasMUAC = math.Round(math.Round(m.ArmC*1e7)/1e6), true
	}
	return 0, ""
}

// parseAge reads age_days, else age_months, else birth_date and visit_date.
func (p *zscoreRow) parseAge(rec *zRecord, m *growth.Measurement, in *growth.ClassInput) (int, string) {
	if s := p.field(rec, colAgeDays); !missing(s) {
		v, ok := parseNumber(s)
		if !ok {
			return colAgeDays, "not a number"
		}
		if v < 0 {
			return colAgeDays, "negative age"
		}
		m.Age, m.AgeUnit = v, growth.Days
		in.AgeMonths, in.HasAge = growth.AgeMonthsFromDays(v), true
		return 0, ""
	}
	if s := p.field(rec, colAgeMonths); !missing(s) {
		v, ok := parseNumber(s)
		if !ok {
			return colAgeMonths, "not a number"
		}
		if v < 0 {
			return colAgeMonths, "negative age"
		}
		m.Age, m.AgeUnit = v, growth.Months
		in.AgeMonths, in.HasAge = v, true
		return 0, ""
	}
	bs, vs := p.field(rec, colBirth), p.field(rec, colVisit)
	switch {
	case missing(bs) && missing(vs):
		return 0, ""
	case missing(vs):
		return colVisit, "missing while birth_date is given"
	case missing(bs):
		return colBirth, "missing while visit_date is given"
	}
	birth, err := time.Parse(time.DateOnly, string(bs))
	if err != nil {
		return colBirth, "not a date YYYY-MM-DD"
	}
	visit, err := time.Parse(time.DateOnly, string(vs))
	if err != nil {
		return colVisit, "not a date YYYY-MM-DD"
	}
	days, err := growth.AgeDays(birth, visit)
	if err != nil {
		return colVisit, "before birth_date"
	}
	m.Age, m.AgeUnit = days, growth.Days
	in.AgeMonths, in.HasAge = growth.AgeMonthsFromDays(days), true
	return 0, ""
}

func score(r *growth.Result, ind growth.Indicator) (float64, bool) {
	s := r.Scores[ind]
	return s.Z, s.OK
}

// appendZ appends a z-score with 2 decimals, or nothing when it is NA.
func appendZ(b []byte, s growth.Score) []byte {
	if !s.OK {
		return b
	}
	// s.Z is the double nearest k/100 for an integer k, so k is exact and
	// printing it as hundredths gives strconv.AppendFloat(z, 'f', 2, 64)'s
	// bytes, at a fraction of the cost (the test against the reference
	// samples checks every value). Huge values keep the general path.
	z := s.Z
	if math.Abs(z) >= 1e12 {
		return strconv.AppendFloat(b, z, 'f', 2, 64)
	}
	k := int64(math.Round(z * 100))
	neg := k < 0 // k == 0 writes "0.00", never "-0.00"
	if neg {
		k = -k
	}
	// The digits, from the last: two decimals, the point, the integer part.
	var d [24]byte
	i := len(d) - 3
	d[i], d[i+1], d[i+2] = '.', byte('0'+k%100/10), byte('0'+k%10)
	for k /= 100; ; k /= 10 {
		i--
		d[i] = byte('0' + k%10)
		if k < 10 {
			break
		}
	}
	if neg {
		i--
		d[i] = '-'
	}
	return append(b, d[i:]...)
}

// appendFlag appends 1 or 0, or nothing where anthro's flag is NA. A z-score
// anthro gives as ±Inf has no value here but keeps its flag 1.
func appendFlag(b []byte, s growth.Score) []byte {
	switch {
	case s.Flag && (s.OK || s.NonFinite):
		return append(b, '1')
	case s.OK:
		return append(b, '0')
	}
	return b
}

func appendClass(b []byte, ok bool, name string) []byte {
	b = append(b, ',')
	if ok {
		b = append(b, name...)
	}
	return b
}

// passThrough appends the input fields of rec (nil for none), padded or cut
// to the header.
func (p *zscoreRow) passThrough(b []byte, rec *zRecord) []byte {
	n := 0
	if rec != nil {
		n = rec.nfields()
		if rec.verbatim && n == len(p.header) {
			return append(b, rec.buf...)
		}
	}
	for i := range p.header {
		if i > 0 {
			b = append(b, ',')
		}
		if i < n {
			b = appendCSVField(b, rec.field(i))
		}
	}
	return b
}

// appendBad appends the output line of a bad row: its input (nil for
// none), empty results.
func (p *zscoreRow) appendBad(dst []byte, rec *zRecord) []byte {
	b := p.passThrough(dst, rec)
	for range numResultCols {
		b = append(b, ',')
	}
	return append(b, '\n')
}
