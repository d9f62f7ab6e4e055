package growth

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestTableChecksums checks the embedded tables against the SHA-256 sums in
// tables/README.md, which are those of shared/who/README.md.
func TestTableChecksums(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("tables/README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(readme)) {
		f := strings.Fields(line)
		if len(f) != 2 || len(f[0]) != 64 || !strings.HasSuffix(f[1], ".tsv") {
			continue
		}
		data, err := tableFS.ReadFile("tables/" + f[1])
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != f[0] {
			t.Errorf("%s: sha256 %s, want %s", f[1], got, f[0])
		}
		n++
	}
	if n != 12 {
		t.Errorf("checked %d tables, want 12", n)
	}
}

// TestTableShapes checks the grid of every table (README §2).
func TestTableShapes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		tab         *table
		first, last int
	}{
		{"length/height-for-age", tabLenHeiAge, 0, 1826},
		{"weight-for-age", tabWeightAge, 0, 1826},
		{"BMI-for-age", tabBMIAge, 0, 1826},
		{"head circumference-for-age", tabHeadCAge, 0, 1826},
		{"MUAC-for-age", tabArmCAge, 91, 1826},
		{"triceps-for-age", tabTriAge, 91, 1826},
		{"subscapular-for-age", tabSubAge, 91, 1826},
		{"weight-for-length", tabWFL, 450, 1100},
		{"weight-for-height", tabWFH, 650, 1200},
		{"height-for-age 5-19", tabHFA5to19, 60, 229},
		{"weight-for-age 5-10", tabWFA5to10, 60, 121},
		{"BMI-for-age 5-19", tabBFA5to19, 60, 229},
	} {
		n := tt.last - tt.first + 1
		if tt.tab.first != tt.first || tt.tab.last != tt.last || len(tt.tab.rows[0]) != n || len(tt.tab.rows[1]) != n {
			t.Errorf("%s: keys %d-%d with %d/%d rows, want %d-%d", tt.name, tt.tab.first, tt.tab.last,
				len(tt.tab.rows[0]), len(tt.tab.rows[1]), tt.first, tt.last)
		}
	}
	// Spot checks against README §2.
	if r, _ := tabWFA5to10.row(0, 60); r != (lms{-0.1922, 18.3328, 0.12947}) {
		t.Errorf("boys' weight at 60 months: %+v", r)
	}
	if r, _ := tabWeightAge.row(0, 1826); r != (lms{-0.1506, 18.3352, 0.13517}) {
		t.Errorf("boys' weight at 1826 days: %+v", r)
	}
}

func TestParseTableErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, data string }{
		{"empty", "sex\tage\tl\tm\ts\n"},
		{"short line", "h\n1\t0\t1\t2\n"},
		{"bad number", "h\n1\t0\t1\tx\t3\n2\t0\t1\t2\t3\n"},
		{"bad sex", "h\n3\t0\t1\t2\t3\n"},
		{"gap", "h\n1\t0\t1\t2\t3\n1\t2\t1\t2\t3\n"},
		{"off grid", "h\n1\t0.05\t1\t2\t3\n"},
		{"one sex", "h\n1\t0\t1\t2\t3\n"},
		{"different ranges", "h\n1\t0\t1\t2\t3\n2\t1\t1\t2\t3\n"},
	} {
		if _, err := parseTable([]byte(tt.data), 10); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// TestStdlibOnly checks that growth imports nothing outside the standard
// library (docs/STYLE.md §1).
func TestStdlibOnly(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "contigo/growth" {
			t.Errorf("growth depends on %s", p)
		}
	}
}
