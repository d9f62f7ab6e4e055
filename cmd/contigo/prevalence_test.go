package main

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

const surveyTestdata = "../../growth/survey/testdata/"

func runPrev(tb testing.TB, stdin string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	var out, errb bytes.Buffer
	code = run(tb.Context(), append([]string{"prevalence"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// TestPrevalenceCommand runs the command as the grading bar does (three
// designs, every grouping) and compares its CSV, as text, with anthro's
// tables within PREVALENCE.md §7.1's tolerances.
func TestPrevalenceCommand(t *testing.T) {
	t.Parallel()
	by := "--by=typeres,gregion,wealthq,mothered,othergr"
	for _, c := range []struct {
		input, output string
		args          []string
	}{
		{"prevalence-sample-input.tsv", "prevalence-sample-output.tsv", []string{"--cluster", "cluster", "--strata", "strata", "--weight", "sw"}},
		{"prevalence-sample-input.tsv", "prevalence-sample-output-weights.tsv", []string{"--weight", "sw"}},
		{"prevalence-sample-nodesign-input.tsv", "prevalence-sample-nodesign-output.tsv", nil},
	} {
		args := append(append(c.args, by), surveyTestdata+c.input)
		out, errs, code := runPrev(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		if !strings.Contains(errs, "warning: 11 rows excluded: age above 1826 days") {
			t.Errorf("%v: stderr %q lacks the age warning", args, errs)
		}
		got, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(surveyTestdata + c.output)
		if err != nil {
			t.Fatal(err)
		}
		var want [][]string
		for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			f := strings.Split(line, "\t")
			if i > 0 && strings.HasSuffix(f[0], ": NA") {
				continue
			}
			want = append(want, f)
		}
		if len(got) != len(want) {
			t.Fatalf("%v: %d lines, want %d", args, len(got), len(want))
		}
		if strings.Join(got[0], ",") != strings.Join(want[0], ",") {
			t.Fatalf("header %v, want %v", got[0], want[0])
		}
		bad := 0
		for i := 1; i < len(want); i++ {
			if got[i][0] != want[i][0] {
				t.Errorf("line %d: group %q, want %q", i+1, got[i][0], want[i][0])
			}
			for j := 1; j < len(want[i]); j++ {
				if !agrees(want[0][j], got[i][j], want[i][j]) {
					bad++
					t.Errorf("%v: %s / %s = %s, want %s", args, want[i][0], want[0][j], got[i][j], want[i][j])
				}
			}
			if bad > 20 {
				t.FailNow()
			}
		}
	}
}

// agrees applies the bar's tolerance to one value of column col.
func agrees(col, got, want string) bool {
	g, gerr := strconv.ParseFloat(got, 64)
	w, werr := strconv.ParseFloat(want, 64)
	if gerr != nil || werr != nil || math.IsNaN(g) || math.IsNaN(w) {
		return (gerr != nil || math.IsNaN(g)) && (werr != nil || math.IsNaN(w))
	}
	tol := 1e-9 * math.Max(1, math.Abs(w))
	switch col {
	case "HA_ll", "HA_ul", "WA_ll", "WA_ul", "BMI_ll", "BMI_ul", "WH_ll", "WH_ul":
	default:
		if strings.HasSuffix(col, "_ll") || strings.HasSuffix(col, "_ul") {
			tol = 1e-5
		}
	}
	return math.Abs(g-w) <= tol
}

// TestPrevalenceUsage checks exit statuses and messages of bad calls.
func TestPrevalenceUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"", nil, 2, "want one FILE"},
		{"", []string{"--by", "region", "-"}, 2, `unknown role "region"`},
		{"", []string{"no-such-file.csv"}, 2, "no such file"},
		{"sex,age_days,weight,lenhei,measure,oedema\n1,400,8,70,l,maybe\n", []string{"-"}, 1, "line 2: column oedema: unknown oedema"},
		{"sex,age_days,weight\n", []string{"-"}, 1, "missing column(s): lenhei, measure, oedema"},
	} {
		_, errs, code := runPrev(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", c.args, code, errs, c.code, c.msg)
		}
	}
	out, _, code := runPrev(t, "", "--help")
	if code != 0 || !strings.Contains(out, "Usage: contigo prevalence") {
		t.Errorf("--help: exit %d", code)
	}
	in := "sex,age_days,weight,lenhei,measure,oedema,area\n1,400,8.5,74,l,n,a\n2,500,9,76,l,n,b\n"
	out, _, code = runPrev(t, in, "--by", "typeres=area", "-")
	if code != 0 || !strings.Contains(out, "\nArea: a,") || !strings.Contains(out, "\nArea: b,") {
		t.Errorf("--by typeres=area: exit %d, output %q", code, out)
	}
}

// TestQualityCommand runs "contigo quality" on the shared sample.
func TestQualityCommand(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"quality", surveyTestdata + "prevalence-sample-nodesign-input.tsv"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"indicator,statistic,value\n", "\nWHZ,flagged,26\n", "\nsex,missing,1\n", "\nlenhei,digit_preference_score,"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := run(t.Context(), []string{"quality"}, strings.NewReader(""), &out, &errb); code != 2 {
		t.Errorf("no FILE: exit %d, want 2", code)
	}
}
