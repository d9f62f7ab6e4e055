// Package survey computes WHO's survey prevalence tables for children under
// five, the tables of anthro_prevalence in WHO's R package anthro (the Anthro
// Survey Analyser): stunting, wasting, underweight, overweight and the other
// cut-offs of length/height-for-age, weight-for-age, BMI-for-age and
// weight-for-length/height, z-score means and standard deviations, weighted
// and unweighted sample sizes, each with its standard error and 95%
// confidence interval, for the whole sample and for anthro's subgroups.
//
// Standard errors follow anthro's three methods: the simple one (no survey
// design), the hybrid one (sampling weights only) and the survey one
// (clusters and/or strata, with or without weights: Taylor linearisation as
// the R survey package's svymean does, with lonely PSUs "adjust"ed and no
// finite population correction). ../../../shared/who/PREVALENCE.md is the
// specification; the tests compare against anthro's own outputs.
//
// Read a file with Read (or fill Children yourself), then call Compute:
//
//	in, err := survey.Read(f, survey.Columns{Weight: "sw", Cluster: "cluster", Strata: "strata"})
//	t, err := survey.Compute(in)
//	t.WriteCSV(os.Stdout)
package survey
