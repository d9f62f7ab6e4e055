package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// CheckJSON refuses JSON that a lenient decoder would silently change:
// invalid UTF-8 (replaced by U+FFFD), a key twice in one object, at any
// depth (last one wins), and anything after the one JSON value (ignored).
// Syntax errors are left to the decoder. root names the value in the error,
// e.g. "Observation" or "body"; errors are *records.FieldError of kind
// records.ErrMalformed, located at the offending member.
func CheckJSON(body []byte, root string) error {
	if !utf8.Valid(body) {
		return malformedAt(root, "invalid UTF-8 at byte offset %d", invalidUTF8At(body))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		path         string
		object, list bool
		keys         map[string]bool
		lastKey      string
		index        int
		wantKey      bool
	}
	stack := []*frame{{path: root}}
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if len(stack) == 1 && values == 1 {
				return malformedAt(root, "data after the JSON value at byte offset %d", dec.InputOffset())
			}
			return nil // a syntax error: the decoder reports it with its offset
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		top := stack[len(stack)-1]
		if top.object && top.wantKey {
			k, _ := tok.(string)
			if top.keys[k] {
				return malformedAt(top.path+"."+k, "the key %q appears twice in one object", k)
			}
			top.keys[k], top.lastKey, top.wantKey = true, k, false
			continue
		}
		here := top.path
		switch {
		case top.object:
			here, top.wantKey = top.path+"."+top.lastKey, true
		case top.list:
			here = top.path + "[" + strconv.Itoa(top.index) + "]"
			top.index++
		default:
			if values++; values > 1 {
				return malformedAt(root, "data after the JSON value at byte offset %d", dec.InputOffset())
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{path: here, object: true, keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{path: here, list: true})
		}
	}
}

// invalidUTF8At returns the byte offset of the first invalid UTF-8 sequence in b.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}
