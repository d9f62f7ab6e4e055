package survey

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// allRoles tabulates every optional grouping from the column of its name.
func allRoles(c Columns) Columns {
	for r := range NumRoles {
		c.By[r] = r.String()
	}
	return c
}

// TestReference compares every estimate, SE, confidence limit and count of
// the three methods with anthro_prevalence's outputs, within PREVALENCE.md
// §7.1's tolerances.
func TestReference(t *testing.T) {
	for _, c := range []struct {
		name, input, output string
		cols                Columns
		method              Method
	}{
		{"survey", "prevalence-sample-input.tsv", "prevalence-sample-output.tsv",
			Columns{Cluster: "cluster", Strata: "strata", Weight: "sw"}, MethodSurvey},
		{"hybrid", "prevalence-sample-input.tsv", "prevalence-sample-output-weights.tsv",
			Columns{Weight: "sw"}, MethodHybrid},
		{"simple", "prevalence-sample-nodesign-input.tsv", "prevalence-sample-nodesign-output.tsv",
			Columns{}, MethodSimple},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := computeFile(t, "testdata/"+c.input, allRoles(c.cols))
			if tab.Method != c.method {
				t.Fatalf("method %s, want %s", tab.Method, c.method)
			}
			want := readReference(t, "testdata/"+c.output)
			compareTables(t, tab, want)
		})
	}
}

func readInput(t *testing.T, name string, cols Columns) *Input {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := Read(f, cols)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func computeFile(t *testing.T, name string, cols Columns) *Table {
	t.Helper()
	tab, err := Compute(readInput(t, name, cols))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// readReference reads an anthro output TSV, leaving out its "...: NA" rows.
func readReference(t *testing.T, name string) []Row {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	header := strings.Split(sc.Text(), "\t")
	if got, want := strings.Join(header[1:], ","), strings.Join(ColumnNames(), ","); got != want {
		t.Fatalf("columns differ:\n got %s\nwant %s", want, got)
	}
	var rows []Row
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if strings.HasSuffix(f[0], ": NA") {
			continue
		}
		r := Row{Group: f[0]}
		for _, s := range f[1:] {
			v := math.NaN()
			if s != "NA" && s != "NaN" {
				var err error
				if v, err = strconv.ParseFloat(s, 64); err != nil {
					t.Fatal(err)
				}
			}
			r.Values = append(r.Values, v)
		}
		rows = append(rows, r)
	}
	return rows
}

// isMeanLimit reports whether column name is a z-score mean's limit, which
// has the tight tolerance; other limits are prevalences'.
func isMeanLimit(name string) bool {
	for x := range NumIndex {
		if name == x.String()+"_ll" || name == x.String()+"_ul" {
			return true
		}
	}
	return false
}

func compareTables(t *testing.T, got *Table, want []Row) {
	t.Helper()
	cols := ColumnNames()
	if len(got.Rows) != len(want) {
		var g []string
		for _, r := range got.Rows {
			g = append(g, r.Group)
		}
		t.Errorf("%d groups, want %d: %q", len(got.Rows), len(want), g)
	}
	bad, n := 0, 0
	for i := range min(len(got.Rows), len(want)) {
		gr, wr := got.Rows[i], want[i]
		if gr.Group != wr.Group {
			t.Errorf("row %d: group %q, want %q", i, gr.Group, wr.Group)
			continue
		}
		for j, w := range wr.Values {
			g := gr.Values[j]
			tol := 1e-9 * math.Max(1, math.Abs(w))
			if (strings.HasSuffix(cols[j], "_ll") || strings.HasSuffix(cols[j], "_ul")) && !isMeanLimit(cols[j]) {
				tol = 1e-5
			}
			n++
			ok := math.IsNaN(g) && math.IsNaN(w) || math.Abs(g-w) <= tol
			if !ok {
				bad++
				if bad <= 30 {
					t.Errorf("%s / %s = %.17g, want %.17g", gr.Group, cols[j], g, w)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ", bad, n)
	}
	if n < len(want)*len(cols) {
		t.Errorf("compared %d values, want %d", n, len(want)*len(cols))
	}
	t.Logf("%d groups, %d values agree", len(want), n)
}
