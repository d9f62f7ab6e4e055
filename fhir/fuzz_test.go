package fhir

import (
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"contigo/records"
)

// FuzzParse: Parse never panics, rejects with ErrMalformed or ErrInvalid
// only, and what it accepts renders and parses again to the same Keys and
// Body.
func FuzzParse(f *testing.F) {
	for _, s := range []string{patientJSON, weightJSON, encounterJSON, conditionJSON, episodeJSON, procedureJSON, medAdminJSON, flagJSON, consentJSON,
		`{}`, `[]`, `null`, `{"resourceType":"Patient","birthDate":"2020"}`, `{"resourceType":"Patient","name":[{"given":["é"]}]}`,
		`{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"id":"g"}],"_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-fathers-family","valueString":"Rojas"}]}}],"_birthDate":{"id":"b"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Parse(body, "", testNow)
		if err != nil {
			if !errors.Is(err, records.ErrMalformed) && !errors.Is(err, records.ErrInvalid) {
				t.Fatalf("Parse: %v: neither ErrMalformed nor ErrInvalid", err)
			}
			return
		}
		r.ID, r.Version, r.Updated = "x1", 1, testNow
		out, err := Render(r)
		if err != nil {
			t.Fatalf("Render of accepted input: %v", err)
		}
		again, err := Parse(out, r.Type, testNow)
		if err != nil {
			t.Fatalf("Parse(Render(%s)) = %v\nrendered %s", body, err, out)
		}
		if diff := cmp.Diff(r.Keys, again.Keys); diff != "" {
			t.Errorf("Keys changed on a round trip (-first +second):\n%s", diff)
		}
		if string(again.Body) != string(r.Body) {
			t.Errorf("Body changed on a round trip:\n%s\n%s", r.Body, again.Body)
		}
	})
}

// FuzzParseSearch: ParseSearch never panics, rejects with FieldErrors of
// known kinds, and what it accepts yields only known operators, and a
// cursor-free Params that parses again to the same query.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"name=jose", "birthdate=ge2020&birthdate=lt2021-05", "identifier=sys|v,w", "_sort=-_lastUpdated&_count=5",
		"subject=Patient/p1&code=|x", "_cursor=WyJhIl0", "date=eq2026-01-10T10:00:00Z", `name=a\,b`} {
		f.Add("Patient", s)
		f.Add("Observation", s)
	}
	f.Fuzz(func(t *testing.T, typ, query string) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, err := ParseSearch(typ, params)
		if err != nil {
			if _, ok := errors.AsType[*records.FieldError](err); !ok {
				t.Fatalf("ParseSearch: %v is not a FieldError", err)
			}
			if !errors.Is(err, records.ErrMalformed) && !errors.Is(err, records.ErrNotSupported) {
				t.Fatalf("ParseSearch: %v: unexpected kind", err)
			}
			return
		}
		for _, c := range req.Query.Conds {
			if c.Op > records.OpLt || len(c.Values) == 0 || c.Key == "" {
				t.Fatalf("bad cond %+v", c)
			}
		}
		if req.Query.Count < 1 || req.Query.Count > MaxCount {
			t.Fatalf("Count = %d", req.Query.Count)
		}
		again, err := ParseSearch(typ, req.Params)
		if err != nil {
			t.Fatalf("ParseSearch(Params %v): %v", req.Params, err)
		}
		if diff := cmp.Diff(req.Query.Conds, again.Query.Conds); diff != "" {
			t.Errorf("Conds differ (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseBundle: ParseBundle and AssignIDs never panic and reject with
// the known kinds only.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(visitJSON))
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/p1"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseBundle(body, testNow)
		if err == nil {
			err = AssignIDs(b, b.TxnKey(), nil)
		}
		if err != nil && !errors.Is(err, records.ErrMalformed) && !errors.Is(err, records.ErrInvalid) {
			t.Fatalf("%v: neither ErrMalformed nor ErrInvalid", err)
		}
	})
}
