package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"contigo/growth/survey"
)

func init() {
	commands["prevalence"] = command{
		summary: "WHO survey prevalence tables (anthro_prevalence) from a CSV/TSV of children",
		run:     runPrevalence,
	}
}

const prevalenceHelp = `Usage: contigo prevalence [--cluster COL] [--strata COL] [--weight COL]
                         [--by ROLE[=COL][,ROLE[=COL]...]] FILE

Computes the prevalence tables of WHO's Anthro Survey Analyser (R package
anthro, anthro_prevalence) from a survey of children under five: stunting,
wasting, underweight, overweight and every other cut-off of
length/height-for-age (HA), weight-for-age (WA), BMI-for-age (BMI) and
weight-for-length/height (WH), their combinations, z-score means and SDs,
weighted and unweighted counts, each with its standard error and 95%
confidence interval, for all children and for anthro's groups.

FILE is CSV, or TSV when the header line holds a tab; "-" is standard input.
Missing values are an empty field or NA; other columns are ignored. Required
columns (anthro's names):

  sex         1, m or M = male; 2, f or F = female
  age_days    age in days, fractional allowed (or age_months)
  weight      kg
  lenhei      length or height, cm
  measure     l = lying, h = standing, empty = unknown
  oedema      y = bilateral pitting oedema, n = none

Flags:

  --cluster COL  primary sampling unit id column (any text)
  --strata COL   stratum id column (any text)
  --weight COL   sampling weight column (missing weights count as 0)
  --by LIST      groupings to tabulate: typeres (Area), gregion (Geographical
                 region), wealthq (Wealth quintile: 1-5 or Q1-Q5), mothered
                 (Maternal education), othergr (Other grouping); ROLE reads the
                 column of that name, ROLE=COL reads column COL

The method follows anthro: --cluster or --strata selects the survey method
(Taylor linearisation as R's survey package does; lonely PSUs adjusted; no
finite population correction); --weight alone the hybrid method (the simple
one when every weight is 1); none of them the simple method.

As in anthro, rows older than 1826 days (rounded) are dropped, and so are
rows without cluster or stratum when the design uses them; z-scores anthro
flags as implausible are left out of each index; children with oedema count
below -3 SD in WA, BMI and WH prevalences and are left out of their means.
What was dropped or changed is reported on standard error.

Output: CSV on standard output, "Group" and anthro's 134 columns in anthro's
order (HAZ_pop, HAZ_unwpop, HA_3_r, HA_3_se, HA_3_ll, HA_3_ul, ...,
HA_2_WH2_ul), one line per group; NA for a missing value; numbers unrounded,
in the shortest form that reads back to the same double.

Exit status: 0 on success, 1 for input anthro refuses (listed on standard
error with line and column), 2 for a usage error or unreadable file.
`

// runPrevalence is the prevalence command; see prevalenceHelp.
func runPrevalence(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("prevalence", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cols survey.Columns
	fs.StringVar(&cols.Cluster, "cluster", "", "cluster column")
	fs.StringVar(&cols.Strata, "strata", "", "strata column")
	fs.StringVar(&cols.Weight, "weight", "", "weight column")
	by := fs.String("by", "", "groupings")
	usage := func(err error) int {
		fmt.Fprintf(stderr, "contigo prevalence: %v\nRun \"contigo prevalence --help\" for usage.\n", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, prevalenceHelp)
			return 0
		}
		return usage(err)
	}
	if fs.NArg() != 1 {
		return usage(fmt.Errorf("want one FILE, got %d", fs.NArg()))
	}
	if err := parseBy(*by, &cols); err != nil {
		return usage(err)
	}
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "contigo prevalence: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	data, err := survey.Read(in, cols)
	if err == nil {
		var t *survey.Table
		if t, err = survey.Compute(data); err == nil {
			for _, w := range t.Warnings {
				fmt.Fprintf(stderr, "contigo prevalence: warning: %s\n", w)
			}
			if err := t.WriteCSV(stdout); err != nil {
				fmt.Fprintf(stderr, "contigo prevalence: %v\n", err)
				return 2
			}
			return 0
		}
	}
	if errors.Is(err, survey.ErrInput) {
		fmt.Fprintf(stderr, "contigo prevalence: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "contigo prevalence: %v\n", err)
	return 2
}

// parseBy fills cols.By from "ROLE[=COL],...".
func parseBy(s string, cols *survey.Columns) error {
	if s == "" {
		return nil
	}
	for _, item := range strings.Split(s, ",") {
		role, col, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			col = role
		}
		r, known := survey.ParseRole(role)
		if !known {
			return fmt.Errorf("--by: unknown role %q (want typeres, gregion, wealthq, mothered or othergr)", role)
		}
		if col == "" {
			return fmt.Errorf("--by: %s: empty column name", role)
		}
		cols.By[r] = col
	}
	return nil
}
