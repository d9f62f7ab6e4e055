package growth

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// tsvRows reads a TSV file with a header line into maps from column name to
// text.
func tsvRows(tb testing.TB, path string) []map[string]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var header []string
	var rows []map[string]string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = fields
			continue
		}
		if len(fields) != len(header) {
			tb.Fatalf("%s: row %d has %d fields, want %d", path, len(rows)+1, len(fields), len(header))
		}
		row := make(map[string]string, len(header))
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

// num parses a number as R wrote it: NA is NaN, Inf and -Inf as such.
func num(tb testing.TB, s string) float64 {
	tb.Helper()
	if s == "NA" {
		return math.NaN()
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return x
}

func parseSex(tb testing.TB, s string) Sex {
	tb.Helper()
	switch s {
	case "1":
		return Male
	case "2":
		return Female
	case "NA":
		return SexUnknown
	}
	tb.Fatalf("sex %q", s)
	return 0
}

func parsePosition(tb testing.TB, s string) Position {
	tb.Helper()
	switch s {
	case "l":
		return Lying
	case "h":
		return Standing
	case "NA":
		return PositionUnknown
	}
	tb.Fatalf("measure %q", s)
	return 0
}

// fmtZ formats a rounded z-score as the tests compare it.
func fmtZ(z float64) string {
	s := strconv.FormatFloat(z, 'f', 2, 64)
	if s == "-0.00" {
		s = "0.00"
	}
	return s
}

// refStats counts what a reference comparison covered.
type refStats struct {
	rows, values, na, nonFinite, exactUnrounded int
	maxDiff                                     float64
}

// checkScore compares s with anthro's z text, flag text and unrounded text.
func checkScore(t *testing.T, id string, ind Indicator, s Score, zText, fText, uText string, st *refStats) {
	t.Helper()
	st.values++
	switch zText {
	case "NA":
		st.na++
		if s.OK || s.NonFinite {
			t.Errorf("row %s %v: got %+v, want NA", id, ind, s)
		}
		if fText != "NA" {
			t.Errorf("row %s %v: flag %s for NA z", id, ind, fText)
		}
		return
	case "NaN", "Inf", "-Inf":
		st.nonFinite++
		want := num(t, zText)
		ok := !s.OK && s.NonFinite && (math.IsNaN(want) && math.IsNaN(s.Unrounded) || want == s.Unrounded)
		if !ok || s.Flag != (fText == "1") {
			t.Errorf("row %s %v: got %+v, want %s flag %s", id, ind, s, zText, fText)
		}
		return
	}
	want := num(t, zText)
	if !s.OK || fmtZ(s.Z) != fmtZ(want) || s.Z != want {
		t.Errorf("row %s %v: got z %v (OK %v), want %s", id, ind, s.Z, s.OK, zText)
	}
	if wantFlag := fText == "1"; s.Flag != wantFlag || fText != "0" && fText != "1" {
		t.Errorf("row %s %v: got flag %v, want %s", id, ind, s.Flag, fText)
	}
	u := num(t, uText)
	d := math.Abs(s.Unrounded - u)
	if !(d <= 1e-9) {
		t.Errorf("row %s %v: got unrounded %v, want %v", id, ind, s.Unrounded, u)
	}
	if d == 0 {
		st.exactUnrounded++
	}
	st.maxDiff = max(st.maxDiff, d)
	if r := Round2(u); fmtZ(r) != fmtZ(want) {
		t.Errorf("row %s %v: Round2(%v) = %v, want %s", id, ind, u, r, zText)
	}
}

// sameFloat reports whether got equals R's text want (NA as NaN).
func sameFloat(tb testing.TB, got float64, want string) bool {
	w := num(tb, want)
	return got == w || math.IsNaN(got) && math.IsNaN(w)
}

// TestReference0to5 compares every output of anthro_zscores in
// testdata/reference-sample.tsv (anthro, see testdata/README.md).
func TestReference0to5(t *testing.T) {
	t.Parallel()
	var st refStats
	for _, row := range tsvRows(t, "testdata/reference-sample.tsv") {
		st.rows++
		id := row["id"]
		m := NewMeasurement()
		m.Sex = parseSex(t, row["sex"])
		if row["age_days"] != "NA" {
			m.Age, m.AgeUnit = num(t, row["age_days"]), Days
		}
		m.Position = parsePosition(t, row["measure"])
		m.Oedema = row["oedema"] == "y"
		m.Weight = num(t, row["weight_kg"])
		m.LenHei = num(t, row["lenhei_cm"])
		m.HeadC = num(t, row["headc_cm"])
		m.ArmC = num(t, row["armc_cm"])
		m.TriSkin = num(t, row["triskin_mm"])
		m.SubSkin = num(t, row["subskin_mm"])
		r, err := Assess(&m)
		if err != nil {
			t.Fatalf("row %s: %v", id, err)
		}
		if !sameFloat(t, r.CLenHei, row["clenhei"]) {
			t.Errorf("row %s: clenhei %v, want %s", id, r.CLenHei, row["clenhei"])
		}
		if !sameFloat(t, r.CBMI, row["cbmi"]) {
			t.Errorf("row %s: cbmi %v, want %s", id, r.CBMI, row["cbmi"])
		}
		if got := r.CMeasure; got != parsePosition(t, row["cmeasure"]) {
			t.Errorf("row %s: cmeasure %v, want %s", id, got, row["cmeasure"])
		}
		if got := r.C9moFlag; got != (row["c9mo_flag"] == "1") {
			t.Errorf("row %s: c9mo_flag %v, want %s", id, got, row["c9mo_flag"])
		}
		for ind := range SubscapularForAge + 1 {
			name := ind.String()
			checkScore(t, id, ind, r.Scores[ind], row[name], row["f"+name[1:]], row[name+"_unrounded"], &st)
			one, err := Z(ind, &m)
			if err != nil || one != r.Scores[ind] && !(one.NonFinite && r.Scores[ind].NonFinite) {
				t.Errorf("row %s: Z(%v) = %+v, %v; Assess gave %+v", id, ind, one, err, r.Scores[ind])
			}
		}
		for ind := HeightForAge5to19; ind < NumIndicators; ind++ {
			// anthro rows are all under 60 months or unknown age, except
			// for 1826.25 days and above: anthroplus scores from 60 months.
			if s := r.Scores[ind]; s.OK && m.AgeUnit == Days && m.Age < 1826.25 {
				t.Errorf("row %s: %v scored under 60 months", id, ind)
			}
		}
	}
	if st.rows != 500 {
		t.Errorf("got %d rows, want 500", st.rows)
	}
	t.Logf("0-5 y: %d rows, %d z-scores (%d NA, %d NaN/Inf), unrounded: %d of %d bit-identical, max |diff| %g",
		st.rows, st.values, st.na, st.nonFinite, st.exactUnrounded, st.values-st.na-st.nonFinite, st.maxDiff)
}

// TestReference5to19 compares every output of anthroplus_zscores in
// testdata/reference-sample-5to19.tsv (anthroplus, see testdata/README.md).
func TestReference5to19(t *testing.T) {
	t.Parallel()
	var st refStats
	for _, row := range tsvRows(t, "testdata/reference-sample-5to19.tsv") {
		st.rows++
		id := row["id"]
		m := NewMeasurement()
		m.Sex = parseSex(t, row["sex"])
		if row["age_months"] != "NA" {
			m.Age, m.AgeUnit = num(t, row["age_months"]), Months
		}
		m.Oedema = row["oedema"] == "y"
		m.Weight = num(t, row["weight_kg"])
		m.LenHei = num(t, row["height_cm"])
		r, err := Assess(&m)
		if err != nil {
			t.Fatalf("row %s: %v", id, err)
		}
		if !sameFloat(t, r.BMI, row["cbmi"]) {
			t.Errorf("row %s: cbmi %v, want %s", id, r.BMI, row["cbmi"])
		}
		for ind := HeightForAge5to19; ind < NumIndicators; ind++ {
			name := ind.String()
			checkScore(t, id, ind, r.Scores[ind], row[name], row["f"+name[1:]], row[name+"_unrounded"], &st)
		}
		for ind := range SubscapularForAge + 1 {
			if s := r.Scores[ind]; (s.OK || s.NonFinite) && m.AgeUnit == Months && m.Age >= 60 {
				t.Errorf("row %s: %v scored from 60 months", id, ind)
			}
		}
	}
	if st.rows != 200 {
		t.Errorf("got %d rows, want 200", st.rows)
	}
	t.Logf("5-19 y: %d rows, %d z-scores (%d NA, %d NaN/Inf), unrounded: %d of %d bit-identical, max |diff| %g",
		st.rows, st.values, st.na, st.nonFinite, st.exactUnrounded, st.values-st.na-st.nonFinite, st.maxDiff)
}
