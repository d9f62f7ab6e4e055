package fhir

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

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
)

type param struct {
	kind paramKind
	key  string // the Keys name
	sort bool   // may be used in _sort: by key, or by key+":sort" for names
}

var (
	pSubject = param{kindReference, "subject", true}
	pStatus  = param{kindCode, "status", true}
	pDate    = param{kindDate, "date", true}
	pCommon  = map[string]param{
		"_id":          {kindID, "_id", true},
		"_lastUpdated": {kindDate, "_lastUpdated", true},
	}
)

// searchParams are the search parameters of each type, beside _id and
// _lastUpdated. CapabilityStatement lists the same.
var searchParams = map[string]map[string]param{
	"Patient": {
		"identifier": {kindToken, "identifier", false},
		"name":       {kindString, "name", true},
		"family":     {kindString, "family", true},
		"given":      {kindString, "given", true},
		"birthdate":  {kindDate, "birthdate", true},
		"gender":     {kindCode, "gender", true},
	},
	"Observation": {
		"subject": pSubject, "patient": pSubject,
		"code":     {kindToken, "code", false},
		"category": {kindToken, "category", false},
		"date":     pDate,
	},
	"Encounter":                {"subject": pSubject, "patient": pSubject, "date": pDate, "status": pStatus},
	"EpisodeOfCare":            {"subject": pSubject, "patient": pSubject, "status": pStatus, "date": pDate},
	"Condition":                {"subject": pSubject, "patient": pSubject, "status": pStatus, "code": {kindToken, "code", false}},
	"Flag":                     {"subject": pSubject, "patient": pSubject, "status": pStatus, "date": pDate},
	"Procedure":                {"subject": pSubject, "patient": pSubject, "status": pStatus, "date": pDate},
	"MedicationAdministration": {"subject": pSubject, "patient": pSubject, "status": pStatus, "date": pDate},
	"Consent":                  {"subject": pSubject, "patient": pSubject, "status": pStatus},
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
	prev    []string   // the cursors that led to this page, oldest first
}

func searchErr(name, format string, args ...any) error {
	return &records.FieldError{Field: name, Reason: fmt.Sprintf(format, args...), Kind: records.ErrMalformed}
}

// ParseSearch parses the query parameters of a search on typ. Unknown
// parameters, modifiers or prefixes and bad values are *records.FieldError
// of kind records.ErrMalformed with the parameter as Field; a type that
// cannot be searched is ErrNotSupported. Values only ever become Cond
// values, never operators. Repeated parameters are ANDed, comma-separated
// values ORed (not for dates).
//
// Dates compare as strings over the keys (see the package doc): with d's
// first instant lo and the first instant after it hi (eq2020: lo "2020",
// hi "2021"), eq is lo <= key < hi, ge key >= lo, gt key >= hi, lt key < lo
// and le key < hi. A stored value less precise than the search value (a
// birth date "2020" against ge2020-05) compares by its first instant.
func ParseSearch(typ string, params url.Values) (SearchRequest, error) {
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
		if err := req.add(name, values); err != nil {
			return SearchRequest{}, err
		}
		if name != "_cursor" {
			req.Params[name] = values
		}
	}
	return req, nil
}

func (req *SearchRequest) add(name string, values []string) error {
	typ := req.Query.Type
	switch name {
	case "_count":
		n, err := strconv.Atoi(values[len(values)-1])
		if err != nil || n < 0 {
			return searchErr(name, "want a page size from 0 to %d", MaxCount)
		}
		if n == 0 {
			req.Summary = "count"
		}
		req.Query.Count = min(max(n, 1), MaxCount)
		return nil
	case "_summary":
		switch values[len(values)-1] {
		case "count":
			req.Summary = "count"
		case "false":
		default:
			return searchErr(name, "only _summary=count and _summary=false are supported")
		}
		return nil
	case "_format":
		switch values[len(values)-1] {
		case "json", "application/json", "application/fhir+json":
			return nil
		}
		return &records.FieldError{Field: name, Reason: "only JSON is supported", Kind: records.ErrNotSupported}
	case "_sort":
		return req.addSort(strings.Join(values, ","))
	case "_cursor":
		return req.addCursor(values[len(values)-1])
	}
	base, mod, hasMod := strings.Cut(name, ":")
	p, ok := paramOf(typ, base)
	switch {
	case !ok:
		return searchErr(name, "unknown search parameter for %s (supported: %s)", typ, strings.Join(paramNames(typ), ", "))
	case hasMod:
		return searchErr(name, "modifier :%s is not supported", mod)
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
	if p.kind == kindDate {
		return dateConds(name, p.key, v)
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
