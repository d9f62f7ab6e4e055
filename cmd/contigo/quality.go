package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"contigo/growth/survey"
)

func init() {
	commands["quality"] = command{
		summary: "survey data-quality report (z-score SD, skewness, sex ratio, digit preference)",
		run:     runQuality,
	}
}

const qualityHelp = `Usage: contigo quality [--cluster COL] [--strata COL] FILE

Reports the data quality of a survey of children under five, as WHO's and
SMART's survey reports do, from the same file "contigo prevalence" reads
(CSV or TSV, anthro's column names; an armc column, MUAC in cm, is used when
present). Rows are kept and z-scores cleaned exactly as for the prevalence
tables (--cluster/--strata drop rows without them, as there).

Output: CSV "indicator,statistic,value":

  HAZ WAZ BMIZ WHZ  valid, flagged, missing, pct_flagged (flagged among
                    computed z-scores), mean, sd, skewness (m3/m2^1.5),
                    kurtosis (excess: m4/m2^2 - 3) of the values not flagged
  sex               male, female, missing, ratio_m_f, ratio_p (chi-square
                    test of 1:1)
  age               children per anthro age group, missing_or_60mo_plus,
                    ratio_6_29_30_59 (SMART's age ratio, about 0.85 expected)
  weight lenhei armc
                    n, digit_0 ... digit_9 (counts of the tenths digit) and
                    SMART's digit_preference_score (0 perfect, > 20 poor)

Exit status: 0 on success, 1 for input that cannot be read as a survey, 2 for
a usage error.
`

// runQuality is the quality command; see qualityHelp.
func runQuality(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quality", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cols survey.Columns
	fs.StringVar(&cols.Cluster, "cluster", "", "cluster column")
	fs.StringVar(&cols.Strata, "strata", "", "strata column")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, qualityHelp)
			return 0
		}
		fmt.Fprintf(stderr, "contigo quality: %v\nRun \"contigo quality --help\" for usage.\n", err)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "contigo quality: want one FILE, got %d\nRun \"contigo quality --help\" for usage.\n", fs.NArg())
		return 2
	}
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "contigo quality: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	data, err := survey.Read(in, cols)
	var q *survey.Quality
	if err == nil {
		q, err = survey.ComputeQuality(data)
	}
	if err != nil {
		fmt.Fprintf(stderr, "contigo quality: %v\n", err)
		if errors.Is(err, survey.ErrInput) {
			return 1
		}
		return 2
	}
	for _, w := range q.Warnings {
		fmt.Fprintf(stderr, "contigo quality: warning: %s\n", w)
	}
	if err := q.WriteCSV(stdout); err != nil {
		fmt.Fprintf(stderr, "contigo quality: %v\n", err)
		return 2
	}
	return 0
}
