package federation

import (
	"fmt"
	"slices"
	"time"

	"contigo/records"
	"contigo/records/namekey"
)

// CandidatePage is the page size of each candidate search; the caller
// pages through all of them.
const CandidatePage = 200

// CandidateQueries returns the Patient searches whose union holds the
// records person may match (the blocking step of $match): one on its
// identifiers, and one equality on the namekey.Match key, whose values
// the fhir package writes on every Patient, so that each search is one
// index lookup. The Match values asked for are those of records that
// share with person:
//
//   - the sound of a given name and of a surname (no birth date needed:
//     it finds records without one, or with a wrong one);
//   - the sound of both surnames (the given names may not overlap,
//     "María" on one side and "José" on the other);
//   - the sound of a surname, and the birth date, the date with day and
//     month swapped, or a date up to three days either side (a dropped
//     or changed surname and no given name in common);
//   - the sound of a given name and one of those dates (every surname
//     changed: a married woman);
//   - for a person without a full birth date, the sound of a given name
//     and a surname's first letter (a mistyped surname; with a full date
//     the given name and the date find it, and at 100,000 persons a
//     given name and an initial bring hundreds of candidates);
//   - with a year-only or year-month date, the sound of a surname and the
//     birth year.
//
// A person with no identifier and no name gives no query.
func CandidateQueries(p Person) []records.Query {
	var given, family []string
	for _, n := range p.Names {
		given = append(given, n.Given...)
		family = append(family, n.Family...)
	}
	parts := namekey.PartsOf(given, family, "")
	var out []records.Query
	if len(p.Identifiers) > 0 {
		out = append(out, records.Query{Type: "Patient", Count: CandidatePage,
			Conds: []records.Cond{{Key: "identifier", Op: records.OpEq, Values: p.Identifiers}}})
	}
	blocks := namekey.Cross(namekey.GivenFamily, parts.Given, parts.Family)
	for _, pair := range namekey.Pairs(parts.Family) {
		blocks = append(blocks, namekey.FamilyPair+pair)
	}
	d := parseDate(p.BirthDate)
	if d.precision < 3 {
		blocks = append(blocks, namekey.Cross(namekey.GivenInitial, parts.Given, namekey.Initials(parts.FamilyWords))...)
	}
	switch {
	case d.precision == 3:
		dates := nearDates(d)
		blocks = append(blocks, namekey.Cross(namekey.FamilyDate, parts.Family, dates)...)
		blocks = append(blocks, namekey.Cross(namekey.GivenDate, parts.Given, dates)...)
	case d.precision > 0:
		blocks = append(blocks, namekey.Cross(namekey.FamilyYear, parts.Family, []string{fmt.Sprintf("%04d", d.y)})...)
	}
	if len(blocks) > 0 {
		out = append(out, records.Query{Type: "Patient", Count: CandidatePage,
			Conds: []records.Cond{{Key: namekey.Match, Op: records.OpEq, Values: blocks}}})
	}
	return out
}

// nearDates returns d as written in a birthdate key, with day and month
// swapped, and the days up to three before and after.
func nearDates(d date) []string {
	t := time.Date(d.y, time.Month(d.m), d.d, 0, 0, 0, 0, time.UTC)
	out := []string{t.Format(time.DateOnly)}
	if d.d <= 12 && d.d != d.m {
		out = append(out, fmt.Sprintf("%04d-%02d-%02d", d.y, d.d, d.m))
	}
	for k := -3; k <= 3; k++ {
		if s := t.AddDate(0, 0, k).Format(time.DateOnly); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
