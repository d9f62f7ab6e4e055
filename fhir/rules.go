package fhir

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// parser applies the per-type rules to one resource and collects its Keys.
type parser struct {
	typ     string
	now     time.Time
	bundled bool // urn:uuid references are allowed
	keys    records.Keys
	errs    []error // broken rules noted so far: one answer names them all
}

// note records err, a broken rule, if not nil; the rules go on so that one
// OperationOutcome names every broken field.
func (p *parser) note(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

func (p *parser) add(key string, values ...string) {
	for _, v := range values {
		if v != "" && !slices.Contains(p.keys[key], v) {
			p.keys[key] = append(p.keys[key], v)
		}
	}
}

// check decodes body into samply's struct (walk has already checked its
// shape) and applies the rules of its type.
func (p *parser) check(body []byte) error {
	switch p.typ {
	case "Patient":
		return decodeAnd(body, p.patient)
	case "Observation":
		return decodeAnd(body, p.observation)
	case "Encounter":
		return decodeAnd(body, p.encounter)
	case "Condition":
		return decodeAnd(body, p.condition)
	case "EpisodeOfCare":
		return decodeAnd(body, p.episodeOfCare)
	case "Procedure":
		return decodeAnd(body, p.procedure)
	case "MedicationAdministration":
		return decodeAnd(body, p.medicationAdministration)
	case "Flag":
		return decodeAnd(body, p.flag)
	case "Consent":
		return decodeAnd(body, p.consent)
	}
	return invalidAt("resourceType", "resource type %q is not supported", p.typ)
}

func decodeAnd[T any](body []byte, rules func(*T) error) error {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return malformedAt("", "decode: %v", err)
	}
	return rules(&v)
}

// checkAll runs check and returns every broken rule it noted, in order,
// with the one it returned (nil if none).
func (p *parser) checkAll(body []byte) error {
	err := p.check(body)
	if len(p.errs) == 0 {
		return err
	}
	if err != nil {
		p.errs = append(p.errs, err)
	}
	if len(p.errs) == 1 {
		return p.errs[0]
	}
	return joined(p.errs)
}

// EarliestDate is the earliest date a record holds: an earlier one (e.g.
// 0001-01-01, a default of a client's date type) is a typing error.
var EarliestDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// date checks an optional date element: its form and that it is not in the
// future. It returns the search key ("" when s is nil).
func (p *parser) date(s *string, path string, dateOnly bool) (string, error) {
	if s == nil {
		return "", nil
	}
	d, ok := parseDate(*s, dateOnly)
	if !ok {
		if dateOnly {
			return "", invalidAt(path, "want a date YYYY, YYYY-MM or YYYY-MM-DD")
		}
		return "", invalidAt(path, "want a dateTime YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone")
	}
	if d.start.After(p.now.Add(futureSlack)) {
		return "", invalidAt(path, "date is in the future")
	}
	if d.end.Before(EarliestDate) {
		return "", invalidAt(path, "date before 1900: not a date of this record (a typing error?)")
	}
	return d.key, nil
}

// period checks a Period and returns the key of its start. Only the start
// must not be in the future (a planned end may be); end must not precede it.
func (p *parser) period(pd *r4.Period, path string, endMayBeFuture bool) (string, error) {
	if pd == nil {
		return "", nil
	}
	start, err := p.date(pd.Start, path+".start", false)
	if err != nil {
		return "", err
	}
	if pd.End != nil {
		end, ok := parseDate(*pd.End, false)
		if !ok {
			return "", invalidAt(path+".end", "want a dateTime YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone")
		}
		if end.end.Before(EarliestDate) {
			return "", invalidAt(path+".end", "date before 1900: not a date of this record (a typing error?)")
		}
		if !endMayBeFuture && end.start.After(p.now.Add(futureSlack)) {
			return "", invalidAt(path+".end", "date is in the future")
		}
		if pd.Start != nil {
			s, _ := parseDate(*pd.Start, false)
			if end.end.Before(s.start) || end.end.Equal(s.start) {
				return "", invalidAt(path+".end", "period ends before it starts")
			}
		}
	}
	return start, nil
}

// subject checks the reference to the person a resource is about and adds
// the subject key.
func (p *parser) subject(ref *r4.Reference, path string) error {
	if ref == nil {
		return invalidAt(path, "required element %s is missing", path[strings.LastIndexByte(path, '.')+1:])
	}
	if ref.Reference == nil {
		return invalidAt(path, `want a literal reference "Patient/<id>"`)
	}
	s := *ref.Reference
	switch {
	case strings.HasPrefix(s, "Patient/") && validID(s[len("Patient/"):]):
	case p.bundled && isURNUUID(s):
	default:
		if p.bundled {
			return invalidAt(path, `want a reference "Patient/<id>" or the urn:uuid of a Patient in this Bundle`)
		}
		return invalidAt(path, `want a reference "Patient/<id>"`)
	}
	if ref.Type != nil && *ref.Type != "Patient" {
		return invalidAt(path+".type", "a subject here must be a Patient")
	}
	p.add("subject", s)
	return nil
}

// isURNUUID reports whether s is urn:uuid: followed by a UUID.
func isURNUUID(s string) bool {
	u, ok := strings.CutPrefix(s, "urn:uuid:")
	if !ok || len(u) != 36 {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// tokens adds the token keys of CodeableConcepts under name: "system|code"
// (or "|code"), and the bare code under name+":code".
func (p *parser) tokens(name string, ccs ...*r4.CodeableConcept) {
	for _, cc := range ccs {
		if cc == nil {
			continue
		}
		for _, c := range cc.Coding {
			p.coding(name, &c)
		}
	}
}

func (p *parser) coding(name string, c *r4.Coding) {
	if c == nil || c.Code == nil {
		return
	}
	sys := ""
	if c.System != nil {
		sys = *c.System
	}
	p.add(name, sys+"|"+*c.Code)
	p.add(name+":code", *c.Code)
}

func ptrs[T any](s []T) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}
