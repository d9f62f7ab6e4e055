package fhir

import (
	"bytes"
	"crypto/sha256"
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
	sum        string    // sha256 of the body's canonical JSON, hex
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
	var fes []*records.FieldError
	collect(err, &fes)
	if len(fes) > 1 { // every broken rule of the entry, each located
		out := make([]error, len(fes))
		for j, fe := range fes {
			out[j] = entryField(fe, i, typ)
		}
		return joined(out)
	}
	fe, ok := errors.AsType[*records.FieldError](err)
	if !ok {
		return err
	}
	return entryField(fe, i, typ)
}

// entryField returns fe located in the resource of Bundle entry i.
func entryField(fe *records.FieldError, i int, typ string) *records.FieldError {
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
	if err := walkObject(m, reflect.TypeFor[r4.Bundle](), "Bundle", "Bundle", true); err != nil {
		return nil, err
	}
	var raw rawBundle
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, malformedAt("Bundle", "decode: %v", err)
	}
	if raw.Type != "batch" && raw.Type != "transaction" {
		return nil, invalidAt("Bundle.type", "want a batch or transaction Bundle")
	}
	// Hash the decoded tree re-encoded (keys sorted, no white space) rather
	// than the bytes, so that a client that re-serialises its retry still
	// sends the same transaction.
	var canon bytes.Buffer
	if err := writeJSON(&canon, m); err != nil {
		return nil, fmt.Errorf("hash bundle: %w", err)
	}
	sum := sha256.Sum256(canon.Bytes())
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
	if err := b.parseRequest(e, ifMatch, i); err != nil {
		return err
	}
	path := entryPath(i)
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
	if e.Method == "PUT" && e.ID != "" { // (a conditional PUT: the match's id, checked on update)
		if r.ID != "" && r.ID != e.ID {
			return invalidAt(path+".resource.id", "id %q does not match the request url", r.ID)
		}
		r.ID = e.ID
	}
	e.Resource = r
	return nil
}

// parseRequest reads the request of entry i: method, url, ifNoneExist
// and ifMatch.
func (b *Bundle) parseRequest(e *Entry, ifMatch string, i int) error {
	path := entryPath(i)
	p, _, hasQuery := strings.Cut(strings.TrimPrefix(e.URL, "/"), "?")
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
		// A batch entry may be conditional ("<Type>?<search>"); a
		// transaction's entries name their resource.
		conditional := b.Type == "batch" && len(seg) == 1 && hasQuery && Writable(e.Type)
		if !conditional && (len(seg) != 2 || hasQuery || !Writable(e.Type) || !validID(e.ID)) {
			want := `"<Type>/<id>" of a writable type (conditional ` + strings.ToLower(e.Method) + ` only in a batch)`
			if b.Type == "batch" {
				want = `"<Type>/<id>" or "<Type>?<search>" of a writable type`
			}
			return badURL(want)
		}
	case "GET":
		if b.Type == "transaction" {
			return invalidAt(path+".request.method", "GET is only supported in a batch")
		}
		if !Readable(e.Type) || (len(seg) > 1 && !validID(e.ID)) {
			return badURL(`"<Type>[/<id>][?query]" of a served type`)
		}
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
// the Bundle has an identifier, else "sha256:<hex>" of the body's JSON
// (white space and the order of elements do not count).
func (b *Bundle) TxnKey() string {
	if b.Identifier != "" {
		return "identifier:" + b.Identifier
	}
	return "sha256:" + b.sum
}
