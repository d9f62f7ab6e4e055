package growth

import (
	"bytes"
	"embed"
	"fmt"
	"math"
	"strconv"
)

// The LMS tables of WHO's anthro and anthroplus packages; see tables/README.md.
//
//go:embed tables/*.tsv
var tableFS embed.FS

// lms is one row of an LMS table: the Box-Cox power L, the median M and the
// coefficient of variation S.
type lms struct{ l, m, s float64 }

// A table holds one LMS reference as flat arrays, one per sex (index 0 male,
// 1 female), indexed by key - first, where key is age in days, length in
// tenths of a cm or age in months.
type table struct {
	first, last int // keys of the first and last row, the same for both sexes
	rows        [2][]lms
}

// row returns the row for sex index si and key k, and false if the table has
// no such row.
func (t *table) row(si, k int) (lms, bool) {
	if k < t.first || k > t.last {
		return lms{}, false
	}
	return t.rows[si][k-t.first], true
}

// The tables, parsed at initialisation.
var (
	tabLenHeiAge = mustTable("who2006_length_height_for_age.tsv", 1)
	tabWeightAge = mustTable("who2006_weight_for_age.tsv", 1)
	tabBMIAge    = mustTable("who2006_bmi_for_age.tsv", 1)
	tabHeadCAge  = mustTable("who2006_head_circumference_for_age.tsv", 1)
	tabArmCAge   = mustTable("who2006_arm_circumference_for_age.tsv", 1)
	tabTriAge    = mustTable("who2006_triceps_skinfold_for_age.tsv", 1)
	tabSubAge    = mustTable("who2006_subscapular_skinfold_for_age.tsv", 1)
	tabWFL       = mustTable("who2006_weight_for_length.tsv", 10)
	tabWFH       = mustTable("who2006_weight_for_height.tsv", 10)
	tabHFA5to19  = mustTable("who2007_height_for_age_5to19y.tsv", 1)
	tabWFA5to10  = mustTable("who2007_weight_for_age_5to10y.tsv", 1)
	tabBFA5to19  = mustTable("who2007_bmi_for_age_5to19y.tsv", 1)
)

// mustTable parses an embedded table; it panics if the embedded file is
// malformed, which only a broken build can cause.
func mustTable(name string, scale int) *table {
	data, err := tableFS.ReadFile("tables/" + name)
	if err == nil {
		var t *table
		if t, err = parseTable(data, scale); err == nil {
			return t
		}
	}
	panic(fmt.Sprintf("growth: embedded table %s: %v", name, err))
}

// parseTable reads a TSV of sex, key, l, m, s (and maybe more columns) with a
// header line. The key times scale must be an integer k with float64(k)/scale
// equal to the key as written, and the keys must run without gaps from the
// same first to the same last value for both sexes.
func parseTable(data []byte, scale int) (*table, error) {
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	t := &table{first: math.MaxInt, last: math.MinInt}
	var keys [2][]int
	for i, line := range lines[1:] {
		f := bytes.Split(line, []byte("\t"))
		if len(f) < 5 {
			return nil, fmt.Errorf("line %d: %d fields", i+2, len(f))
		}
		var v [5]float64
		for j := range v {
			x, err := strconv.ParseFloat(string(f[j]), 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", i+2, err)
			}
			v[j] = x
		}
		si := int(v[0]) - 1
		if si != 0 && si != 1 || v[0] != float64(si+1) {
			return nil, fmt.Errorf("line %d: sex %v", i+2, v[0])
		}
		k := int(math.Round(v[1] * float64(scale)))
		if float64(k)/float64(scale) != v[1] {
			return nil, fmt.Errorf("line %d: key %v is not on the grid", i+2, v[1])
		}
		if n := len(keys[si]); n > 0 && keys[si][n-1] != k-1 {
			return nil, fmt.Errorf("line %d: key %v does not follow the previous row", i+2, v[1])
		}
		keys[si] = append(keys[si], k)
		t.rows[si] = append(t.rows[si], lms{l: v[2], m: v[3], s: v[4]})
	}
	for si := range keys {
		if len(keys[si]) == 0 {
			return nil, fmt.Errorf("no rows for sex %d", si+1)
		}
		if si == 0 {
			t.first, t.last = keys[0][0], keys[0][len(keys[0])-1]
		} else if keys[si][0] != t.first || keys[si][len(keys[si])-1] != t.last {
			return nil, fmt.Errorf("sexes cover different ranges")
		}
	}
	return t, nil
}
