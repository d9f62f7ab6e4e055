package survey

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
)

// cutoffs are anthro's prevalence cut-offs, in column order: z < -3, -2, -1
// and z > 1, 2, 3.
var cutoffs = [...]struct {
	suffix string
	below  bool
	at     float64
}{{"_3", true, -3}, {"_2", true, -2}, {"_1", true, -1}, {"1", false, 1}, {"2", false, 2}, {"3", false, 3}}

// ColumnNames returns the 134 value columns of a table, in anthro's order (the
// output's "Group" column comes before them).
func ColumnNames() []string {
	var cols []string
	for x := range NumIndex {
		p := x.String()
		cols = append(cols, p+"Z_pop", p+"Z_unwpop")
		for _, c := range cutoffs {
			cols = append(cols, p+c.suffix+"_r", p+c.suffix+"_se", p+c.suffix+"_ll", p+c.suffix+"_ul")
		}
		cols = append(cols, p+"_r", p+"_se", p+"_ll", p+"_ul", p+"_stdev")
	}
	cols = append(cols, "HA_2_WH_2_pop", "HA_2_WH_2_unwpop")
	for _, s := range []string{"HA_2_WH_2", "HA_2_WH2"} {
		cols = append(cols, s+"_r", s+"_se", s+"_ll", s+"_ul")
	}
	return cols
}

// NumColumns is len(ColumnNames()).
const NumColumns = int(NumIndex)*(2+4*len(cutoffs)+5) + 2 + 8

// Method names how standard errors were computed.
type Method string

// Method values, as PREVALENCE.md §4.1 names them.
const (
	MethodSimple Method = "simple" // no design
	MethodHybrid Method = "hybrid" // sampling weights only
	MethodSurvey Method = "survey" // clusters and/or strata
)

// A Row is one group's estimates: Values[i] is ColumnNames()[i], NaN for NA.
type Row struct {
	Group  string
	Values []float64
}

// A Table is anthro_prevalence's output.
type Table struct {
	Method   Method
	N        int      // rows used, after the exclusions
	DF       int      // design degrees of freedom of the prevalence intervals
	Rows     []Row    // one per group, in anthro's order
	Warnings []string // rows excluded or values changed, as anthro warns
}

// Compute prepares in as anthro_prevalence does and returns its table. The
// error matches ErrInput for input anthro refuses (a negative weight or
// age, an infinite measurement).
func Compute(in *Input) (*Table, error) {
	t := &Table{}
	d, err := prepare(in, func(s string) { t.Warnings = append(t.Warnings, s) })
	if err != nil {
		return nil, err
	}
	t.Method = [...]Method{MethodSimple, MethodHybrid, MethodSurvey}[d.method]
	t.N, t.DF = d.n, d.degf
	if d.n == 0 {
		return nil, inputError(0, "no rows left to tabulate")
	}
	if d.method == design && d.degf < 1 {
		return nil, inputError(0, "the design has %d degrees of freedom (PSUs with weight minus strata); need at least 1", d.degf)
	}

	// The 0/1 indicator columns, NaN where the prevalence column is NA.
	var ind [NumIndex][len(cutoffs)][]float64
	for x := range NumIndex {
		for k, c := range cutoffs {
			ind[x][k] = indicator(d.aux[x], func(v float64) bool {
				if c.below {
					return v < c.at
				}
				return v > c.at
			})
		}
	}
	wasted := make([]float64, d.n)    // HA_2_WH_2
	stuntOver := make([]float64, d.n) // HA_2_WH2
	for i := range d.n {
		h, w := d.z[HA][i], d.aux[WH][i]
		if math.IsNaN(h) || math.IsNaN(w) {
			wasted[i], stuntOver[i] = na, na
			continue
		}
		wasted[i] = b01(h < -2 && w < -2)
		stuntOver[i] = b01(h < -2 && w > 2)
	}

	tm, tp := d.meanT(), d.propT()
	buf := make([]int, 0, d.n)
	for _, g := range d.groupsOf() {
		v := make([]float64, 0, NumColumns)
		for x := range NumIndex {
			pop, unw := d.counts(g.rows, d.aux[x])
			v = append(v, pop, unw)
			for k := range cutoffs {
				e := d.prevalence(g.rows, ind[x][k], tp, buf)
				v = append(v, e[:]...)
			}
			e := d.zSummary(g.rows, d.z[x], tm, buf)
			v = append(v, e[:]...)
		}
		pop, unw := d.counts(g.rows, wasted)
		v = append(v, pop, unw)
		e := d.prevalence(g.rows, wasted, tp, buf)
		v = append(v, e[:]...)
		e = d.prevalence(g.rows, stuntOver, tp, buf)
		v = append(v, e[:]...)
		t.Rows = append(t.Rows, Row{Group: g.label, Values: v})
	}
	return t, nil
}

// indicator maps a prevalence column to 0/1 by test, keeping NaN.
func indicator(v []float64, test func(float64) bool) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if math.IsNaN(x) {
			out[i] = na
		} else {
			out[i] = b01(test(x))
		}
	}
	return out
}

func b01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WriteCSV writes the table as CSV: a header "Group" and ColumnNames(), then one
// line per row; NA is written "NA", numbers in the shortest form that reads
// back to the same float64.
func (t *Table) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("Group")
	for _, c := range ColumnNames() {
		bw.WriteString("," + c)
	}
	bw.WriteByte('\n')
	var b []byte
	for _, r := range t.Rows {
		b = appendQuoted(b[:0], r.Group)
		for _, x := range r.Values {
			b = append(b, ',')
			if math.IsNaN(x) || math.IsInf(x, 0) {
				b = append(b, "NA"...)
			} else {
				b = strconv.AppendFloat(b, x, 'g', -1, 64)
			}
		}
		bw.Write(append(b, '\n'))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write prevalence table: %w", err)
	}
	return nil
}

// appendQuoted appends s as one CSV field, quoted when it has to be.
func appendQuoted(b []byte, s string) []byte {
	need := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			need = true
			break
		}
	}
	if !need {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
