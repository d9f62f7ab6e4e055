package fhir

import (
	"errors"
	"strings"
	"testing"
	"time"

	"contigo/records"
)

// A narrative may hold 65,536 characters, any other string 10,000, counted
// in characters (not bytes); attachment data is not bounded here.
func TestLengthLimits(t *testing.T) {
	div := func(n int) string {
		return `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("a", n) + `</div>"}}`
	}
	now := time.Now()
	if _, err := Parse([]byte(div(60_000)), "Patient", now); err != nil {
		t.Errorf("narrative of 60,000: %v", err)
	}
	_, err := Parse([]byte(div(65_537)), "Patient", now)
	if fe, ok := errors.AsType[*records.FieldError](err); !ok || fe.Field != "Patient.text.div" || !errors.Is(err, records.ErrInvalid) {
		t.Errorf("narrative of 65,537+: %v", err)
	}
	if _, err := Parse([]byte(`{"resourceType":"Patient","name":[{"family":"`+strings.Repeat("ñ", 10_000)+`"}]}`), "Patient", now); err != nil {
		t.Errorf("10,000 characters (20,000 bytes): %v", err)
	}
	_, err = Parse([]byte(`{"resourceType":"Patient","name":[{"family":"`+strings.Repeat("ñ", 10_001)+`"}]}`), "Patient", now)
	if fe, ok := errors.AsType[*records.FieldError](err); !ok || fe.Field != "Patient.name[0].family" {
		t.Errorf("10,001 characters: %v", err)
	}
}
