package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"contigo/growth"
)

// runZscore runs "contigo zscore args..." in-process on stdin.
func runZ(tb testing.TB, stdin string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	var out, errb bytes.Buffer
	ctx := tb.Context()
	code = run(ctx, append([]string{"zscore"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// csvTable parses output CSV into its header and rows keyed by column name.
func csvTable(tb testing.TB, s string) ([]string, []map[string]string) {
	tb.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		tb.Fatalf("output is not CSV: %v\n%s", err, s)
	}
	if len(recs) == 0 {
		tb.Fatal("no output")
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

var resultCols = strings.Fields(`zlen zwei zwfl zbmi zhc zac zts zss flen fwei fwfl fbmi fhc fac fts fss
	zhfa zwfa zbfa fhfa fwfa fbfa age_band wasting wasting_anthro wasting_criteria infant_risk
	stunting underweight overweight extra_band`)

func TestZscoreColumns(t *testing.T) {
	t.Parallel()
	in := "note,OEDEMA,armc,lenhei,weight,Age_Days,measure,Sex,headc\n" +
		`"free, text",n,11.9,74.5,7.2,400,l,F,45.1` + "\n"
	out, errs, code := runZ(t, in)
	if code != 0 || errs != "" {
		t.Fatalf("got code %d, stderr %q", code, errs)
	}
	header, rows := csvTable(t, out)
	want := append(strings.Split("note,OEDEMA,armc,lenhei,weight,Age_Days,measure,Sex,headc", ","), resultCols...)
	if strings.Join(header, ",") != strings.Join(want, ",") {
		t.Errorf("got header\n%v\nwant\n%v", header, want)
	}
	row := rows[0]
	if row["note"] != "free, text" {
		t.Errorf("pass-through: got %q", row["note"])
	}
	// Same child through the library.
	m := growth.NewMeasurement()
	m.Sex, m.Age, m.AgeUnit = growth.Female, 400, growth.Days
	m.Weight, m.LenHei, m.Position, m.ArmC, m.HeadC = 7.2, 74.5, growth.Lying, 11.9, 45.1
	res, err := growth.Assess(&m)
	if err != nil {
		t.Fatal(err)
	}
	for _, ind := range append(append([]growth.Indicator{}, young...), older...) {
		s := res.Scores[ind]
		want := ""
		if s.OK {
			want = strconv.FormatFloat(s.Z, 'f', 2, 64)
		}
		if got := row[ind.String()]; got != want {
			t.Errorf("%v: got %q, want %q", ind, got, want)
		}
	}
	wantClass := map[string]string{"age_band": "child_6_59m", "wasting_criteria": "whz+muac_mm",
		"infant_risk": "", "extra_band": "", "zhfa": "", "fhfa": "", "zts": "", "fts": ""}
	for k, v := range wantClass {
		if row[k] != v {
			t.Errorf("%s: got %q, want %q", k, row[k], v)
		}
	}
}

func TestZscoreMissingColumns(t *testing.T) {
	t.Parallel()
	// No age, no sex: no z-score at all (every WHO table is sex-specific).
	out, _, code := runZ(t, "weight,lenhei\n9,75\n")
	_, rows := csvTable(t, out)
	if code != 0 || rows[0]["zwfl"] != "" || rows[0]["age_band"] != "unknown" || rows[0]["wasting"] != "unknown" {
		t.Errorf("got code %d, row %v", code, rows[0])
	}
	// Sex but no age: only weight-for-length/height (anthro scores it without age).
	out, _, _ = runZ(t, "sex,weight,lenhei,measure\n1,9,75,l\n")
	_, rows = csvTable(t, out)
	for _, c := range resultCols {
		want := ""
		switch c {
		case "zwfl", "fwfl", "age_band", "wasting", "wasting_anthro", "infant_risk", "stunting", "underweight", "overweight":
			want = "x"
		}
		if (rows[0][c] != "") != (want != "") {
			t.Errorf("%s: got %q", c, rows[0][c])
		}
	}
	// Header only.
	out, errs, code := runZ(t, "a,b\n")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "a,b,zlen,") || strings.Count(out, "\n") != 1 {
		t.Errorf("got %d %q %q", code, out, errs)
	}
	// A column of its own only: MUAC and oedema classify without z-scores.
	out, _, _ = runZ(t, "age_months,armc,oedema\n20,11.2,y\n")
	_, rows = csvTable(t, out)
	if rows[0]["wasting"] != "nutritional_oedema" || rows[0]["wasting_anthro"] != "severe_wasting" ||
		rows[0]["wasting_criteria"] != "muac_mm+oedema" {
		t.Errorf("got %v", rows[0])
	}
}

func TestZscoreAgeSources(t *testing.T) {
	t.Parallel()
	// 2024-01-15 to 2025-02-17: 399 days.
	in := "sex,age_days,age_months,birth_date,visit_date,weight,lenhei,measure,armc\n" +
		"2,399,,,,8.4,73.1,l,13.2\n" +
		"2,,,2024-01-15,2025-02-17,8.4,73.1,l,13.2\n" +
		"2,399,99,1999-01-01,1999-01-01,8.4,73.1,l,13.2\n" + // age_days wins
		"2,,13.1,,,8.4,73.1,l,13.2\n" +
		"2,,13.1,2024-01-15,2025-02-17,8.4,73.1,l,13.2\n" // age_months before dates
	out, errs, code := runZ(t, in)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errs)
	}
	_, rows := csvTable(t, out)
	for i := 1; i < 3; i++ {
		for _, c := range resultCols {
			if rows[i][c] != rows[0][c] {
				t.Errorf("row %d %s: got %q, want %q (as age_days 399)", i+1, c, rows[i][c], rows[0][c])
			}
		}
	}
	// Months use anthro's conversion: 13.1 × 30.4375 = 398.73 → day 399 for
	// table look-up, so the age-based z-scores equal those of day 399.
	m := growth.NewMeasurement()
	m.Sex, m.Age, m.AgeUnit = growth.Female, 13.1, growth.Months
	m.Weight, m.LenHei, m.Position, m.ArmC = 8.4, 73.1, growth.Lying, 13.2
	res, _ := growth.Assess(&m)
	for _, r := range rows[3:] {
		for _, ind := range young {
			if want := strconv.FormatFloat(res.Scores[ind].Z, 'f', 2, 64); res.Scores[ind].OK && r[ind.String()] != want {
				t.Errorf("age_months %v: got %q, want %q", ind, r[ind.String()], want)
			}
		}
		if r["zwei"] != rows[0]["zwei"] {
			t.Errorf("zwei at 13.1 months %q, at 399 days %q", r["zwei"], rows[0]["zwei"])
		}
	}
}

func TestZscoreBadRows(t *testing.T) {
	t.Parallel()
	in := "id,sex,age_days,weight,lenhei,measure,oedema,armc,age_months,birth_date,visit_date\n" +
		"ok1,1,400,9,75,l,n,14,,,\n" + // line 2
		"b1,x,400,9,75,l,n,14,,,\n" + // 3: sex
		"b2,1,-1,9,75,l,n,14,,,\n" + // 4: negative age
		"b3,1,400,9kg,75,l,n,14,,,\n" + // 5: weight
		"b4,1,400,9,75,s,n,14,,,\n" + // 6: measure
		"b5,1,400,9,75,l,maybe,14,,,\n" + // 7: oedema
		"b6,1,,9,75,l,n,14,,2024-02-30,2024-05-01\n" + // 8: date
		"b7,1,,9,75,l,n,14,,2024-05-01,2024-01-01\n" + // 9: visit before birth
		"b8,1,400,9,75,l,n\n" + // 10: short row
		"\"b\n9\",1,400,NaN,75,l,n,14,,,\n" + // 11-12: NaN weight, quoted newline in id
		"b10,1,,9,75,l,n,14,-3,,\n" + // 13: negative months
		"b11,1,,9,75,l,n,14,,2024-01-01,\n" + // 14: birth without visit
		"ok2,2,1000,13,90,h,,15,,,\n" // 15
	out, errs, code := runZ(t, in)
	if code != 1 {
		t.Errorf("got exit %d, want 1", code)
	}
	wantErrs := []string{
		"line 3, column sex: ",
		"line 4, column age_days: negative age",
		"line 5, column weight: not a number",
		"line 6, column measure: ",
		"line 7, column oedema: ",
		"line 8, column birth_date: not a date",
		"line 9, column visit_date: before birth_date",
		"line 10: has 7 fields, the header has 11",
		"line 12, column weight: not a number",
		"line 13, column age_months: negative age",
		"line 14, column visit_date: missing",
	}
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if len(lines) != len(wantErrs) {
		t.Errorf("got %d error lines, want %d:\n%s", len(lines), len(wantErrs), errs)
	}
	for i, w := range wantErrs {
		if i < len(lines) && !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d: got %q, want prefix %q", i, lines[i], w)
		}
	}
	_, rows := csvTable(t, out)
	if len(rows) != 13 {
		t.Fatalf("got %d rows, want 13", len(rows))
	}
	for _, r := range rows {
		bad := strings.HasPrefix(r["id"], "b")
		for _, c := range resultCols {
			if bad && r[c] != "" {
				t.Errorf("bad row %q: %s = %q, want empty", r["id"], c, r[c])
			}
		}
		if !bad && r["zwei"] == "" {
			t.Errorf("good row %q has no zwei", r["id"])
		}
	}
	if rows[8]["id"] != "b8" || rows[8]["weight"] != "9" || rows[8]["armc"] != "" {
		t.Errorf("short row not padded: %v", rows[8])
	}
	if rows[9]["id"] != "b\n9" {
		t.Errorf("quoted field: got %q", rows[9]["id"])
	}
}

func TestZscoreCSVSyntaxError(t *testing.T) {
	t.Parallel()
	out, errs, code := runZ(t, "id,sex\n1,\"a\"b\n2,1\n")
	if code != 1 || !strings.HasPrefix(errs, "line 2: malformed CSV at byte 5: ") {
		t.Errorf("got %d, %q", code, errs)
	}
	if _, rows := csvTable(t, out); len(rows) != 2 || rows[1]["id"] != "2" {
		t.Errorf("got %q", out)
	}
}

func TestZscoreUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(file, []byte("sex,age_days,weight\n1,100,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badRules := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(badRules, []byte(`{"name":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string
	}{
		{"file", []string{file}, "", 0, ""},
		{"stdin dash", []string{"-"}, "sex\n1\n", 0, ""},
		{"no such file", []string{filepath.Join(dir, "nope.csv")}, "", 2, "no such file"},
		{"two files", []string{file, file}, "", 2, "at most one FILE"},
		{"unknown flag", []string{"--frobnicate"}, "", 2, "frobnicate"},
		{"empty input", nil, "", 2, "no header"},
		{"duplicate column", nil, "sex,Sex\n1,1\n", 2, "line 1, column Sex: given twice"},
		{"bad rules", []string{"--rules", badRules}, "sex\n", 2, "--rules: rules: child.wasting"},
		{"rules missing", []string{"--rules", filepath.Join(dir, "nope.json")}, "sex\n", 2, "--rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errs, code := runZ(t, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.stderr) {
				t.Errorf("got exit %d, stderr %q; want %d, %q", code, errs, tt.code, tt.stderr)
			}
		})
	}
}

func TestZscoreRulesFlag(t *testing.T) {
	t.Parallel()
	in := "sex,age_months,weight,lenhei,measure\n1,20,9.6,82,l\n"
	out, _, _ := runZ(t, in)
	_, rows := csvTable(t, out)
	co := filepath.Join("..", "..", "growth", "testdata", "classify-rules-co.json")
	outCO, errs, code := runZ(t, in, "--rules", co)
	_, rowsCO := csvTable(t, outCO)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	z, _ := strconv.ParseFloat(rows[0]["zwfl"], 64)
	if z < -2 || z >= -1 {
		t.Fatalf("test child has zwfl %v, want one in [-2,-1)", z)
	}
	if rows[0]["extra_band"] != "" || rowsCO[0]["extra_band"] != "co_risk_acute_malnutrition" {
		t.Errorf("got extra_band %q (WHO), %q (CO)", rows[0]["extra_band"], rowsCO[0]["extra_band"])
	}
}

func TestZscoreHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--help", "-h", "-help"} {
		out, errs, code := runZ(t, "", arg)
		if code != 0 || errs != "" {
			t.Errorf("%s: exit %d, stderr %q", arg, code, errs)
		}
		for _, want := range append([]string{"age_days", "age_months", "birth_date", "visit_date", "measure",
			"headc", "triskin", "subskin", "oedema", "Exit status", "line N, column NAME", "cm", "kg", "mm",
			"Example"}, resultCols...) {
			if !strings.Contains(out, want) {
				t.Errorf("%s: help lacks %q", arg, want)
			}
		}
	}
	// The example in the help is real output.
	help, _, _ := runZ(t, "", "--help")
	i := strings.Index(help, "$ printf '")
	j := strings.Index(help[i:], "' |")
	example := strings.ReplaceAll(help[i+len("$ printf '"):i+j], `\n`, "\n")
	out, _, code := runZ(t, example)
	if code != 0 {
		t.Fatalf("example exits %d", code)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.Contains(help, "  "+line+"\n") {
			t.Errorf("help lacks the example's real output line\n%s", line)
		}
	}
	// The command is listed by the dispatcher.
	var top bytes.Buffer
	run(t.Context(), []string{"--help"}, nil, &top, &top)
	if !strings.Contains(top.String(), "zscore") {
		t.Errorf("zscore not in %q", top.String())
	}
}

// readTSV reads a tab-separated file with a header into rows keyed by column.
func readTSV(tb testing.TB, path string) []map[string]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var header []string
	var rows []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = fields
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = fields[i]
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// wantZ turns a z-score as R printed it into our output: 2 decimals, empty
// for NA, NaN and ±Inf.
func wantZ(tb testing.TB, s string) string {
	switch s {
	case "NA", "NaN", "Inf", "-Inf":
		return ""
	case "-0": // R's round(-0.001, 2); we write 0.00
		return "0.00"
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("reference z %q: %v", s, err)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// checkReference converts a reference sample to our CSV columns, runs it
// and compares the given z-score columns and their flags with the text R
// wrote.
func checkReference(t *testing.T, path string, cols map[string]string, zcols []string) {
	rows := readTSV(t, path)
	var in strings.Builder
	in.WriteString("id")
	var names []string
	for ref, ours := range cols {
		names = append(names, ref)
		in.WriteString("," + ours)
	}
	in.WriteString("\n")
	for _, r := range rows {
		in.WriteString(r["id"])
		for _, ref := range names {
			v := r[ref]
			if v == "NA" {
				v = ""
			}
			in.WriteString("," + v)
		}
		in.WriteString("\n")
	}
	out, errs, code := runZ(t, in.String())
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	_, got := csvTable(t, out)
	if len(got) != len(rows) {
		t.Fatalf("got %d rows, want %d", len(got), len(rows))
	}
	n := 0
	for i, ref := range rows {
		for _, z := range zcols {
			f := "f" + z[1:]
			wz := wantZ(t, ref[z])
			wf := ref[f]
			if wf == "NA" {
				wf = ""
			}
			if got[i][z] != wz || got[i][f] != wf {
				t.Errorf("id %s (%s) %s: got %q flag %q, want %q flag %q (R: %s)",
					ref["id"], ref["case_type"], z, got[i][z], got[i][f], wz, wf, ref[z])
			}
			n++
		}
	}
	t.Logf("%d z-scores and flags agree with %s", n, filepath.Base(path))
}

func TestZscoreReferenceAnthro(t *testing.T) {
	t.Parallel()
	checkReference(t, filepath.Join("..", "..", "growth", "testdata", "reference-sample.tsv"),
		map[string]string{"sex": "sex", "age_days": "age_days", "weight_kg": "weight",
			"lenhei_cm": "lenhei", "measure": "measure", "headc_cm": "headc", "armc_cm": "armc",
			"triskin_mm": "triskin", "subskin_mm": "subskin", "oedema": "oedema"},
		strings.Fields("zlen zwei zwfl zbmi zhc zac zts zss"))
}

func TestZscoreReferenceAnthroplus(t *testing.T) {
	t.Parallel()
	checkReference(t, filepath.Join("..", "..", "growth", "testdata", "reference-sample-5to19.tsv"),
		map[string]string{"sex": "sex", "age_months": "age_months", "height_cm": "lenhei",
			"weight_kg": "weight", "oedema": "oedema"},
		strings.Fields("zhfa zwfa zbfa"))
}

// FuzzZscoreCSV feeds arbitrary CSV to the command: it must not panic, must
// write valid CSV with the result columns appended, and never NaN or Inf.
func FuzzZscoreCSV(f *testing.F) {
	header := "id,sex,age_days,age_months,birth_date,visit_date,weight,lenhei,measure,headc,armc,triskin,subskin,oedema\n"
	for _, row := range []string{
		"1,1,400,,,,9,75,l,45,14,8,6,n\n",
		"2,f,,13.2,,,8,72,h,44,13,,,y\n",
		"3,2,,,2024-01-01,2024-06-30,6,60,,40,12,7,5,+\n",
		"4,1,0,,,,0,0,l,0,0,0,0,n\n",
		"5,1,1826.25,,,,18,110,h,,,,,n\n",
		"6,2,,228,,,50,160,,,,,,\n",
		"7,M,5,,,,-1,-45,L,,,,,N\n",
		"\"8\n\",1,1e308,,,,1e308,1e-308,,,,,,\n",
	} {
		f.Add(header + row)
	}
	f.Add("sex,weight,lenhei\n1,NaN,Inf\n")
	f.Add("a\n\"x")
	f.Fuzz(func(t *testing.T, in string) {
		var out, errb bytes.Buffer
		code := run(t.Context(), []string{"zscore"}, strings.NewReader(in), &out, &errb)
		if code == 2 {
			return // no readable header
		}
		if code != 0 && code != 1 {
			t.Fatalf("exit %d", code)
		}
		r := csv.NewReader(&out)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("output is not CSV: %v\n%q", err, out.String())
		}
		width := len(recs[0])
		for i, rec := range recs {
			if len(rec) != width {
				t.Fatalf("record %d has %d fields, header %d", i, len(rec), width)
			}
			if i == 0 {
				continue
			}
			for j, v := range rec[width-len(resultCols):] {
				name := resultCols[j]
				if strings.Contains(v, "NaN") || strings.Contains(v, "Inf") {
					t.Fatalf("%s = %q", name, v)
				}
				if v != "" && name[0] == 'z' {
					if _, err := strconv.ParseFloat(v, 64); err != nil {
						t.Fatalf("%s = %q", name, v)
					}
				}
			}
		}
	})
}

func benchRows(n int) string {
	var b strings.Builder
	b.WriteString("id,sex,age_days,weight,lenhei,measure,headc,armc,triskin,subskin,oedema\n")
	for i := range n {
		row := strconv.Itoa(i) + "," + strconv.Itoa(1+i%2) + "," + strconv.Itoa(i%2200) + "," +
			strconv.FormatFloat(3+float64(i%150)/10, 'f', 1, 64) + "," +
			strconv.FormatFloat(50+float64(i%700)/10, 'f', 1, 64) + ",l,44.1,13.4,8.2,6.1,n\n"
		b.WriteString(row)
	}
	return b.String()
}

// BenchmarkZscoreRow measures the per-row path: parse, Assess, Classify and
// format one record.
func BenchmarkZscoreRow(b *testing.B) {
	rules := growth.DefaultRules()
	header := strings.Split("id,sex,age_days,weight,lenhei,measure,headc,armc,triskin,subskin,oedema", ",")
	p, err := newZscoreRow(header, &rules)
	if err != nil {
		b.Fatal(err)
	}
	var rec zRecord
	rec.split([]byte("17,2,400,8.4,73.1,l,44.1,13.4,8.2,6.1,n"), 2)
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		var reason string
		if line, _, _, reason = p.appendLine(line[:0], &rec); reason != "" {
			b.Fatal(reason)
		}
	}
}

// BenchmarkZscoreStream measures the whole command on 10,000 rows in memory.
func BenchmarkZscoreStream(b *testing.B) {
	const n = 10000
	in := benchRows(n)
	rules := growth.DefaultRules()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if code := zscoreStream(b.Context(), strings.NewReader(in), io.Discard, io.Discard, &rules); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestZscoreInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"zscore"}, strings.NewReader(benchRows(10)), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("got exit %d, stderr %q", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "id,sex,") {
		t.Errorf("header not flushed: %q", out.String())
	}
}
