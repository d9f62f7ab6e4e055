package fhir

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// Paging limits of searches.
const (
	DefaultCount = 20  // page size when _count is not given
	MaxCount     = 100 // larger _count values are lowered to this
)

// paramKind says how a search parameter's values become Conds.
type paramKind int

const (
	kindToken     paramKind = iota // system|code, |code or code
	kindString                     // case- and accent-insensitive prefix
	kindDate                       // prefixes eq, ge, le, gt, lt over sortable strings
	kindReference                  // Patient/<id> or <id>
	kindCode                       // a bare code (status, gender); system|code accepted
	kindID                         // _id
	kindEncounter                  // Encounter/<id> or <id>
	kindQuantity                   // [prefix]number[|system|code], see quantity.go
)

type param struct {
	kind paramKind
	key  string // the Keys name
	sort bool   // may be used in _sort: by key, or by key+":sort" for names
}

var (
	pSubject   = param{kindReference, "subject", true}
	pStatus    = param{kindCode, "status", true}
	pDate      = param{kindDate, "date", true}
	pCode      = param{kindToken, "code", false}
	pCategory  = param{kindToken, "category", false}
	pEncounter = param{kindEncounter, "encounter", false}
	pCommon    = map[string]param{
		"_id":          {kindID, "_id", true},
		"_lastUpdated": {kindDate, "_lastUpdated", true},
	}
)

// searchParams are the search parameters of each type, beside _id and
// _lastUpdated: the names and types of the R4 search parameter registry
// (http://hl7.org/fhir/R4/searchparameter-registry.html), plus a few
// aliases kept for existing clients (Condition status = clinical-status;
// subject on EpisodeOfCare and Consent = patient; Flag status;
// MedicationAdministration date = effective-time). CapabilityStatement
// lists the same.
var searchParams = map[string]map[string]param{
	"Patient": {
		"identifier":         {kindToken, "identifier", false},
		"name":               {kindString, "name", true},
		"family":             {kindString, "family", true},
		"given":              {kindString, "given", true},
		"birthdate":          {kindDate, "birthdate", true},
		"gender":             {kindCode, "gender", true},
		"address":            {kindString, "address", false},
		"address-city":       {kindString, "address-city", false},
		"address-state":      {kindString, "address-state", false},
		"address-country":    {kindString, "address-country", false},
		"address-postalcode": {kindString, "address-postalcode", false},
	},
	"Observation": {
		"subject": pSubject, "patient": pSubject,
		"code":           pCode,
		"category":       pCategory,
		"date":           pDate,
		"status":         pStatus,
		"encounter":      pEncounter,
		"value-quantity": {kindQuantity, "value-quantity", false},
	},
	"Encounter": {"subject": pSubject, "patient": pSubject, "date": pDate, "status": pStatus,
		"class": {kindToken, "class", false}, "type": {kindToken, "type", false}},
	"EpisodeOfCare": {"patient": pSubject, "subject": pSubject, "status": pStatus, "date": pDate,
		"type": {kindToken, "type", false}},
	"Condition": {"subject": pSubject, "patient": pSubject, "code": pCode, "category": pCategory,
		"clinical-status":     pStatus,
		"status":              pStatus,
		"verification-status": {kindToken, "verification-status", false},
		"onset-date":          {kindDate, "onset-date", true},
		"recorded-date":       {kindDate, "recorded-date", true},
		"encounter":           pEncounter},
	"Flag": {"subject": pSubject, "patient": pSubject, "status": pStatus, "date": pDate, "encounter": pEncounter,
		"identifier": {kindToken, "identifier", false}},
	"Procedure": {"subject": pSubject, "patient": pSubject, "status": pStatus, "date": pDate,
		"code": pCode, "category": pCategory, "encounter": pEncounter},
	"MedicationAdministration": {"subject": pSubject, "patient": pSubject, "status": pStatus,
		"effective-time": pDate, "date": pDate, "code": pCode,
		"context": {kindEncounter, "encounter", false}},
	"Consent": {"patient": pSubject, "subject": pSubject, "status": pStatus, "date": pDate, "category": pCategory},
}

// paramOf returns the definition of parameter name of typ.
func paramOf(typ, name string) (param, bool) {
	if p, ok := pCommon[name]; ok {
		return p, true
	}
	p, ok := searchParams[typ][name]
	return p, ok
}

// SearchRequest is a parsed search: the records query plus what shapes the
// result Bundle.
type SearchRequest struct {
	Query   records.Query
	Summary string     // "count" for _summary=count (or _count=0), else ""
	Params  url.Values // the accepted parameters without _cursor: the base of paging links
	// Path is the search's path under the base for the links ("" means
	// Query.Type; "Patient/X/Observation" for a compartment search).
	Path string
	// Subset is what _summary (true, text, data) and _elements ask of
	// each match; see Subset.
	Subset Subset
	// Total is _total: "none", "estimate", "accurate" or "" (not given).
	Total string
	// Include and RevInclude are the _include and _revinclude values.
	Include, RevInclude []Include
	// Chains are the chained parameters (subject.identifier): the caller
	// resolves each into a subject condition with ResolveChain.
	Chains []Chain
	// Ignored are the parameters left out under lenient handling, as
	// warnings for the Bundle's outcome entry.
	Ignored []Issue
	prev    []string // the cursors that led to this page, oldest first
}

// SearchOptions are how ParseSearchWith treats what it does not support.
type SearchOptions struct {
	// Lenient ignores unknown parameters, modifiers and unsupported
	// _include values (Prefer: handling=lenient), reporting each in
	// SearchRequest.Ignored; otherwise they are errors (handling=strict).
	Lenient bool
}

func searchErr(name, format string, args ...any) error {
	return &records.FieldError{Field: name, Reason: fmt.Sprintf(format, args...), Kind: records.ErrMalformed}
}

// unsupported is an error about a parameter the server does not know or
// support (as opposed to a bad value of a known one): lenient handling
// ignores it.
type unsupported struct{ err error }

func (u unsupported) Error() string { return u.err.Error() }
func (u unsupported) Unwrap() error { return u.err }

func unsupportedErr(name, format string, args ...any) error {
	return unsupported{searchErr(name, format, args...)}
}

// ParseSearch is ParseSearchWith under strict handling.
func ParseSearch(typ string, params url.Values) (SearchRequest, error) {
	return ParseSearchWith(typ, params, SearchOptions{})
}

// ParseSearchWith parses the query parameters of a search on typ. Unknown
// parameters, modifiers or prefixes and bad values are *records.FieldError
// of kind records.ErrMalformed with the parameter as Field (unknown ones
// only warnings with opts.Lenient); a type that cannot be searched is
// ErrNotSupported. Values only ever become Cond values, never operators.
// Repeated parameters are ANDed, comma-separated values ORed (not for
// dates).
//
// Dates compare as strings over the keys (see the package doc): with d's
// first instant lo and the first instant after it hi (eq2020: lo "2020",
// hi "2021"), eq is lo <= key < hi, ge key >= lo, gt key >= hi, lt key < lo
// and le key < hi. A stored value less precise than the search value (a
// birth date "2020" against ge2020-05) compares by its first instant.
func ParseSearchWith(typ string, params url.Values, opts SearchOptions) (SearchRequest, error) {
	if searchParams[typ] == nil {
		return SearchRequest{}, &records.FieldError{Field: typ, Reason: "search on " + typ + " is not supported", Kind: records.ErrNotSupported}
	}
	req := SearchRequest{Query: records.Query{Type: typ, Count: DefaultCount}, Params: url.Values{}}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		values := slices.DeleteFunc(slices.Clone(params[name]), func(v string) bool { return v == "" })
		if len(values) == 0 {
			continue // FHIR: a parameter with an empty value is ignored
		}
		err := req.add(name, values)
		if u, ok := errors.AsType[unsupported](err); ok && opts.Lenient {
			req.Ignored = append(req.Ignored, Issue{Severity: r4.IssueSeverityWarning, Code: r4.IssueTypeNotSupported,
				Expression: name, Diagnostics: "ignored (Prefer: handling=lenient): " + fieldReason(u.err)})
			continue
		}
		if err != nil {
			return SearchRequest{}, err
		}
		if name != "_cursor" {
			req.Params[name] = values
		}
	}
	return req, nil
}

func fieldReason(err error) string {
	if fe, ok := errors.AsType[*records.FieldError](err); ok {
		return fe.Reason
	}
	return err.Error()
}

func (req *SearchRequest) add(name string, values []string) error {
	typ := req.Query.Type
	last := values[len(values)-1]
	switch name {
	case "_count":
		n, err := strconv.Atoi(last)
		if err != nil || n < 0 {
			return searchErr(name, "want a page size from 0 to %d", MaxCount)
		}
		if n == 0 {
			req.Summary = "count"
		}
		req.Query.Count = min(max(n, 1), MaxCount)
		return nil
	case "_summary":
		switch last {
		case "count":
			req.Summary = "count"
			return nil
		case "true", "text", "data", "false":
			return req.Subset.setSummary(typ, last)
		}
		return searchErr(name, "want true, text, data, count or false")
	case "_elements":
		return req.Subset.setElements(typ, values)
	case "_total":
		switch last {
		case "none", "estimate", "accurate":
			req.Total = last
			return nil
		}
		return searchErr(name, "want none, estimate or accurate")
	case "_include", "_revinclude", "_include:iterate", "_revinclude:iterate":
		return req.addIncludes(name, values)
	case "_format":
		switch last {
		case "json", "application/json", "application/fhir+json":
			return nil
		}
		return &records.FieldError{Field: name, Reason: "only JSON is supported", Kind: records.ErrNotSupported}
	case "_sort":
		return req.addSort(strings.Join(values, ","))
	case "_cursor":
		return req.addCursor(last)
	}
	if strings.Contains(name, ".") {
		return req.addChain(name, values)
	}
	base, mod, hasMod := strings.Cut(name, ":")
	p, ok := paramOf(typ, base)
	switch {
	case !ok:
		return unsupportedErr(name, "unknown search parameter for %s (supported: %s)", typ, strings.Join(paramNames(typ), ", "))
	case hasMod:
		return unsupportedErr(name, "modifier :%s is not supported", mod)
	}
	for _, v := range values {
		conds, err := p.conds(name, v)
		if err != nil {
			return err
		}
		req.Query.Conds = append(req.Query.Conds, conds...)
	}
	return nil
}

// paramNames lists the search parameters of typ, sorted.
func paramNames(typ string) []string {
	out := []string{"_id", "_lastUpdated"}
	for n := range searchParams[typ] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (req *SearchRequest) addSort(s string) error {
	for f := range strings.SplitSeq(s, ",") {
		desc := strings.HasPrefix(f, "-")
		name := strings.TrimPrefix(f, "-")
		p, ok := paramOf(req.Query.Type, name)
		if !ok || !p.sort {
			return searchErr("_sort", "cannot sort %s by %q", req.Query.Type, name)
		}
		key := p.key
		if p.kind == kindString {
			key += ":sort"
		}
		req.Query.Sort = append(req.Query.Sort, records.SortKey{Key: key, Desc: desc})
	}
	return nil
}

// maxCursors bounds the cursor chain carried in _cursor for previous links.
const maxCursors = 20

// unknownCursor marks a chain whose oldest cursors were dropped.
const unknownCursor = "~"

// SetCursor makes req ask for the page that a _cursor value from one of
// SearchBundle's links points at: it sets Query.After to the store cursor
// inside s, and remembers the pages before for the previous link. It is for
// searches that build their SearchRequest themselves (AuditEvent); the
// store must be given Query.After, never s itself. *records.FieldError of
// kind ErrMalformed if s was not made by SearchBundle.
func (req *SearchRequest) SetCursor(s string) error { return req.addCursor(s) }

// addCursor reads _cursor: base64url of a JSON array of the store cursors
// of every page since the first; the last one is this page's.
func (req *SearchRequest) addCursor(s string) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var chain []string
	if err != nil || json.Unmarshal(b, &chain) != nil || len(chain) == 0 || len(chain) > maxCursors || chain[len(chain)-1] == "" || chain[len(chain)-1] == unknownCursor {
		return searchErr("_cursor", "invalid paging cursor: follow the Bundle's next and previous links")
	}
	req.Query.After = chain[len(chain)-1]
	req.prev = chain[:len(chain)-1]
	return nil
}

func encodeCursor(chain []string) string {
	b, _ := json.Marshal(chain)
	return base64.RawURLEncoding.EncodeToString(b)
}

// conds turns one value of a parameter (possibly a comma-separated list)
// into Conds.
func (p param) conds(name, v string) ([]records.Cond, error) {
	switch p.kind {
	case kindDate:
		return dateConds(name, p.key, v)
	case kindQuantity:
		return quantityConds(name, p.key, v)
	}
	parts := splitEscaped(v, ',')
	c := records.Cond{Key: p.key, Op: records.OpEq}
	for i, s := range parts {
		key, val, err := p.value(name, s)
		if err != nil {
			return nil, err
		}
		if p.kind == kindString {
			c.Op = records.OpPrefix
		}
		if i > 0 && key != c.Key {
			return nil, searchErr(name, "cannot mix system|code and code forms in one parameter")
		}
		c.Key = key
		c.Values = append(c.Values, val)
	}
	return []records.Cond{c}, nil
}

// value returns the Keys name and the value one search value compares with.
func (p param) value(name, s string) (string, string, error) {
	switch p.kind {
	case kindString:
		n := normalize(unescape(s))
		if n == "" {
			return "", "", searchErr(name, "want a name")
		}
		return p.key, n, nil
	case kindToken:
		sys, code, hasSys := cutEscaped(s, '|')
		if !hasSys {
			code = s
		}
		code = unescape(code)
		if p.key == "identifier" {
			code = NormalizeIdentifier(code)
		}
		if !hasSys {
			return p.key + ":code", code, nil
		}
		if code == "" {
			return "", "", searchErr(name, "want code, system|code or |code")
		}
		return p.key, unescape(sys) + "|" + code, nil
	case kindCode:
		_, code, hasSys := cutEscaped(s, '|')
		if !hasSys {
			code = s
		}
		if code = unescape(code); code == "" {
			return "", "", searchErr(name, "want a code")
		}
		return p.key, code, nil
	case kindID:
		if !validID(s) {
			return "", "", searchErr(name, "want an id: 1-64 letters, digits, '-' and '.'")
		}
		return p.key, s, nil
	case kindReference:
		id := s
		if i := strings.LastIndex(s, "Patient/"); i >= 0 {
			id = s[i+len("Patient/"):]
		} else if strings.Contains(s, "/") {
			return "", "", searchErr(name, `want "Patient/<id>" or "<id>"`)
		}
		if !validID(id) {
			return "", "", searchErr(name, `want "Patient/<id>" or "<id>"`)
		}
		return p.key, "Patient/" + id, nil
	case kindEncounter:
		id := s
		if i := strings.LastIndex(s, "Encounter/"); i >= 0 {
			id = s[i+len("Encounter/"):]
		} else if strings.Contains(s, "/") {
			return "", "", searchErr(name, `want "Encounter/<id>" or "<id>"`)
		}
		if !validID(id) {
			return "", "", searchErr(name, `want "Encounter/<id>" or "<id>"`)
		}
		return p.key, "Encounter/" + id, nil
	}
	return "", "", searchErr(name, "unsupported parameter")
}

// dateConds returns the Conds of one date value with its prefix.
func dateConds(name, key, v string) ([]records.Cond, error) {
	if strings.Contains(v, ",") {
		return nil, searchErr(name, "a date parameter takes one value; repeat the parameter to AND")
	}
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	d, ok := parseDateOpt(v, false, true)
	if !ok {
		return nil, searchErr(name, "want [eq|ge|le|gt|lt]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]]")
	}
	lo, hi := d.key, nextKey(v, d)
	switch prefix {
	case "eq":
		return []records.Cond{{Key: key, Op: records.OpGe, Values: []string{lo}}, {Key: key, Op: records.OpLt, Values: []string{hi}}}, nil
	case "ge":
		return []records.Cond{{Key: key, Op: records.OpGe, Values: []string{lo}}}, nil
	case "gt":
		return []records.Cond{{Key: key, Op: records.OpGe, Values: []string{hi}}}, nil
	case "lt":
		return []records.Cond{{Key: key, Op: records.OpLt, Values: []string{lo}}}, nil
	case "le":
		return []records.Cond{{Key: key, Op: records.OpLt, Values: []string{hi}}}, nil
	}
	return nil, searchErr(name, "prefix %q is not supported (supported: eq, ge, le, gt, lt)", prefix)
}

// nextKey returns the key of the first instant after d, at d's precision:
// "2020" -> "2021", "2020-12" -> "2021-01", an instant + its precision.
func nextKey(v string, d fhirDate) string {
	switch len(v) {
	case 4:
		return d.end.Format("2006")
	case 7:
		return d.end.Format("2006-01")
	case 10:
		return d.end.Format("2006-01-02")
	}
	return d.end.Format(TimeFormat)
}

// splitEscaped splits s at sep not preceded by a backslash (FHIR search
// escaping); the parts keep their escapes.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// cutEscaped cuts s at the first unescaped sep.
func cutEscaped(s string, sep byte) (before, after string, found bool) {
	parts := splitEscaped(s, sep)
	if len(parts) == 1 {
		return s, "", false
	}
	return parts[0], s[len(parts[0])+1:], true
}

// unescape removes FHIR search escapes: \, \| \$ \\.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
