package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"unicode"
	"unicode/utf8"

	"contigo/growth"
)

func init() {
	commands["zscore"] = command{
		summary: "WHO z-scores, flags and nutrition classes for a CSV of measurements",
		run:     runZscore,
	}
}

const zscoreHelp = `Usage: contigo zscore [--rules RULES.json] [--workers N] [FILE]

Reads measurements of children as CSV from FILE (or standard input when FILE
is absent or "-") and writes them to standard output with WHO z-scores,
implausible-value flags and nutrition classes added. Rows stream through in
constant memory, so files of any length work.

Input columns are found by header name (case-insensitive, any order); every
one is optional, and any other column is passed through untouched:

  sex         1 or m = male, 2 or f = female (case-insensitive)
  age_days    age in days, fractional allowed
  age_months  age in months, fractional allowed (used when age_days is empty);
              days = round-half-up(months x 30.4375) as in WHO anthro
  birth_date, visit_date
              YYYY-MM-DD; age = calendar days between them (used when
              age_days and age_months are empty)
  weight      kg
  lenhei      length or height, cm
  measure     l = lying (length), h = standing (height), empty = unknown
  headc       head circumference, cm
  armc        mid-upper arm circumference (MUAC), cm (mm / 10)
  triskin     triceps skinfold, mm
  subskin     subscapular skinfold, mm
  oedema      y = bilateral pitting oedema, n = none; also 1/2 as in anthro
              and +, ++, +++ for a graded finding; empty = not recorded

An empty value or NA means "not measured".

Output columns: the input columns as read, then

  zlen zwei zwfl zbmi zhc zac zts zss     0-5 years (WHO Child Growth
  flen fwei fwfl fbmi fhc fac fts fss     Standards, as WHO anthro computes
                                          them): length/height-, weight-,
                                          weight-for-length/height, BMI-,
                                          head circumference-, MUAC-, triceps-
                                          and subscapular-for-age
  zhfa zwfa zbfa                          5-19 years (WHO Reference 2007, as
  fhfa fwfa fbfa                          WHO anthroplus computes them):
                                          height-, weight- (to 10 y) and
                                          BMI-for-age
  age_band wasting wasting_anthro wasting_criteria infant_risk
  stunting underweight overweight extra_band
                                          nutrition classes (rule set
                                          who-2023 unless --rules is given)

Each z-score is rounded to 2 decimals; each flag is 1 (implausible value) or
0. A z-score and its flag are empty where WHO's tool gives NA: the indicator
does not apply at that age, a measurement is missing, oedema is present
(weight-based scores), or the value is out of the table's range. Where anthro
would print NaN or Inf (a measurement of 0 or below) the z-score is empty too,
with flag 1 for Inf. A z-score of -0.00 is written 0.00.

Classes (see shared/docs/nutrition-rules.md): age_band is infant_u6m,
child_6_59m, over_5 or unknown. For 6-59 months, wasting is nutritional_oedema,
severe_wasting, moderate_wasting, not_wasted or unknown (WHZ and MUAC in mm =
armc x 10 rounded, worst wins); wasting_anthro is the class by WHZ and MUAC
alone, so oedema with severe wasting shows both; wasting_criteria lists the
indicators that fired, e.g. whz+muac_mm+oedema. Under 6 months, infant_risk is
high_risk_anthropometry, infant_at_risk, infant_not_at_risk_anthropometric or
unknown (MUAC counts from 42 days), and wasting_criteria lists the rules of
infant_risk that fired. Under 5 years, stunting and underweight are severe,
moderate, none or unknown; overweight (WHZ, else BAZ) is obesity,
overweight, possible_risk_of_overweight, not_overweight or unknown;
extra_band names a national band of the rule set. A class is empty where it
does not apply.

A bad row (a number that does not parse, a negative or impossible age, an
unknown sex, measure or oedema code, a wrong number of fields) is reported on
standard error as "line N, column NAME: reason" and written with its input
columns and empty results; a row that is not valid CSV (a stray quote) is
reported as "line N: malformed CSV ..." and written as an empty row.

Flags:

  --rules FILE  classification rules as JSON (e.g. a country's), instead of
                the built-in WHO rule set who-2023
  --workers N   compute rows on N goroutines (default: the number of CPUs);
                the output is the same bytes, in the same order, for any N
  --help        show this help

Exit status: 0 if every row was processed, 1 if any row was bad (or the run
was interrupted), 2 for a usage error, an unreadable FILE or rules file, a
header that cannot be read, or output that cannot be written.

Example:

  $ printf 'id,sex,age_days,weight,lenhei,measure,armc,oedema\nA1,f,400,7.2,74.5,l,11.9,n\nA2,m,2500,19.5,116.2,h,,n\n' |
      contigo zscore
  id,sex,age_days,weight,lenhei,measure,armc,oedema,zlen,zwei,zwfl,zbmi,zhc,zac,zts,zss,flen,fwei,fwfl,fbmi,fhc,fac,fts,fss,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa,age_band,wasting,wasting_anthro,wasting_criteria,infant_risk,stunting,underweight,overweight,extra_band
  A1,f,400,7.2,74.5,l,11.9,n,-0.34,-2.05,-2.66,-2.66,,-2.22,,,0,0,0,0,,0,,,,,,,,,child_6_59m,moderate_wasting,moderate_wasting,whz+muac_mm,,none,moderate,not_overweight,
  A2,m,2500,19.5,116.2,h,,n,,,,,,,,,,,,,,,,,-0.89,-1.08,-0.78,0,0,0,over_5,,,,,,,,
`

// runZscore is the zscore command; see zscoreHelp.
func runZscore(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zscore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rulesPath := fs.String("rules", "", "classification rules JSON")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "rows computed in parallel by this many goroutines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, zscoreHelp)
			return 0
		}
		fmt.Fprintf(stderr, "contigo zscore: %v\nRun \"contigo zscore --help\" for usage.\n", err)
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "contigo zscore: at most one FILE, got %d\nRun \"contigo zscore --help\" for usage.\n", fs.NArg())
		return 2
	}
	rules := growth.DefaultRules()
	if *rulesPath != "" {
		data, err := os.ReadFile(*rulesPath)
		if err == nil {
			rules, err = growth.ParseRules(data)
		}
		if err != nil {
			fmt.Fprintf(stderr, "contigo zscore: --rules: %v\n", err)
			return 2
		}
	}
	in := stdin
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "contigo zscore: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	if *workers <= 1 {
		return zscoreStream(ctx, in, stdout, stderr, &rules)
	}
	return zscoreParallel(ctx, in, stdout, stderr, &rules, *workers)
}

// zscoreStream converts CSV from in to out, one row at a time.
func zscoreStream(ctx context.Context, in io.Reader, stdout, stderr io.Writer, rules *growth.Rules) int {
	r := newZReader(in)
	w := bufio.NewWriterSize(stdout, 1<<16)
	p, code := zscoreHeader(r, w, stderr, rules)
	if p == nil {
		return code
	}

	status := 0
	var rec zRecord
	var line, msg []byte
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			fmt.Fprintf(stderr, "contigo zscore: interrupted: %v\n", context.Cause(ctx))
			status = 1
			break
		}
		err := r.read(&rec)
		if err == io.EOF {
			break
		}
		perr, _ := errors.AsType[*csv.ParseError](err)
		if err != nil && perr == nil {
			w.Flush()
			fmt.Fprintf(stderr, "contigo zscore: read: %v\n", err)
			return 2
		}
		var bad bool
		if line, msg, bad = p.convert(line[:0], msg[:0], &rec, perr); bad {
			stderr.Write(msg)
			status = 1
		}
		if _, err := w.Write(line); err != nil {
			fmt.Fprintf(stderr, "contigo zscore: write: %v\n", err)
			return 2
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "contigo zscore: write: %v\n", err)
		return 2
	}
	return status
}

// zscoreHeader reads the header line from r and writes the output's header
// line to w. It returns the row converter, or nil and the exit status after
// reporting why on stderr.
func zscoreHeader(r *zReader, w io.Writer, stderr io.Writer, rules *growth.Rules) (*zscoreRow, int) {
	var rec zRecord
	err := r.read(&rec)
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty input: no header line")
		}
		fmt.Fprintf(stderr, "contigo zscore: header: %v\n", err)
		return nil, 2
	}
	p, err := newZscoreRow(rec.strings(), rules)
	if err != nil {
		fmt.Fprintf(stderr, "contigo zscore: line 1, %v\n", err)
		return nil, 2
	}
	w.Write(p.headerLine())
	return p, 0
}

// convert appends the output line of rec, or of a record that is not valid
// CSV when perr is not nil, to out, and the message for standard error of
// a bad row to msgs; bad reports a bad row (exit status 1).
func (p *zscoreRow) convert(out, msgs []byte, rec *zRecord, perr *csv.ParseError) (_, _ []byte, bad bool) {
	if perr != nil {
		return p.appendBad(out, nil), appendMalformed(msgs, perr), true
	}
	out, col, name, reason := p.appendLine(out, rec)
	if reason == "" {
		return out, msgs, false
	}
	return out, appendBadRow(msgs, rec.lineOf(max(col, 0)), name, reason), true
}

// appendMalformed appends the message for a record that is not valid CSV.
// ParseError.Column counts bytes, not fields, so there is no column name.
func appendMalformed(b []byte, perr *csv.ParseError) []byte {
	return fmt.Appendf(b, "line %d: malformed CSV at byte %d: %v\n", perr.Line, perr.Column, perr.Err)
}

// appendBadRow appends the message for a bad row: the line, the column's
// name if any, and the reason.
func appendBadRow(b []byte, line int, name, reason string) []byte {
	b = append(append(b, "line "...), strconv.Itoa(line)...)
	if name != "" {
		b = append(append(b, ", column "...), name...)
	}
	return append(append(append(b, ": "...), reason...), '\n')
}

// appendCSVField appends s to dst, quoted as encoding/csv's Writer quotes it.
func appendCSVField[T string | []byte](dst []byte, s T) []byte {
	if !csvNeedsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// csvNeedsQuotes follows encoding/csv's fieldNeedsQuotes for a comma separator.
func csvNeedsQuotes[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	if string(s) == `\.` {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	if s[0] < utf8.RuneSelf {
		return unicode.IsSpace(rune(s[0]))
	}
	r, _ := utf8.DecodeRuneInString(string(s[:min(len(s), utf8.UTFMax)]))
	return unicode.IsSpace(r)
}
