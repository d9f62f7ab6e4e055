package mongo

import (
	"strings"

	gojson "github.com/goccy/go-json"

	"contigo/internal/intern"
	"contigo/records"
)

// The resource documents and lists of strings this package wrote with
// encoding/json are read with github.com/goccy/go-json, which reads them
// more than twice as fast (4.0 against 9.6 µs for a Patient's document,
// with the copies below). A record read decodes every resource version of
// its commits, and the embedded engine's warm-up every Patient, Flag and
// list of the country once per start: at 100,000 persons encoding/json's
// decoding was more than a quarter of that warm-up's CPU. Only data
// encoding/json wrote goes through it (valid JSON, valid UTF-8);
// TestUnmarshalEqualsEncodingJSON and FuzzUnmarshalResourceDoc check that
// both read it to the same values.
//
// go-json returns a string without escapes as a view of its copy of the
// whole input, so one kept search key would keep a whole document alive
// (TestDecodedStringsOwnTheirMemory). What is decoded here is therefore
// copied out: names of types and keys interned (internal/intern; a handful
// of values), the other strings cloned.

// decodeResourceDoc decodes a resource document (encodeResource). Its
// Body may be a view of the input: the callers copy it into the
// resource's []byte.
func decodeResourceDoc(raw string) (resourceDoc, error) {
	var rd resourceDoc
	if err := gojson.Unmarshal([]byte(raw), &rd); err != nil {
		return resourceDoc{}, err
	}
	rd.Type, rd.ID = intern.String(rd.Type), strings.Clone(rd.ID)
	if rd.Keys != nil {
		keys := make(records.Keys, len(rd.Keys))
		for name, vals := range rd.Keys {
			for i, v := range vals {
				vals[i] = strings.Clone(v)
			}
			keys[intern.String(name)] = vals
		}
		rd.Keys = keys
	}
	return rd, nil
}

// decodeStrings decodes a JSON array of strings.
func decodeStrings(raw string) ([]string, error) {
	var out []string
	if err := gojson.Unmarshal([]byte(raw), &out); err != nil {
		return nil, err
	}
	for i, s := range out {
		out[i] = strings.Clone(s)
	}
	return out, nil
}
