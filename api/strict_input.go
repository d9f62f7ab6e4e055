package api

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/nutrition"
)

// Limits of the free text of the nutrition endpoints, in characters.
const (
	maxReasonLength = 1_000 // a reason for a status change or a discharge
	maxLabelLength  = 200   // a site, an administrative area
	maxCriteria     = 16
)

// admissionCriteria are the criteria an admission may name: the
// anthropometric and clinical ones of the classification, and the infant
// ones of MAMI.
var admissionCriteria = append([]string{"whz", "waz", "haz", "baz", "whz_else_baz", "muac_mm", "oedema"}, nutrition.InfantCriterionCodes...)

// checkText reports a string longer than limit characters at field.
func checkText(field, v string, limit int) error {
	if len(v) <= limit {
		return nil
	}
	if n := utf8.RuneCountInString(v); n > limit {
		return &records.FieldError{Field: field, Reason: fmt.Sprintf("%d characters, at most %d allowed", n, limit)}
	}
	return nil
}

// checkAdmit validates every field of an admission at once: the date
// (YYYY-MM-DD, from 1900 to tomorrow, server time), the criteria (known
// codes), the lengths of site and admin_area.
func checkAdmit(req AdmitRequest, now time.Time) (time.Time, error) {
	var errs []error
	var date time.Time
	if req.Patient == "" {
		errs = append(errs, &records.FieldError{Field: "patient", Reason: "missing"})
	}
	if req.Date != "" {
		d, err := time.Parse(time.DateOnly, req.Date)
		switch {
		case err != nil:
			errs = append(errs, &records.FieldError{Field: "date", Reason: "want YYYY-MM-DD"})
		case d.Before(fhir.EarliestDate) || d.After(now.UTC().AddDate(0, 0, 1)):
			errs = append(errs, &records.FieldError{Field: "date", Reason: "want a date from 1900-01-01 to today"})
		default:
			date = d
		}
	}
	if len(req.Criteria) > maxCriteria {
		errs = append(errs, &records.FieldError{Field: "criteria", Reason: fmt.Sprintf("at most %d criteria", maxCriteria)})
	} else {
		for i, c := range req.Criteria {
			if !slices.Contains(admissionCriteria, c) {
				errs = append(errs, &records.FieldError{Field: fmt.Sprintf("criteria[%d]", i), Reason: fmt.Sprintf("unknown criterion; want one of %q", admissionCriteria)})
			}
		}
	}
	errs = append(errs, checkText("site", req.Site, maxLabelLength), checkText("admin_area", req.AdminArea, maxLabelLength))
	return date, errors.Join(errs...)
}

// checkPeriod validates the [from, to) of a report: from no earlier than
// 1900, to at most a year ahead of now (a report grouped by month has a
// row per month, so an open range such as 0001-01-01 to 9999-12-31 would
// make over a hundred thousand of them). Both are reported at once.
func checkPeriod(from, to, now time.Time) error {
	var errs []error
	if from.Before(fhir.EarliestDate) {
		errs = append(errs, &records.FieldError{Field: "from", Reason: "want a date from 1900-01-01"})
	}
	if to.After(now.UTC().AddDate(1, 0, 0)) {
		errs = append(errs, &records.FieldError{Field: "to", Reason: "want a date at most a year ahead"})
	}
	return errors.Join(errs...)
}
