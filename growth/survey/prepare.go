package survey

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"contigo/growth"
)

// Index is one of the four indices of the tables.
type Index uint8

// Index values, in the order of the output columns.
const (
	HA       Index = iota // length/height-for-age (zlen)
	WA                    // weight-for-age (zwei)
	BMI                   // BMI-for-age (zbmi)
	WH                    // weight-for-length/height (zwfl)
	NumIndex              // number of indices, not an index
)

var indexNames = [NumIndex]string{"HA", "WA", "BMI", "WH"}
var indexIndicator = [NumIndex]growth.Indicator{growth.LenHeiForAge, growth.WeightForAge, growth.BMIForAge, growth.WeightForLenHei}

// String returns the index's column prefix, e.g. "HA".
func (x Index) String() string { return indexNames[x] }

// method is how standard errors are computed (PREVALENCE.md §4.1).
type method uint8

const (
	simple method = iota // no design
	hybrid               // weights only
	design               // clusters and/or strata: the survey package
)

// oedemaAux is the value anthro gives a child with oedema in the auxiliary
// weight-based columns: below -3 SD.
const oedemaAux = -3.1

// maxAgeDays is the oldest rounded age in days anthro_prevalence keeps.
const maxAgeDays = 1826

var ageGroupLabels = [...]string{"00-05 mo", "06-11 mo", "12-23 mo", "24-35 mo", "36-47 mo", "48-59 mo"}
var sexLabels = [...]string{"Female", "Male"}
var wealthLabels = [...]string{"Q1: Poorest", "Q2", "Q3", "Q4", "Q5: Richest"}

// data is a survey after anthro's preparation (PREVALENCE.md §2): the kept
// rows, their weights, flag-cleaned z-scores and auxiliary columns, groups
// and the design.
type data struct {
	method method
	n      int       // rows kept (N)
	w      []float64 // weight per row; 1 without weights
	z      [NumIndex][]float64
	aux    [NumIndex][]float64 // prevalence column: z, or -3.1 with oedema
	age    []int8              // age group 0-5, -1 = NA
	sex    []int8              // 0 female, 1 male, -1 = NA
	groups [NumRoles][]string  // grouping value per row, "" = NA
	by     [NumRoles]bool
	design *psuDesign
	degf   int      // degrees of freedom for the prevalence (and survey mean) intervals
	kept   []*Child // the kept rows, as read
}

// ErrInput is matched (errors.Is) by every error Compute and Read return for
// input that cannot be tabulated.
var ErrInput = errors.New("invalid survey input")

// inputError returns an error matching ErrInput.
func inputError(line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = "line " + strconv.Itoa(line) + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrInput, msg)
}

// prepare applies anthro_prevalence's preparation steps to in. Warnings go to
// warn (one call per kind, with a count).
func prepare(in *Input, warn func(string)) (*data, error) {
	d := &data{by: in.By}
	var dropAge, dropCluster, dropStrata, zeroWeight, badWealth int
	useDesign := in.Clustered || in.Stratified
	keep := make([]*Child, 0, len(in.Children))
	for i := range in.Children {
		c := &in.Children[i]
		if c.M.AgeUnit != growth.AgeUnknown {
			days := c.M.Age
			if c.M.AgeUnit == growth.Months {
				days *= growth.DaysPerMonth
			}
			if days < 0 || math.IsNaN(days) || math.IsInf(days, 0) {
				return nil, inputError(c.Line, "age: negative or not a number")
			}
			if math.Floor(days+0.5) > maxAgeDays {
				dropAge++
				continue
			}
		}
		if in.Clustered && c.Cluster == "" {
			dropCluster++
			continue
		}
		if in.Stratified && c.Strata == "" {
			dropStrata++
			continue
		}
		keep = append(keep, c)
	}
	if dropAge > 0 {
		warn(fmt.Sprintf("%d rows excluded: age above %d days", dropAge, maxAgeDays))
	}
	if dropCluster+dropStrata > 0 {
		warn(fmt.Sprintf("%d rows excluded: missing cluster (%d) or strata (%d)", dropCluster+dropStrata, dropCluster, dropStrata))
	}
	n := len(keep)
	d.n, d.kept = n, keep
	d.w = make([]float64, n)
	for x := range NumIndex {
		d.z[x] = make([]float64, n)
		d.aux[x] = make([]float64, n)
	}
	d.age = make([]int8, n)
	d.sex = make([]int8, n)
	for r := range NumRoles {
		if in.By[r] {
			d.groups[r] = make([]string, n)
		}
	}
	allOne := true
	for i, c := range keep {
		w := 1.0
		if in.Weighted {
			w = c.Weight
			if math.IsNaN(w) {
				w, zeroWeight = 0, zeroWeight+1
			}
			if w < 0 || math.IsInf(w, 0) {
				return nil, inputError(c.Line, "sampling weight: negative or infinite")
			}
			if w != 1 {
				allOne = false
			}
		}
		d.w[i] = w
		sc, err := scores(c)
		if err != nil {
			return nil, err
		}
		for x := range NumIndex {
			s := sc[x]
			z := math.NaN()
			if s.OK && !s.Flag {
				z = s.Z
			}
			d.z[x][i], d.aux[x][i] = z, z
			if x != HA && c.M.Oedema {
				d.z[x][i], d.aux[x][i] = math.NaN(), oedemaAux
			}
		}
		d.age[i] = ageGroup(&c.M)
		d.sex[i] = -1
		switch c.M.Sex {
		case growth.Female:
			d.sex[i] = 0
		case growth.Male:
			d.sex[i] = 1
		}
		for r := range NumRoles {
			if !in.By[r] {
				continue
			}
			v := c.Groups[r]
			if r == WealthQ && v != "" {
				if v = wealthLabel(v); v == "" {
					badWealth++
				}
			}
			d.groups[r][i] = v
		}
	}
	if zeroWeight > 0 {
		warn(fmt.Sprintf("%d rows with a missing sampling weight: taken as 0", zeroWeight))
	}
	if badWealth > 0 {
		warn(fmt.Sprintf("%d wealth quintiles other than 1-5 or Q1-Q5: taken as missing", badWealth))
	}
	switch {
	case useDesign:
		d.method = design
		d.design = newPSUDesign(keep, d.w, in.Clustered, in.Stratified)
	case in.Weighted && !allOne:
		d.method = hybrid
		d.design = rowDesign(n)
	default:
		d.method = simple
		d.design = rowDesign(n)
	}
	d.degf = d.design.degf(d.w)
	return d, nil
}

// ageGroup returns anthro_age_groups' group of m (0-5), or -1 when the age is
// missing or 60 months or more.
func ageGroup(m *growth.Measurement) int8 {
	if m.AgeUnit == growth.AgeUnknown {
		return -1
	}
	months := m.Age
	if m.AgeUnit == growth.Days {
		months = m.Age / growth.DaysPerMonth
	}
	switch {
	case months < 6:
		return 0
	case months < 12:
		return 1
	case months < 24:
		return 2
	case months < 36:
		return 3
	case months < 48:
		return 4
	case months < 60:
		return 5
	}
	return -1
}

// wealthLabel returns anthro's label for a wealth quintile code, or "" for a
// code it does not know.
func wealthLabel(s string) string {
	for i, l := range wealthLabels {
		q := strconv.Itoa(i + 1)
		if s == q || s == "Q"+q {
			return l
		}
	}
	return ""
}

// group is one output row: its label and member rows.
type group struct {
	label string
	rows  []int
}

// groupsOf returns the output rows in anthro's order (PREVALENCE.md §3).
func (d *data) groupsOf() []group {
	all := make([]int, d.n)
	for i := range all {
		all[i] = i
	}
	out := []group{{label: "All", rows: all}}
	out = appendLevels(out, "Age group: ", ageGroupLabels[:], d.n, func(i int) int { return int(d.age[i]) })
	out = appendLevels(out, "Sex: ", sexLabels[:], d.n, func(i int) int { return int(d.sex[i]) })
	var ageSex []string
	for _, s := range sexLabels {
		for _, a := range ageGroupLabels {
			ageSex = append(ageSex, a+"."+s)
		}
	}
	out = appendLevels(out, "Age + sex: ", ageSex, d.n, func(i int) int {
		if d.age[i] < 0 || d.sex[i] < 0 {
			return -1
		}
		return int(d.sex[i])*len(ageGroupLabels) + int(d.age[i])
	})
	for r := range NumRoles {
		if !d.by[r] {
			continue
		}
		vals := d.groups[r]
		levels := wealthLabels[:]
		if r != WealthQ {
			levels = d.freeLevels(vals)
		}
		idx := make(map[string]int, len(levels))
		for i, l := range levels {
			idx[l] = i
		}
		out = appendLevels(out, roleLabels[r]+": ", levels, d.n, func(i int) int {
			if k, ok := idx[vals[i]]; ok && vals[i] != "" {
				return k
			}
			return -1
		})
	}
	return out
}

// appendLevels appends one group per level, members by level(i) (-1 = NA);
// nothing when every row is NA.
func appendLevels(out []group, prefix string, levels []string, n int, level func(int) int) []group {
	gs := make([]group, len(levels))
	any := false
	for i := range n {
		if k := level(i); k >= 0 {
			gs[k].rows = append(gs[k].rows, i)
			any = true
		}
	}
	if !any {
		return out
	}
	for k, l := range levels {
		gs[k].label = prefix + l
	}
	return append(out, gs...)
}

// freeLevels returns the distinct non-missing values of a free-text
// grouping: sorted for the survey method (numerically when every value is a
// number, else bytewise), in order of first appearance otherwise.
func (d *data) freeLevels(vals []string) []string {
	seen := map[string]bool{}
	var levels []string
	for _, v := range vals {
		if v != "" && !seen[v] {
			seen[v] = true
			levels = append(levels, v)
		}
	}
	if d.method != design {
		return levels
	}
	nums := make(map[string]float64, len(levels))
	for _, l := range levels {
		f, err := strconv.ParseFloat(l, 64)
		if err != nil {
			sort.Strings(levels)
			return levels
		}
		nums[l] = f
	}
	sort.SliceStable(levels, func(i, j int) bool { return nums[levels[i]] < nums[levels[j]] })
	return levels
}

// scores returns c's z-scores of the four indices: c.Scores, or computed.
func scores(c *Child) (*[NumIndex]growth.Score, error) {
	if c.Scores != nil {
		return c.Scores, nil
	}
	res, err := growth.Assess(&c.M)
	if err != nil {
		return nil, inputError(c.Line, "%v", err)
	}
	var sc [NumIndex]growth.Score
	for x := range NumIndex {
		sc[x] = res.Scores[indexIndicator[x]]
	}
	return &sc, nil
}
