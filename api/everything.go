package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// everythingCursor is the paging parameter of $everything: an opaque token
// naming the last entry of the previous page.
const everythingCursor = "_cursor"

// handleEverything serves GET /fhir/Patient/:id/$everything with the
// parameters of the query string.
func (s *Server) handleEverything(c echo.Context) error {
	return s.everything(c, c.Param("id"), c.QueryParams())
}

// everything answers Patient id's $everything with params (from the query
// string or a POSTed Parameters): the current record, Patient first, then
// in clinical date order; _type keeps the listed types, _since those
// changed at or after an instant, _count sets the page size (default 50,
// at most 1,000; a peer that names no _count gets the whole record).
// Pages follow a keyset cursor over a total order
// (Patient, clinical date, last update, type, id), so that a page's next
// link stays right while the record grows: nothing is skipped or repeated
// unless a resource is updated between pages (then it moves to its new
// place, as in any search).
func (s *Server) everything(c echo.Context, id string, params url.Values) error {
	a := auditOf(c)
	a.resourceType, a.personID = "Patient", id
	var types []string
	for _, v := range params["_type"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t == "" {
				continue
			}
			if err := readableType(t); err != nil {
				return &records.FieldError{Field: "_type", Reason: "unknown resource type " + strconv.Quote(t), Kind: records.ErrMalformed}
			}
			types = append(types, t)
		}
	}
	var since time.Time
	if v := params.Get("_since"); v != "" {
		t, err := parseSince(v)
		if err != nil {
			return &records.FieldError{Field: "_since", Reason: "want an instant such as 2026-01-05T00:00:00Z", Kind: records.ErrMalformed}
		}
		since = t
	}
	q := records.Query{}
	if v := params.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &records.FieldError{Field: "_count", Reason: "want a positive whole number", Kind: records.ErrMalformed}
		}
		q.Count = n
	}
	var after []string
	if v := params.Get(everythingCursor); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(raw, &after) != nil || len(after) != 5 {
			return &records.FieldError{Field: everythingCursor, Reason: "not a cursor of this server; follow the next link", Kind: records.ErrMalformed}
		}
	}
	rs, err := s.records.Everything(c.Request().Context(), country(c), id)
	if err != nil {
		return err
	}
	keep := rs[:0]
	for _, r := range rs {
		if (len(types) == 0 || slices.Contains(types, r.Type)) && !r.Updated.Before(since) {
			keep = append(keep, r)
		}
	}
	slices.SortFunc(keep, func(a, b records.Resource) int { return slices.Compare(everythingKey(a), everythingKey(b)) })
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(keep, after, func(r records.Resource, k []string) int {
			if slices.Compare(everythingKey(r), k) <= 0 {
				return -1
			}
			return 1
		})
	}
	end := min(start+q.PageSize(), len(keep))
	if _, fromPeer := peerCaller(c); fromPeer && q.Count == 0 && after == nil {
		// A peer merging the record into its federated $everything reads
		// it whole, as it did before paging (nodes of older versions
		// follow no next link).
		end = len(keep)
	}
	page := keep[start:end]
	a.disclose(page...)

	self := base(c) + "/Patient/" + id + "/$everything"
	link := func(p url.Values) string {
		if len(p) == 0 {
			return self
		}
		return self + "?" + p.Encode()
	}
	out := searchset{ResourceType: "Bundle", Type: "searchset", Link: []bundleLink{{"self", link(params)}}}
	total := int64(len(keep))
	out.Total = &total
	if end < len(keep) {
		next := url.Values{}
		for k, v := range params {
			next[k] = v
		}
		k, _ := json.Marshal(everythingKey(keep[end-1]))
		next.Set(everythingCursor, base64.RawURLEncoding.EncodeToString(k))
		if q.Count == 0 {
			next.Set("_count", strconv.Itoa(q.PageSize()))
		}
		out.Link = append(out.Link, bundleLink{"next", link(next)})
	}
	for _, r := range page {
		b, err := fhir.Render(r)
		if err != nil {
			return err
		}
		out.Entry = append(out.Entry, searchEntry{FullURL: base(c) + "/" + r.Type + "/" + r.ID, Resource: b, Search: &entrySearch{Mode: "match"}})
	}
	return writeJSON(c, http.StatusOK, out)
}

// everythingKey is r's place in the order of $everything.
func everythingKey(r records.Resource) []string {
	rank := "1"
	if r.Type == "Patient" {
		rank = "0"
	}
	updated := r.Updated.UTC().Format("2006-01-02T15:04:05.000000000Z")
	date := updated
	if d := r.Keys["date"]; len(d) > 0 {
		date = d[0]
	}
	return []string{rank, date, updated, r.Type, r.ID}
}

// parseSince reads _since: an instant, or a date (its midnight UTC).
func parseSince(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse instant: %w", err)
	}
	return t, nil
}
