package federation

import (
	"strconv"
	"time"

	"contigo/records"
)

// CandidatePage is the page size of each candidate search; the caller
// pages through all of them. At 1.7% of a country's records (below), a
// node holding 100,000 children scores about 1,700 candidates per $match:
// some 10 ms (BenchmarkScore).
const CandidatePage = 200

// CandidateQueries returns the Patient searches whose union holds the
// records person may match (the blocking step of $match):
//
//   - any of its identifiers;
//   - a surname starting with the first three letters of one of its
//     surname words, born in its birth year;
//   - one of its given-name words and a surname with the same initial,
//     born in its birth year.
//
// "Born in its birth year" widens to the neighbouring year for a date a
// day from New Year, and is dropped when the birth date is unknown. The
// searches use the keys the fhir package writes (normalised words), so a
// record missed here has its surnames mistyped in the first letters and
// no given name in common, or a birth year wrong by more than a day. On
// the synthetic set this misses none of the 2,000 true records and brings
// 1.7% of the records to scoring (TestCandidateQueries). A person with no
// identifier and no name gives no query.
func CandidateQueries(p Person) []records.Query {
	q := prepare(p)
	var out []records.Query
	if len(q.ids) > 0 {
		out = append(out, records.Query{Type: "Patient", Count: CandidatePage,
			Conds: []records.Cond{{Key: "identifier", Op: records.OpEq, Values: q.ids}}})
	}
	years := yearWindow(q.date)
	if len(q.family) > 0 {
		out = append(out, records.Query{Type: "Patient", Count: CandidatePage,
			Conds: append([]records.Cond{{Key: "family", Op: records.OpPrefix, Values: prefixes(q.family, 3)}}, years...)})
	}
	if len(q.given) > 0 && len(q.family) > 0 {
		out = append(out, records.Query{Type: "Patient", Count: CandidatePage,
			Conds: append([]records.Cond{
				{Key: "given", Op: records.OpEq, Values: q.given},
				{Key: "family", Op: records.OpPrefix, Values: prefixes(q.family, 1)},
			}, years...)})
	}
	return out
}

// yearWindow returns the birthdate conditions of CandidateQueries.
func yearWindow(d date) []records.Cond {
	if d.precision == 0 {
		return nil
	}
	lo, hi := d.y, d.y
	if d.precision == 3 {
		t := time.Date(d.y, time.Month(d.m), d.d, 0, 0, 0, 0, time.UTC)
		lo, hi = t.AddDate(0, 0, -1).Year(), t.AddDate(0, 0, 1).Year()
	}
	return []records.Cond{
		{Key: "birthdate", Op: records.OpGe, Values: []string{strconv.Itoa(lo)}},
		{Key: "birthdate", Op: records.OpLt, Values: []string{strconv.Itoa(hi + 1)}},
	}
}

// prefixes returns the distinct first n letters of words.
func prefixes(words []string, n int) []string {
	var out []string
	for _, w := range words {
		r := []rune(w)
		out = appendNew(out, string(r[:min(n, len(r))]))
	}
	return out
}
