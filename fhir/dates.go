package fhir

import (
	"strings"
	"time"
)

// A fhirDate is a FHIR date or dateTime, parsed: key is its search key
// (the date as given, or the UTC instant in TimeFormat when it has a time),
// start the first instant it covers and end the first instant after it.
type fhirDate struct {
	key        string
	start, end time.Time
}

// parseDate reads a FHIR date (dateOnly) or dateTime/instant: YYYY,
// YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss[.fff] with a time zone, as
// FHIR requires. withMinutes also accepts hh:mm without seconds (search).
func parseDate(s string, dateOnly bool) (fhirDate, bool) {
	return parseDateOpt(s, dateOnly, false)
}

func parseDateOpt(s string, dateOnly, withMinutes bool) (fhirDate, bool) {
	var (
		t    time.Time
		err  error
		next func(time.Time) time.Time
		tz   bool
	)
	switch {
	case len(s) == 4:
		t, err = time.Parse("2006", s)
		next = func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	case len(s) == 7:
		t, err = time.Parse("2006-01", s)
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	case len(s) == 10:
		t, err = time.Parse("2006-01-02", s)
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case dateOnly || len(s) < 17 || s[10] != 'T':
		return fhirDate{}, false
	case withMinutes && validMinutes(s):
		t, _ = time.Parse("2006-01-02T15:04Z07:00", s)
		next = func(t time.Time) time.Time { return t.Add(time.Minute) }
		tz = true
	default:
		t, err = time.Parse(time.RFC3339Nano, s)
		next = func(t time.Time) time.Time { return t.Add(time.Second) }
		if strings.Contains(s, ".") {
			next = func(t time.Time) time.Time { return t.Add(time.Millisecond) }
		}
		tz = true
	}
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return fhirDate{}, false
	}
	d := fhirDate{key: s, start: t.UTC(), end: next(t).UTC()}
	if tz {
		d.key = t.UTC().Format(TimeFormat)
	}
	return d, true
}

func validMinutes(s string) bool {
	_, err := time.Parse("2006-01-02T15:04Z07:00", s)
	return err == nil
}

// futureSlack is how far ahead of the clock a date may be (clock skew
// between a mobile unit and the server): nutrition-rules.md §6.
const futureSlack = 24 * time.Hour
