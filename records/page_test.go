package records_test

import (
	"errors"
	"testing"

	"contigo/records"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseCursor: any token either parses and round-trips, or is
// rejected as ErrMalformed; nothing panics.
func FuzzParseCursor(f *testing.F) {
	f.Add(records.Cursor{Values: []string{"2026-01-01"}, ID: "p1"}.String())
	f.Add(records.Cursor{ID: "x"}.String())
	f.Add("")
	f.Add("%%%")
	f.Add("eyJ2IjpudWxsfQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := records.ParseCursor(s)
		if err != nil {
			if !errors.Is(err, records.ErrMalformed) {
				t.Fatalf("ParseCursor(%q): %v does not match ErrMalformed", s, err)
			}
			return
		}
		again, err := records.ParseCursor(c.String())
		if err != nil {
			t.Fatalf("re-parse of %+v: %v", c, err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}
