package fhir

import (
	"errors"
	"testing"

	"contigo/records"
)

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body, field string
	}{
		{`{"a":1,"b":[{"c":1},{"c":2}]}`, ""},
		{`{"a":1,"a":2}`, "X.a"},
		{`{"resourceType":"Observation","code":{"text":"x"},"resourceType":"Patient"}`, "X.resourceType"},
		{`{"b":[{"c":1},{"d":{"e":1,"e":2}}]}`, "X.b[1].d.e"},
		{`{"a":1} {"a":2}`, "X"},
		{`{"a":1} x`, "X"},
		{`{"a":1 x`, ""}, // a syntax error, left to the decoder
		{"{\"a\":\"\xff\"}", "X"},
	} {
		err := CheckJSON([]byte(c.body), "X")
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		fe, ok := errors.AsType[*records.FieldError](err)
		if !ok || fe.Field != c.field || !errors.Is(err, records.ErrMalformed) {
			t.Errorf("%q: %v, want malformed at %s", c.body, err, c.field)
		}
	}
}

func FuzzCheckJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":2}],"c":"d"}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = CheckJSON(b, "X")
	})
}

func TestNormalizeIdentifier(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" UNI-Jose\u0301-1\u200b ": "UNI-José-1",
		"ＡＢ－１２":                    "AB-12",
		"ab\u2013c":                "ab-c",
		"  X-1\t":                  "X-1",
		"\u200b":                   "",
	} {
		if got := NormalizeIdentifier(in); got != want {
			t.Errorf("NormalizeIdentifier(%q) = %q, want %q", in, got, want)
		}
	}
}
