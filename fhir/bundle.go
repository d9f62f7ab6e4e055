package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/records"
)

// The JSON shapes of the Bundles this package writes. samply's Bundle
// would marshal its required-but-empty elements as zero values, so we use
// our own.
type (
	bundleJSON struct {
		ResourceType string        `json:"resourceType"`
		Type         string        `json:"type"`
		Total        *int64        `json:"total,omitempty"`
		Link         []bundleLink  `json:"link,omitempty"`
		Entry        []bundleEntry `json:"entry,omitempty"`
	}
	bundleLink struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	}
	bundleEntry struct {
		FullURL  string          `json:"fullUrl,omitempty"`
		Resource json.RawMessage `json:"resource,omitempty"`
		Search   *entrySearch    `json:"search,omitempty"`
		Request  *entryRequest   `json:"request,omitempty"`
		Response *entryResponse  `json:"response,omitempty"`
	}
	entrySearch struct {
		Mode string `json:"mode"`
	}
	entryRequest struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	entryResponse struct {
		Status       string          `json:"status"`
		Location     string          `json:"location,omitempty"`
		Etag         string          `json:"etag,omitempty"`
		LastModified string          `json:"lastModified,omitempty"`
		Outcome      json.RawMessage `json:"outcome,omitempty"`
	}
)

// marshal encodes b. Entry resources are rendered JSON already: they are
// copied as they are, where json.Marshal would scan and compact each again.
func (b *bundleJSON) marshal() ([]byte, error) {
	entries := b.Entry
	b.Entry = nil
	head, err := marshalPlain(b)
	b.Entry = entries
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return head, nil
	}
	size := len(head) + 16
	for _, e := range entries {
		size += len(e.Resource) + 200
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.Write(head[:len(head)-1])
	buf.WriteString(`,"entry":[`)
	for i, e := range entries {
		if i > 0 {
			buf.WriteByte(',')
		}
		res := e.Resource
		e.Resource = nil
		rest, err := marshalEntry(e)
		if err != nil {
			return nil, err
		}
		if res == nil {
			buf.Write(rest)
			continue
		}
		buf.WriteString(`{"resource":`)
		buf.Write(res)
		if len(rest) > 2 {
			buf.WriteByte(',')
			buf.Write(rest[1:])
		} else {
			buf.WriteByte('}')
		}
	}
	buf.WriteString("]}")
	return buf.Bytes(), nil
}

// marshalEntry encodes an entry without its resource; the common searchset
// entry (fullUrl and search.mode, plain ASCII) without reflection.
func marshalEntry(e bundleEntry) ([]byte, error) {
	if e.Request != nil || e.Response != nil || e.Search == nil || !plainJSON(e.FullURL) || !plainJSON(e.Search.Mode) {
		return marshalPlain(e)
	}
	b := make([]byte, 0, len(e.FullURL)+40)
	b = append(b, '{')
	if e.FullURL != "" {
		b = append(b, `"fullUrl":"`...)
		b = append(b, e.FullURL...)
		b = append(b, `",`...)
	}
	b = append(b, `"search":{"mode":"`...)
	b = append(b, e.Search.Mode...)
	return append(b, `"}}`...), nil
}

// marshalPlain is json.Marshal without HTML escaping (links hold "&").
func marshalPlain(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// plainJSON reports whether s needs no escaping in a JSON string (and none
// of the HTML escaping json.Marshal would do).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Issue is one OperationOutcome issue, e.g. a warning placed in a searchset
// Bundle (search.mode = outcome).
type Issue struct {
	Severity    r4.IssueSeverity
	Code        r4.IssueType
	Expression  string // FHIRPath of the offending element, "" if none
	Diagnostics string
}

// resourceEntry renders r as a Bundle entry with its fullUrl.
func resourceEntry(base string, r records.Resource) (bundleEntry, error) {
	body, err := Render(r)
	if err != nil {
		return bundleEntry{}, err
	}
	return bundleEntry{FullURL: base + "/" + r.Type + "/" + r.ID, Resource: body}, nil
}

// SearchBundle returns a searchset Bundle for one page of req's results:
// total (when page.Total >= 0), self, first, next and previous links under
// base (e.g. "https://node/fhir"), one entry per resource with fullUrl and
// search.mode match, and one OperationOutcome entry (search.mode outcome)
// holding warnings, if any. For _summary=count it holds no entries. It
// fails only if a resource body cannot be rendered.
func SearchBundle(base string, req SearchRequest, page records.Page, warnings ...Issue) ([]byte, error) {
	return SearchBundleWith(base, req, page, nil, warnings...)
}

// SearchBundleWith is SearchBundle with the resources that _include and
// _revinclude added (search.mode include) after the matches. The matches
// are shaped by req.Subset, the included resources by its _summary; the parameters that lenient handling
// ignored (req.Ignored) join warnings, and total follows req.Total (none
// leaves it out).
func SearchBundleWith(base string, req SearchRequest, page records.Page, included []records.Resource, warnings ...Issue) ([]byte, error) {
	b := bundleJSON{ResourceType: "Bundle", Type: "searchset"}
	if page.Total >= 0 && req.Total != "none" {
		b.Total = &page.Total
	}
	path := req.Path
	if path == "" {
		path = req.Query.Type
	}
	link := func(rel string, chain []string) {
		v := url.Values{}
		for k, vs := range req.Params {
			v[k] = vs
		}
		if len(chain) > 0 {
			v.Set("_cursor", encodeCursor(chain))
		}
		u := base + "/" + path
		if q := v.Encode(); q != "" {
			u += "?" + q
		}
		b.Link = append(b.Link, bundleLink{rel, u})
	}
	here := req.prev
	if req.Query.After != "" {
		here = append(append([]string(nil), req.prev...), req.Query.After)
	}
	link("self", here)
	entry := func(r records.Resource, mode string) error {
		sub := req.Subset
		if mode == "include" {
			sub = sub.ForIncluded()
		}
		body, err := sub.Apply(r)
		if err != nil {
			return fmt.Errorf("search bundle: %w", err)
		}
		b.Entry = append(b.Entry, bundleEntry{FullURL: base + "/" + r.Type + "/" + r.ID, Resource: body, Search: &entrySearch{mode}})
		return nil
	}
	if req.Summary != "count" {
		link("first", nil)
		if len(here) > 0 && !(len(here) == 2 && here[0] == unknownCursor) {
			link("previous", here[:len(here)-1])
		}
		if page.Next != "" {
			next := append(append([]string(nil), here...), page.Next)
			if len(next) > maxCursors {
				next = append([]string{unknownCursor}, next[len(next)-maxCursors+1:]...)
			}
			link("next", next)
		}
		for _, r := range page.Resources {
			if err := entry(r, "match"); err != nil {
				return nil, err
			}
		}
		for _, r := range included {
			if err := entry(r, "include"); err != nil {
				return nil, err
			}
		}
	}
	warnings = append(slices.Clone(req.Ignored), warnings...)
	if len(warnings) > 0 {
		b.Entry = append(b.Entry, bundleEntry{Resource: outcomeOf(warnings...), Search: &entrySearch{"outcome"}})
	}
	return b.marshal()
}

// HistoryBundle returns a history Bundle of versions (newest first, as
// given), each entry with its request (POST for version 1, DELETE for a
// deletion, PUT otherwise) and response; self is this history's path under
// base (e.g. "Patient/123/_history"). It fails only if a body cannot be
// rendered.
func HistoryBundle(base, self string, versions []records.Resource) ([]byte, error) {
	total := int64(len(versions))
	b := bundleJSON{ResourceType: "Bundle", Type: "history", Total: &total,
		Link: []bundleLink{{"self", base + "/" + self}}}
	for _, r := range versions {
		e, err := resourceEntry(base, r)
		if err != nil {
			return nil, fmt.Errorf("history bundle: %w", err)
		}
		e.Request = &entryRequest{"PUT", r.Type + "/" + r.ID}
		e.Response = &entryResponse{Status: "200 OK"}
		switch {
		case r.Deleted:
			e.Request.Method = "DELETE"
			e.Response.Status = "204 No Content"
		case r.Version == 1:
			e.Request = &entryRequest{"POST", r.Type}
			e.Response.Status = "201 Created"
		}
		setResponse(e.Response, r)
		b.Entry = append(b.Entry, e)
	}
	return b.marshal()
}

// setResponse fills the location, etag and lastModified of a response.
func setResponse(resp *entryResponse, r records.Resource) {
	if r.ID == "" {
		return
	}
	resp.Location = r.Type + "/" + r.ID
	if r.Version > 0 {
		resp.Location += "/_history/" + strconv.FormatInt(r.Version, 10)
		resp.Etag = ETag(r.Version)
	}
	if !r.Updated.IsZero() {
		resp.LastModified = r.Updated.UTC().Format(TimeFormat)
	}
}

// EverythingBundle returns the searchset Bundle of
// Patient/personID/$everything: resources in the order given (Patient
// first, then by date), all with search.mode match. It fails only if a body
// cannot be rendered.
func EverythingBundle(base, personID string, resources []records.Resource) ([]byte, error) {
	total := int64(len(resources))
	b := bundleJSON{ResourceType: "Bundle", Type: "searchset", Total: &total,
		Link: []bundleLink{{"self", base + "/Patient/" + personID + "/$everything"}}}
	for _, r := range resources {
		e, err := resourceEntry(base, r)
		if err != nil {
			return nil, fmt.Errorf("everything bundle: %w", err)
		}
		e.Search = &entrySearch{"match"}
		b.Entry = append(b.Entry, e)
	}
	return b.marshal()
}
