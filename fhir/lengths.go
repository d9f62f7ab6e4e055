package fhir

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"contigo/records"
)

// Limits on the length of strings in a resource, in characters (Unicode
// code points): a record is read on tablets over slow links, and a field
// of megabytes is a mistake or an attack.
const (
	// MaxStringLength bounds every string element: names, identifiers,
	// codes, free text (note, comment, description, valueString...).
	MaxStringLength = 10_000
	// MaxNarrativeLength bounds the XHTML narrative (text.div).
	MaxNarrativeLength = 65_536
	// maxLengthIssues bounds the issues one resource gets for long strings.
	maxLengthIssues = 20
)

// checkLengths reports every string of v longer than its limit, one
// *records.FieldError (ErrInvalid: 422) each, located at the element, e.g.
// Observation.note[0].text. Attachment data (base64) is bounded by the
// request body limit only.
func checkLengths(v any, path string) error {
	var errs []*records.FieldError
	var walk func(v any, path, key string)
	walk = func(v any, path, key string) {
		if len(errs) >= maxLengthIssues {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(x, path+"."+k, k)
			}
		case []any:
			for i, x := range t {
				walk(x, path+"["+strconv.Itoa(i)+"]", key)
			}
		case string:
			limit := MaxStringLength
			switch key {
			case "data":
				return
			case "div":
				limit = MaxNarrativeLength
			}
			if len(t) > limit { // bytes >= characters: count only long ones
				if n := utf8.RuneCountInString(t); n > limit {
					errs = append(errs, &records.FieldError{Field: path, Reason: fmt.Sprintf("%d characters, at most %d allowed", n, limit)})
				}
			}
		}
	}
	walk(v, path, "")
	slices.SortFunc(errs, func(a, b *records.FieldError) int { return strings.Compare(a.Field, b.Field) })
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}
