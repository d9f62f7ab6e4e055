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
// records person may match (the blocking step of $match). Every condition
// is an equality on a key the fhir package writes (package namekey), so
// that each search is an index lookup:
//
//   - any of its identifiers;
//   - the sound of a given name and of a surname (no birth date needed:
//     it finds records without one, or with a wrong one);
//   - for a person with one surname or without a full birth date, the
//     sound of a given name and the first letter of a surname
//     (given:initial: the one surname left may be mistyped);
//   - the sound of both surnames together (family:pair: the given names
//     may not overlap, "María" on one side and "José" on the other);
//   - the sound of a surname, born on the birth date, the date with day
//     and month swapped, or up to three days either side (a dropped or
//     changed surname and no given name in common, as with first-only and
//     second-only given names);
//   - the sound of a given name, born on one of those dates (every surname
//     changed: a married woman, or surnames written in another order);
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
	gc, fc := namekey.Codes(namekey.Words(given...)), namekey.Codes(namekey.Words(family...))
	var out []records.Query
	query := func(conds ...records.Cond) {
		out = append(out, records.Query{Type: "Patient", Count: CandidatePage, Conds: conds})
	}
	eq := func(key string, values []string) records.Cond {
		return records.Cond{Key: key, Op: records.OpEq, Values: values}
	}
	if len(p.Identifiers) > 0 {
		query(eq("identifier", p.Identifiers))
	}
	if len(gc) > 0 && len(fc) > 0 {
		query(eq(namekey.GivenCode, gc), eq(namekey.FamilyCode, fc))
	}
	d := parseDate(p.BirthDate)
	if gi := namekey.Initials(gc, namekey.Words(family...)); len(gi) > 0 && (len(fc) < 2 || d.precision < 3) {
		query(eq(namekey.GivenInitial, gi))
	}
	if pairs := namekey.Pairs(fc); len(pairs) > 0 {
		query(eq(namekey.FamilyPair, pairs))
	}
	switch {
	case d.precision == 3:
		dates := nearDates(d)
		if len(fc) > 0 {
			query(eq(namekey.FamilyCode, fc), eq("birthdate", dates))
		}
		if len(gc) > 0 {
			query(eq(namekey.GivenCode, gc), eq("birthdate", dates))
		}
	case d.precision > 0 && len(fc) > 0:
		query(eq(namekey.FamilyCode, fc), eq(namekey.BirthYear, []string{fmt.Sprintf("%04d", d.y)}))
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
