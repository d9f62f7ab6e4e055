package fhir

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// Bundle is a parsed batch or transaction Bundle.
type Bundle struct {
	Type       string // "batch" or "transaction"
	Identifier string // Bundle.identifier as "system|value", "" if none
	Entries    []Entry
	sum        string    // sha256 of the body, hex
	now        time.Time // the clock ParseBundle was given
}

// Entry is one entry of a batch or transaction Bundle.
type Entry struct {
	FullURL     string // e.g. "urn:uuid:...", "" if none
	Method      string // POST, PUT, DELETE or GET (GET only in a batch)
	URL         string // request.url as sent, e.g. "Patient", "Observation/x.y", "Patient?identifier=..."
	Type        string // the target resource type, from URL
	ID          string // the target id: from URL for PUT, DELETE and GET; set by AssignIDs for POST
	IfNoneExist string // POST: the conditional-create query, "" if none
	IfMatch     int64  // PUT, DELETE: the version in request.ifMatch, 0 if none
	Resource    records.Resource
	PersonID    string // whose record the entry touches, set by AssignIDs
	Existing    string // "Type/id" when a conditional create matched an existing resource
}

// entryPath returns the FHIRPath of entry i.
func entryPath(i int) string { return "Bundle.entry[" + strconv.Itoa(i) + "]" }

// inEntry relocates a FieldError from a resource of type typ to entry i.
func inEntry(err error, i int, typ string) error {
	fe, ok := errors.AsType[*records.FieldError](err)
	if !ok {
		return err
	}
	at := entryPath(i) + ".resource"
	switch {
	case fe.Field == typ || fe.Field == "Resource" || fe.Field == "":
	case strings.HasPrefix(fe.Field, typ+"."):
		at += fe.Field[len(typ):]
	default:
		at += "." + fe.Field
	}
	return &records.FieldError{Field: at, Reason: fe.Reason, Kind: fe.Kind}
}

// rawBundle is what ParseBundle reads after walk has checked the shape.
type rawBundle struct {
	Type       string `json:"type"`
	Identifier *struct {
		System *string `json:"system"`
		Value  *string `json:"value"`
	} `json:"identifier"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method      string `json:"method"`
			URL         string `json:"url"`
			IfNoneExist string `json:"ifNoneExist"`
			IfMatch     string `json:"ifMatch"`
		} `json:"request"`
	} `json:"entry"`
}

// ParseBundle parses a batch or transaction Bundle and every resource in it
// with Parse's rules (references may also be the urn:uuid fullUrl of another
// entry). Errors are *records.FieldError located in the Bundle, e.g.
// "Bundle.entry[3].resource.subject"; see Parse for their kinds.
func ParseBundle(body []byte, now time.Time) (*Bundle, error) {
	v, err := decodeJSON(body, "Bundle")
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, malformedAt("Bundle", "want a JSON object, got %s", jsonKind(v))
	}
	if rt, _ := m["resourceType"].(string); rt != "Bundle" {
		return nil, invalidAt("resourceType", "want a Bundle")
	}
	if err := walkObject(m, reflect.TypeFor[r4.Bundle](), "Bundle", true); err != nil {
		return nil, err
	}
	var raw rawBundle
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, malformedAt("Bundle", "decode: %v", err)
	}
	if raw.Type != "batch" && raw.Type != "transaction" {
		return nil, invalidAt("Bundle.type", "want a batch or transaction Bundle")
	}
	sum := sha256.Sum256(body)
	b := &Bundle{Type: raw.Type, sum: hex.EncodeToString(sum[:]), now: now}
	if id := raw.Identifier; id != nil && id.Value != nil {
		sys := ""
		if id.System != nil {
			sys = *id.System
		}
		b.Identifier = sys + "|" + *id.Value
	}
	fullURLs := map[string]int{}
	for i, re := range raw.Entry {
		path := entryPath(i)
		if re.Request == nil {
			return nil, invalidAt(path+".request", "every entry of a %s needs a request", b.Type)
		}
		e := Entry{FullURL: re.FullURL, Method: re.Request.Method, URL: re.Request.URL, IfNoneExist: re.Request.IfNoneExist}
		if e.FullURL != "" {
			if j, dup := fullURLs[e.FullURL]; dup {
				return nil, invalidAt(path+".fullUrl", "fullUrl repeats that of entry %d", j)
			}
			fullURLs[e.FullURL] = i
		}
		if err := b.parseEntry(&e, re.Resource, re.Request.IfMatch, i); err != nil {
			return nil, err
		}
		b.Entries = append(b.Entries, e)
	}
	return b, b.checkURNs(fullURLs)
}

// parseEntry reads the request of entry i and parses its resource.
func (b *Bundle) parseEntry(e *Entry, resource json.RawMessage, ifMatch string, i int) error {
	path := entryPath(i)
	p, query, hasQuery := strings.Cut(strings.TrimPrefix(e.URL, "/"), "?")
	seg := strings.Split(p, "/")
	e.Type = seg[0]
	if len(seg) > 1 {
		e.ID = seg[1]
	}
	badURL := func(want string) error {
		return invalidAt(path+".request.url", "%s needs a url %s", e.Method, want)
	}
	switch e.Method {
	case "POST":
		if len(seg) != 1 || hasQuery || !Writable(e.Type) {
			return badURL(`"<Type>" of a writable type`)
		}
	case "PUT", "DELETE":
		if len(seg) != 2 || hasQuery || !Writable(e.Type) || !validID(e.ID) {
			return badURL(`"<Type>/<id>" of a writable type (conditional ` + strings.ToLower(e.Method) + ` is not supported)`)
		}
	case "GET":
		if b.Type == "transaction" {
			return invalidAt(path+".request.method", "GET is only supported in a batch")
		}
		if !Readable(e.Type) || (len(seg) > 1 && !validID(e.ID)) {
			return badURL(`"<Type>[/<id>][?query]" of a served type`)
		}
		_ = query
	default:
		return invalidAt(path+".request.method", "method %s is not supported in a %s", e.Method, b.Type)
	}
	if e.IfNoneExist != "" && e.Method != "POST" {
		return invalidAt(path+".request.ifNoneExist", "ifNoneExist only goes with POST")
	}
	if ifMatch != "" {
		if e.Method != "PUT" && e.Method != "DELETE" {
			return invalidAt(path+".request.ifMatch", "ifMatch only goes with PUT or DELETE")
		}
		v, err := ParseETag(ifMatch)
		if err != nil {
			return invalidAt(path+".request.ifMatch", `want W/"<version>"`)
		}
		e.IfMatch = v
	}
	needBody := e.Method == "POST" || e.Method == "PUT"
	switch {
	case needBody && resource == nil:
		return invalidAt(path+".resource", "%s needs a resource", e.Method)
	case !needBody && resource != nil:
		return invalidAt(path+".resource", "%s takes no resource", e.Method)
	case !needBody:
		return nil
	}
	r, _, err := parse(resource, e.Type, b.now, true)
	if err != nil {
		return inEntry(err, i, e.Type)
	}
	if e.Method == "PUT" {
		if r.ID != "" && r.ID != e.ID {
			return invalidAt(path+".resource.id", "id %q does not match the request url", r.ID)
		}
		r.ID = e.ID
	}
	e.Resource = r
	return nil
}

// checkURNs fails if a resource refers to a urn:uuid no entry has.
func (b *Bundle) checkURNs(fullURLs map[string]int) error {
	for i, e := range b.Entries {
		if e.Resource.Body == nil {
			continue
		}
		tree, err := decodeJSON(e.Resource.Body, e.Type)
		if err != nil {
			return err
		}
		var bad error
		eachReference(tree, e.Type, func(path, ref string) string {
			if _, ok := fullURLs[ref]; !ok && bad == nil && strings.HasPrefix(ref, "urn:") {
				bad = inEntry(invalidAt(path, "refers to %s, which no entry of this Bundle has as fullUrl", ref), i, e.Type)
			}
			return ref
		})
		if bad != nil {
			return bad
		}
	}
	return nil
}

// TxnKey returns the idempotency key of b: "identifier:system|value" when
// the Bundle has an identifier, else "sha256:<hex of the body>".
func (b *Bundle) TxnKey() string {
	if b.Identifier != "" {
		return "identifier:" + b.Identifier
	}
	return "sha256:" + b.sum
}

// derivedID returns n lower-case base32 characters of sha256(key, name):
// the same inputs give the same id, as records.NewID's alphabet.
func derivedID(key, name string, n int) string {
	h := sha256.Sum256([]byte(key + "\x00" + name))
	return strings.ToLower(base32.StdEncoding.EncodeToString(h[:]))[:n]
}

// AssignIDs gives every POST entry a deterministic id derived from key and
// its fullUrl (or its position when it has none), so that a retried upload
// gets the same ids: 26 characters for a Patient, "<personID>.<12
// characters>" for anything else (as records.NewResourceID). matched maps
// the indexes of entries whose conditional create (IfNoneExist) found an
// existing resource to it ("Type/id"): those entries create nothing and
// references to them point at the existing resource. Then every reference
// to an entry's fullUrl is rewritten to "Type/id", in bodies and Keys, and
// each entry's PersonID is set. Errors are *records.FieldError: a
// reference that still does not resolve, a subject that does not match the
// person of an updated resource.
func AssignIDs(b *Bundle, key string, matched map[int]string) error {
	refs := map[string]string{} // fullUrl -> Type/id
	name := func(i int) string {
		if u := b.Entries[i].FullURL; u != "" {
			return u
		}
		return "#" + strconv.Itoa(i)
	}
	for i := range b.Entries {
		e := &b.Entries[i]
		if ex, ok := matched[i]; ok {
			typ, id, _ := strings.Cut(ex, "/")
			if e.Method != "POST" || typ != e.Type || !validID(id) {
				return fmt.Errorf("assign ids: entry %d: matched %q is not a %s: %w", i, ex, e.Type, records.ErrInvalid)
			}
			e.Existing, e.ID = ex, id
		} else if e.Method == "POST" && e.Type == "Patient" {
			e.ID = derivedID(key, name(i), 26)
		}
		if e.ID != "" && e.FullURL != "" {
			refs[e.FullURL] = e.Type + "/" + e.ID
		}
	}
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Method != "POST" || e.Existing != "" || e.Type == "Patient" {
			continue
		}
		person, err := personOf(e.Resource, refs)
		if err != nil {
			return inEntry(err, i, e.Type)
		}
		e.ID = person + "." + derivedID(key, name(i), 12)
		if e.FullURL != "" {
			refs[e.FullURL] = e.Type + "/" + e.ID
		}
	}
	for i := range b.Entries {
		if err := b.rewrite(i, refs); err != nil {
			return err
		}
	}
	return nil
}

// personOf returns the person a new resource is about, resolving a
// urn:uuid subject through refs.
func personOf(r records.Resource, refs map[string]string) (string, error) {
	for _, s := range r.Keys["subject"] {
		if to, ok := refs[s]; ok {
			s = to
		}
		if id, ok := strings.CutPrefix(s, "Patient/"); ok {
			return id, nil
		}
	}
	return "", invalidAt(subjectPath(r.Type), "the subject must be a Patient in this Bundle or on the server")
}

// subjectPath returns the FHIRPath of the person reference of typ.
func subjectPath(typ string) string {
	if typ == "EpisodeOfCare" || typ == "Consent" {
		return typ + ".patient"
	}
	return typ + ".subject"
}

// rewrite replaces the fullUrl references of entry i, re-parses it for its
// Keys and sets its ids.
func (b *Bundle) rewrite(i int, refs map[string]string) error {
	e := &b.Entries[i]
	switch {
	case e.Existing != "":
		e.PersonID = records.PersonOf(e.Type, e.ID)
		return nil
	case e.Resource.Body == nil:
		e.PersonID = records.PersonOf(e.Type, e.ID)
		return nil
	}
	tree, err := decodeJSON(e.Resource.Body, e.Type)
	if err != nil {
		return err
	}
	eachReference(tree, e.Type, func(_, ref string) string {
		if to, ok := refs[ref]; ok {
			return to
		}
		return ref
	})
	body, err := canonical(tree.(map[string]any))
	if err != nil {
		return fmt.Errorf("assign ids: entry %d: %w", i, err)
	}
	r, _, err := parse(body, e.Type, b.now, false)
	if err != nil {
		return inEntry(err, i, e.Type)
	}
	r.ID = e.ID
	e.Resource = r
	e.PersonID = Subject(r)
	if e.Method == "PUT" && e.Type != "Patient" && e.PersonID != records.PersonOf(e.Type, e.ID) {
		return inEntry(invalidAt(subjectPath(e.Type), "a resource cannot move to another person's record"), i, e.Type)
	}
	return nil
}

// statusText is the reason phrase of the statuses entries report.
var statusText = map[int]string{
	200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 412: "Precondition Failed",
	413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
	429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
	502: "Bad Gateway", 503: "Service Unavailable",
}

func statusLine(code int) string {
	return strings.TrimSpace(strconv.Itoa(code) + " " + statusText[code])
}

// TransactionResponse returns the transaction-response Bundle of b:
// applied holds the new versions of the entries that change something (all
// but Existing ones), in entry order. It fails if applied does not fit the
// entries.
func TransactionResponse(b *Bundle, applied []records.Resource) ([]byte, error) {
	out := bundleJSON{ResourceType: "Bundle", Type: "transaction-response"}
	j := 0
	for i, e := range b.Entries {
		resp := &entryResponse{}
		switch {
		case e.Existing != "":
			resp.Status, resp.Location = statusLine(200), e.Existing
		case j >= len(applied):
			return nil, fmt.Errorf("transaction response: no applied version for entry %d", i)
		default:
			r := applied[j]
			j++
			switch {
			case e.Method == "DELETE":
				resp.Status = statusLine(204)
			case r.Version == 1:
				resp.Status = statusLine(201)
			default:
				resp.Status = statusLine(200)
			}
			setResponse(resp, r)
		}
		out.Entry = append(out.Entry, bundleEntry{Response: resp})
	}
	if j != len(applied) {
		return nil, fmt.Errorf("transaction response: %d applied versions for %d entries", len(applied), j)
	}
	return json.Marshal(out)
}

// EntryResult is the outcome of one batch entry.
type EntryResult struct {
	Status   int              // HTTP status of the entry
	Resource records.Resource // the version written or read; zero if none
	Err      error            // the failure, rendered as an OperationOutcome; nil on success
	Return   bool             // include the rendered Resource (GET of one resource)
	Body     []byte           // a resource to include as is (e.g. a searchset Bundle), instead of Resource
}

// BatchResponse returns the batch-response Bundle, one entry per result in
// entry order. A failed entry gets its status and OperationOutcome (never
// internal error text: see OperationOutcome). It fails only if a resource
// cannot be rendered.
func BatchResponse(results []EntryResult) ([]byte, error) {
	out := bundleJSON{ResourceType: "Bundle", Type: "batch-response"}
	for i, res := range results {
		var e bundleEntry
		if res.Err != nil {
			status, body := OperationOutcome(res.Err, "")
			e.Response = &entryResponse{Status: statusLine(status), Outcome: body}
			out.Entry = append(out.Entry, e)
			continue
		}
		e.Response = &entryResponse{Status: statusLine(cmpOr(res.Status, 200))}
		setResponse(e.Response, res.Resource)
		switch {
		case res.Body != nil:
			e.Resource = res.Body
		case res.Return && !res.Resource.Deleted:
			body, err := Render(res.Resource)
			if err != nil {
				return nil, fmt.Errorf("batch response: entry %d: %w", i, err)
			}
			e.Resource = body
		}
		out.Entry = append(out.Entry, e)
	}
	return json.Marshal(out)
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
