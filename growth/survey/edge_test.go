package survey

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"contigo/growth"
)

// kid returns a child of age days with a plausible measurement: a girl of
// median length and weight for about a year gives z near 0.
func kid(days, weight, lenhei float64) Child {
	m := growth.NewMeasurement()
	m.Sex = growth.Female
	m.Age, m.AgeUnit = days, growth.Days
	m.Weight, m.LenHei, m.Position = weight, lenhei, growth.Lying
	return Child{M: m, Weight: 1}
}

// column returns the value of column name in row group of t.
func column(t *testing.T, tab *Table, group, name string) float64 {
	t.Helper()
	j := slices.Index(ColumnNames(), name)
	for _, r := range tab.Rows {
		if r.Group == group {
			return r.Values[j]
		}
	}
	t.Fatalf("no group %q", group)
	return 0
}

func mustCompute(t *testing.T, in *Input) *Table {
	t.Helper()
	tab, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestEmptyLevels: factor levels without children are listed with zero
// counts and NA estimates, as anthro lists them.
func TestEmptyLevels(t *testing.T) {
	in := &Input{Children: []Child{kid(400, 8.5, 74), kid(420, 9.5, 76), kid(500, 7, 70)}}
	tab := mustCompute(t, in)
	if got := len(tab.Rows); got != 1+6+2+12 {
		t.Fatalf("%d rows, want 21", got)
	}
	for _, name := range []string{"HAZ_pop", "HAZ_unwpop", "HA_2_WH_2_pop"} {
		if v := column(t, tab, "Age group: 00-05 mo", name); v != 0 {
			t.Errorf("%s = %v, want 0", name, v)
		}
	}
	for _, name := range []string{"HA_2_r", "HA_r", "HA_stdev", "WH_3_ll"} {
		if v := column(t, tab, "Sex: Male", name); !math.IsNaN(v) {
			t.Errorf("Sex: Male %s = %v, want NA", name, v)
		}
	}
	if v := column(t, tab, "All", "HAZ_unwpop"); v != 3 {
		t.Errorf("All HAZ_unwpop = %v, want 3", v)
	}
}

// TestAllFlagged: when every value of an index is flagged, its estimates
// are NA and its counts 0, and the other indices are unaffected.
func TestAllFlagged(t *testing.T) {
	in := &Input{Children: []Child{kid(400, 8.5, 40), kid(420, 9.5, 40)}} // 40 cm at 13 months: zlen < -6
	tab := mustCompute(t, in)
	if v := column(t, tab, "All", "HAZ_unwpop"); v != 0 {
		t.Errorf("HAZ_unwpop = %v, want 0", v)
	}
	for _, name := range []string{"HA_r", "HA_se", "HA_2_r", "HA_2_ll", "HA_stdev"} {
		if v := column(t, tab, "All", name); !math.IsNaN(v) {
			t.Errorf("%s = %v, want NA", name, v)
		}
	}
	if v := column(t, tab, "All", "WAZ_unwpop"); v != 2 {
		t.Errorf("WAZ_unwpop = %v, want 2", v)
	}
}

// TestOedema: a child with oedema counts below -3 SD in WA, BMI and WH even
// without a weight, and is left out of their means.
func TestOedema(t *testing.T) {
	a, b := kid(400, 8.5, 74), kid(420, math.NaN(), 76)
	b.M.Oedema = true
	tab := mustCompute(t, &Input{Children: []Child{a, b}})
	for _, x := range []string{"WA", "BMI", "WH"} {
		if v := column(t, tab, "All", x+"Z_unwpop"); v != 2 {
			t.Errorf("%sZ_unwpop = %v, want 2", x, v)
		}
		if v := column(t, tab, "All", x+"_3_r"); v != 50 {
			t.Errorf("%s_3_r = %v, want 50", x, v)
		}
		if v := column(t, tab, "All", x+"3_r"); v != 0 {
			t.Errorf("%s3_r = %v, want 0", x, v)
		}
	}
	if v := column(t, tab, "All", "HAZ_unwpop"); v != 2 {
		t.Errorf("HAZ_unwpop = %v, want 2 (oedema plays no part in HA)", v)
	}
	if v, want := column(t, tab, "All", "WA_r"), mustZ(t, a, growth.WeightForAge); v != want {
		t.Errorf("WA_r = %v, want the one child without oedema, %v", v, want)
	}
}

func mustZ(t *testing.T, c Child, ind growth.Indicator) float64 {
	t.Helper()
	s, err := growth.Z(ind, &c.M)
	if err != nil || !s.OK {
		t.Fatalf("z %v: %v %v", ind, s, err)
	}
	return s.Z
}

// TestPrevalenceZeroAndOne: p = 0 gives [0, 0]; p = 1 in the simple method
// [100, 100].
func TestPrevalenceZeroAndOne(t *testing.T) {
	tab := mustCompute(t, &Input{Children: []Child{kid(400, 8.5, 74), kid(420, 9.5, 76)}})
	for _, name := range []string{"HA_3_r", "HA_3_se", "HA_3_ll", "HA_3_ul"} {
		if v := column(t, tab, "All", name); v != 0 {
			t.Errorf("%s = %v, want 0", name, v)
		}
	}
	sh := []Child{kid(400, 8.5, 60), kid(420, 9.5, 60)} // 60 cm at 13 months: z about -5
	tab = mustCompute(t, &Input{Children: sh})
	for _, name := range []string{"HA_3_r", "HA_3_ll", "HA_3_ul"} {
		if v := column(t, tab, "All", name); v != 100 {
			t.Errorf("%s = %v, want 100", name, v)
		}
	}
}

// TestOnePercent: in the weighted methods a prevalence of exactly 1% gets
// the interval [1, 1] (anthro's test for a proportion of 1 after scaling).
func TestOnePercent(t *testing.T) {
	var cs []Child
	for i := range 100 {
		c := kid(400+float64(i), 8.5, 74)
		if i == 0 {
			c.M.LenHei = 60
		}
		c.Weight = 2
		cs = append(cs, c)
	}
	tab := mustCompute(t, &Input{Children: cs, Weighted: true})
	if tab.Method != MethodHybrid {
		t.Fatalf("method %s", tab.Method)
	}
	if r, ll, ul := column(t, tab, "All", "HA_3_r"), column(t, tab, "All", "HA_3_ll"), column(t, tab, "All", "HA_3_ul"); r != 1 || ll != 1 || ul != 1 {
		t.Errorf("HA_3 = %v [%v, %v], want 1 [1, 1]", r, ll, ul)
	}
}

// TestLonelyPSU: a stratum with a single cluster contributes its centred
// PSU total squared with scale 1 (survey.lonely.psu = "adjust"); a
// hand-computed variance checks it.
func TestLonelyPSU(t *testing.T) {
	lens := []float64{70, 72, 74, 66, 78, 71}
	strata := []string{"A", "A", "A", "A", "B", "B"}
	clusters := []string{"1", "1", "2", "2", "1", "1"}
	var cs []Child
	for i, l := range lens {
		c := kid(400, 8.5, l)
		c.Strata, c.Cluster, c.Weight = strata[i], clusters[i], float64(i+1)
		cs = append(cs, c)
	}
	tab := mustCompute(t, &Input{Children: cs, Clustered: true, Stratified: true, Weighted: true})
	if tab.DF != 1 {
		t.Fatalf("df %d, want 3 PSUs - 2 strata = 1", tab.DF)
	}
	var W, sum float64
	z := make([]float64, len(cs))
	for i, c := range cs {
		z[i] = mustZ(t, c, growth.LenHeiForAge)
		W += c.Weight
		sum += c.Weight * z[i]
	}
	r := sum / W
	var tot [3]float64 // A1, A2, B1
	for i, c := range cs {
		k := 2
		if c.Strata == "A" {
			k = map[string]int{"1": 0, "2": 1}[c.Cluster]
		}
		tot[k] += c.Weight * (z[i] - r) / W
	}
	m := (tot[0] + tot[1]) / 2
	v := 2*((tot[0]-m)*(tot[0]-m)+(tot[1]-m)*(tot[1]-m)) + tot[2]*tot[2]
	if got := column(t, tab, "All", "HA_r"); math.Abs(got-r) > 1e-12 {
		t.Errorf("HA_r = %v, want %v", got, r)
	}
	if got := column(t, tab, "All", "HA_se"); math.Abs(got-math.Sqrt(v)) > 1e-12 {
		t.Errorf("HA_se = %v, want %v", got, math.Sqrt(v))
	}
}

// TestRefused: anthro's errors are refused with a message naming the line
// and column; the design needs a degree of freedom.
func TestRefused(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"negative weight", "sex\tage_days\tweight\tlenhei\tmeasure\toedema\tsw\n1\t400\t8\t70\tl\tn\t-1\n", "line 2: column sw: negative sampling weight"},
		{"bad sex", "sex,age_days,weight,lenhei,measure,oedema\n3,400,8,70,l,n\n", "line 2: column sex: unknown sex"},
		{"bad measure and age", "sex,age_days,weight,lenhei,measure,oedema\n1,-4,8,70,x,n\n", "column age_days: negative age; column measure: unknown measure"},
		{"missing columns", "sex,age,weight\n", "missing column(s): lenhei, measure, oedema, age_days (or age_months)"},
		{"short row", "sex,age_days,weight,lenhei,measure,oedema\n1,400\n", "line 2: has 2 fields"},
		{"one PSU per stratum", "sex,age_days,weight,lenhei,measure,oedema,cl,st,sw\n1,400,8,70,l,n,1,1,1\n2,410,8,70,l,n,1,2,2\n", "degrees of freedom"},
		{"nothing left", "sex,age_days,weight,lenhei,measure,oedema\n1,2000,8,70,l,n\n", "no rows left"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cols Columns
			if strings.Contains(c.file, "sw\n") {
				cols.Weight = "sw"
			}
			if strings.Contains(c.file, ",cl,") {
				cols.Cluster, cols.Strata = "cl", "st"
			}
			in, err := Read(strings.NewReader(c.file), cols)
			if err == nil {
				_, err = Compute(in)
			}
			if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrInput with %q", err, c.want)
			}
		})
	}
}

// TestMissingWeight: a missing weight counts as 0: the row is in the
// unweighted counts but not in the weighted ones, with a warning.
func TestMissingWeight(t *testing.T) {
	a, b, c := kid(400, 8.5, 74), kid(420, 9.5, 76), kid(440, 9, 75)
	a.Weight, b.Weight, c.Weight = 2, math.NaN(), 3
	tab := mustCompute(t, &Input{Children: []Child{a, b, c}, Weighted: true})
	if pop, unw := column(t, tab, "All", "HAZ_pop"), column(t, tab, "All", "HAZ_unwpop"); pop != 5 || unw != 3 {
		t.Errorf("HAZ_pop, _unwpop = %v, %v, want 5, 3", pop, unw)
	}
	if len(tab.Warnings) != 1 || !strings.Contains(tab.Warnings[0], "missing sampling weight") {
		t.Errorf("warnings %q", tab.Warnings)
	}
}
