package survey

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"contigo/growth"
)

// Columns names the optional columns of a survey file. Empty names are not
// used.
type Columns struct {
	Cluster, Strata, Weight string           // design columns
	By                      [NumRoles]string // grouping columns, by role
}

// maxRowErrors bounds the row errors Read reports at once.
const maxRowErrors = 20

// Read parses a survey file: CSV, or TSV when its header line has a tab,
// with anthro's column names sex, age_days (or age_months), weight, lenhei,
// measure and oedema, the optional armc (MUAC, cm; only for Quality) and the
// columns cols names. Missing values
// are an empty field or NA; other columns are ignored. Codes are anthro's:
// sex 1/m/M or 2/f/F, measure l/L or h/H, oedema y/Y/1 (present) or
// n/N/2/NA (absent).
//
// It returns an error matching ErrInput listing every problem (up to 20 rows)
// for a file anthro would refuse: a missing column, an unknown code, a
// number that does not parse, a negative age or weight.
func Read(r io.Reader, cols Columns) (*Input, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read survey header: %w", err)
	}
	if strings.TrimSpace(head) == "" {
		return nil, inputError(1, "no header line")
	}
	cr := csv.NewReader(io.MultiReader(strings.NewReader(head), br))
	if strings.Contains(head, "\t") {
		cr.Comma, cr.LazyQuotes = '\t', true
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, inputError(1, "header: %v", err)
	}
	p, err := newParser(header, cols)
	if err != nil {
		return nil, err
	}
	in := &Input{Clustered: cols.Cluster != "", Stratified: cols.Strata != "", Weighted: cols.Weight != ""}
	for r := range NumRoles {
		in.By[r] = cols.By[r] != ""
	}
	var errs []error
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if pe, ok := errors.AsType[*csv.ParseError](err); ok {
				errs = append(errs, inputError(pe.Line, "malformed CSV: %v", pe.Err))
			} else {
				return nil, fmt.Errorf("read survey: %w", err)
			}
		} else {
			line, _ := cr.FieldPos(0)
			if c, err := p.child(rec, line); err != nil {
				errs = append(errs, err)
			} else {
				in.Children = append(in.Children, c)
			}
		}
		if len(errs) >= maxRowErrors {
			errs = append(errs, errors.New("(more errors not shown)"))
			break
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return in, nil
}

// Input columns a parser looks up.
const (
	cSex = iota
	cAgeDays
	cAgeMonths
	cWeight
	cLenHei
	cMeasure
	cOedema
	cCluster
	cStrata
	cSW
	cArmC
	cGroup0 // first of NumRoles grouping columns
)

// parser maps a header to column indexes.
type parser struct {
	header []string
	idx    [cGroup0 + int(NumRoles)]int
}

func newParser(header []string, cols Columns) (*parser, error) {
	header = slices.Clone(header) // the csv.Reader reuses its records
	p := &parser{header: header}
	names := [cGroup0 + int(NumRoles)]string{"sex", "age_days", "age_months", "weight", "lenhei", "measure", "oedema",
		cols.Cluster, cols.Strata, cols.Weight, "armc"}
	for r := range NumRoles {
		names[cGroup0+int(r)] = cols.By[r]
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	var missing []string
	for c, name := range names {
		p.idx[c] = -1
		if name == "" {
			continue
		}
		for i, h := range header {
			if strings.TrimSpace(h) == name {
				p.idx[c] = i
				break
			}
		}
		if p.idx[c] < 0 && c != cAgeDays && c != cAgeMonths && c != cArmC {
			missing = append(missing, name)
		}
	}
	if p.idx[cAgeDays] < 0 && p.idx[cAgeMonths] < 0 {
		missing = append(missing, "age_days (or age_months)")
	}
	if len(missing) > 0 {
		return nil, inputError(1, "missing column(s): %s", strings.Join(missing, ", "))
	}
	return p, nil
}

// field returns column c's trimmed text, "" when absent or NA.
func (p *parser) field(rec []string, c int) string {
	i := p.idx[c]
	if i < 0 || i >= len(rec) {
		return ""
	}
	s := strings.TrimSpace(rec[i])
	if s == "NA" {
		return ""
	}
	return s
}

// child parses one record; the error names every bad field.
func (p *parser) child(rec []string, line int) (Child, error) {
	c := Child{M: growth.NewMeasurement(), Weight: math.NaN(), Line: line}
	var bad []string
	fail := func(col int, why string) { bad = append(bad, "column "+p.header[p.idx[col]]+": "+why) }
	if len(rec) != len(p.header) {
		return c, inputError(line, "has %d fields, the header has %d", len(rec), len(p.header))
	}
	switch s := p.field(rec, cSex); s {
	case "":
	case "1", "m", "M":
		c.M.Sex = growth.Male
	case "2", "f", "F":
		c.M.Sex = growth.Female
	default:
		fail(cSex, "unknown sex "+strconv.Quote(s)+" (want 1, 2, m, f)")
	}
	for _, a := range [...]struct {
		col  int
		unit growth.AgeUnit
	}{{cAgeDays, growth.Days}, {cAgeMonths, growth.Months}} {
		s := p.field(rec, a.col)
		if s == "" {
			continue
		}
		v, ok := number(s)
		switch {
		case !ok:
			fail(a.col, "not a number")
		case v < 0:
			fail(a.col, "negative age")
		default:
			c.M.Age, c.M.AgeUnit = v, a.unit
		}
		break
	}
	for _, f := range [...]struct {
		col int
		dst *float64
	}{{cWeight, &c.M.Weight}, {cLenHei, &c.M.LenHei}, {cArmC, &c.M.ArmC}, {cSW, &c.Weight}} {
		if s := p.field(rec, f.col); s != "" {
			v, ok := number(s)
			switch {
			case !ok:
				fail(f.col, "not a number")
			case f.col == cSW && v < 0:
				fail(f.col, "negative sampling weight")
			default:
				*f.dst = v
			}
		}
	}
	switch s := p.field(rec, cMeasure); s {
	case "":
	case "l", "L":
		c.M.Position = growth.Lying
	case "h", "H":
		c.M.Position = growth.Standing
	default:
		fail(cMeasure, "unknown measure "+strconv.Quote(s)+" (want l or h)")
	}
	switch s := p.field(rec, cOedema); s {
	case "", "n", "N", "2":
	case "y", "Y", "1":
		c.M.Oedema = true
	default:
		fail(cOedema, "unknown oedema "+strconv.Quote(s)+" (want y or n)")
	}
	c.Cluster = p.field(rec, cCluster)
	c.Strata = p.field(rec, cStrata)
	for r := range NumRoles {
		c.Groups[r] = p.field(rec, cGroup0+int(r))
	}
	if len(bad) > 0 {
		return c, inputError(line, "%s", strings.Join(bad, "; "))
	}
	return c, nil
}

// number parses a finite decimal number.
func number(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}
