package nutrition

import (
	"maps"
	"sort"
	"time"

	"contigo/records"
)

// A Tally is one indicator query (a period and a grouping) with the sum of
// what the persons added to it contribute. Indicators count each person
// once per group, from that person's Facts alone, so the rows over a set
// of persons are the sum of each person's part: a Tally kept beside a set
// of Facts follows a change of one person by Remove of the old Facts and
// Add of the new, at the cost of that person's events instead of a pass
// over every person. Rows of a Tally equal IndicatorsOf over the Facts
// added and not removed. A Tally is not safe for concurrent use.
type Tally struct {
	by     string
	lo, hi time.Time
	g      *grouper
	refs   []int // per row: the events counted in it (a row with none is left out)
	marks  []mark
}

// mark is the bits one person sets in one row.
type mark struct{ row, bits int }

// NewTally returns an empty Tally for events dated in [from, to) (calendar
// dates) grouped by by, as Indicators takes them. It returns a
// *records.FieldError for an unknown by or an empty period.
func NewTally(from, to time.Time, by string) (*Tally, error) {
	switch by {
	case "", "all", ByMonth, ByAdminArea, BySex, ByAgeBand, ByPopGroup:
	default:
		return nil, &records.FieldError{Field: "by", Reason: "must be month, admin_area, sex, age_band or population_group"}
	}
	lo, hi := dateOnly(from), dateOnly(to)
	if !lo.Before(hi) {
		return nil, &records.FieldError{Field: "to", Reason: "must be after from"}
	}
	t := &Tally{by: by, lo: lo, hi: hi, g: newGrouper(by)}
	if by == ByMonth {
		for d := lo; d.Before(hi); d = d.AddDate(0, 1, 0) {
			t.g.row(time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC), "", "", "", "")
		}
	}
	return t, nil
}

// Add counts the person whose facts are f.
func (t *Tally) Add(f *Facts) { t.apply(f, 1) }

// Remove takes back the count of a person added with facts f (equal to
// those given to Add).
func (t *Tally) Remove(f *Facts) { t.apply(f, -1) }

// row returns the index of the row of an event, counting the event in it.
func (t *Tally) row(d time.Time, area, sex, band, pop string, sign int) int {
	i := t.g.row(d, area, sex, band, pop)
	for len(t.refs) <= i {
		t.refs = append(t.refs, 0)
	}
	t.refs[i] += sign
	return i
}

// in reports whether the calendar date d (stored dates are at midnight
// UTC, dateOnly) is in the period.
func (t *Tally) in(d time.Time) bool { return !d.Before(t.lo) && d.Before(t.hi) }

// apply counts (sign 1) or uncounts (sign -1) the person with facts f.
func (t *Tally) apply(f *Facts, sign int) {
	t.marks = t.marks[:0]
	add := func(row, bits int) {
		for i := range t.marks {
			if t.marks[i].row == row {
				t.marks[i].bits |= bits
				return
			}
		}
		t.marks = append(t.marks, mark{row, bits})
	}
	for ai := range f.Screens {
		a := &f.Screens[ai]
		if t.in(a.Date) {
			add(t.row(a.Date, a.Area, a.Sex, a.AgeBand, a.Pop, sign), a.Bits)
		}
	}
	for ei := range f.Eps {
		ep := &f.Eps[ei]
		if t.in(ep.Admission) {
			i := t.row(ep.Admission, ep.Area, ep.Sex, ep.AgeBand, ep.Pop, sign) // before reading t.g.rows, which it may grow
			r := t.g.rows[i]
			if r.Admissions[ep.Programme] += sign; r.Admissions[ep.Programme] == 0 {
				delete(r.Admissions, ep.Programme)
			}
			r.AdmissionsTotal += sign
			switch ep.AdmissionType {
			case AdmissionReturnAfterDefault:
				r.ReturnsAfterDefault += sign
			case AdmissionTransferIn:
				r.TransfersIn += sign
			}
			if ep.Relapse {
				r.Relapses += sign
			}
		}
		if !ep.Open && t.in(ep.OutcomeDate) {
			i := t.row(ep.OutcomeDate, ep.Area, ep.Sex, ep.AgeBand, ep.Pop, sign)
			r := t.g.rows[i]
			switch ep.Programme {
			case ProgrammeOTP, ProgrammeInpatient:
				r.ExitsSevere.count(ep.Outcome, sign)
			case ProgrammeTSFP:
				r.ExitsModerate.count(ep.Outcome, sign)
			}
		}
	}
	for ii := range f.Ivs {
		iv := &f.Ivs[ii]
		if !t.in(iv.Date) {
			continue
		}
		row := t.row(iv.Date, iv.Area, f.Sex, f.AgeBand, f.Pop, sign)
		switch iv.Kind {
		case InterventionRUTF, InterventionRUSF, InterventionSFF:
			add(row, bitFood)
		case InterventionVitaminA, InterventionMNP:
			add(row, bitChildMicro)
		case InterventionIFA:
			add(row, bitPLWMicro)
		case InterventionIYCFCounselling:
			add(row, bitIYCF)
		case InterventionPLWCounselling:
			add(row, bitPLWCounsel)
		case InterventionReferral:
			t.g.rows[row].ReferralsMade += sign
			if iv.Completed {
				t.g.rows[row].ReferralsCompleted += sign
			}
		}
	}
	for _, m := range t.marks {
		t.g.rows[m.row].addBits(m.bits, sign)
	}
}

// Rows returns the indicator rows, sorted by group, with the rates and
// Sphere comparisons of rs: every month of the period with ByMonth, else
// the groups with an event counted. The rows are copies.
func (t *Tally) Rows(rs *RuleSet) []IndicatorRow {
	out := make([]IndicatorRow, 0, len(t.g.rows))
	for i, r := range t.g.rows {
		if t.by != ByMonth && (i >= len(t.refs) || t.refs[i] == 0) {
			continue // every count of a row without events is 0
		}
		row := *r
		row.Admissions = maps.Clone(r.Admissions)
		row.ExitsSevere.rates(rs, rs.Sphere.DeathLTSevere)
		row.ExitsModerate.rates(rs, rs.Sphere.DeathLTMod)
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}
