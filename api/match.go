package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/federation"
)

// $match bounds.
const (
	defaultMatchCount  = 20
	maxMatchCount      = 100
	maxCandidatePages  = 10 // per candidate query, of records.MaxCount: 10,000 candidates
	federatedParameter = "_federated"
)

// parameters is a FHIR Parameters resource, as the operations here read it.
type parameters struct {
	ResourceType string `json:"resourceType"`
	Parameter    []struct {
		Name           string          `json:"name"`
		Resource       json.RawMessage `json:"resource,omitempty"`
		ValueBoolean   *bool           `json:"valueBoolean,omitempty"`
		ValueInteger   *int            `json:"valueInteger,omitempty"`
		ValueCode      string          `json:"valueCode,omitempty"`
		ValueString    string          `json:"valueString,omitempty"`
		ValueID        string          `json:"valueId,omitempty"`
		ValueURI       string          `json:"valueUri,omitempty"`
		ValueReference *struct {
			Reference string `json:"reference"`
		} `json:"valueReference,omitempty"`
	} `json:"parameter"`
}

// parseParameters reads a Parameters body: 400 if it is not one, or if it
// holds invalid UTF-8, a repeated key or data after the JSON value.
func parseParameters(body []byte) (parameters, error) {
	if err := fhir.CheckJSON(body, "Parameters"); err != nil {
		return parameters{}, err
	}
	var p parameters
	if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Parameters" {
		return parameters{}, &records.FieldError{Field: "Parameters", Reason: "want a FHIR Parameters resource", Kind: records.ErrMalformed}
	}
	return p, nil
}

// text returns the first string-like value of parameter name.
func (p parameters) text(name string) string {
	for _, q := range p.Parameter {
		if q.Name == name {
			switch {
			case q.ValueReference != nil:
				return q.ValueReference.Reference
			default:
				return cmp.Or(q.ValueCode, q.ValueString, q.ValueID, q.ValueURI)
			}
		}
	}
	return ""
}

// resource returns the resource of parameter name, nil if none.
func (p parameters) resource(name string) json.RawMessage {
	for _, q := range p.Parameter {
		if q.Name == name && len(q.Resource) > 0 {
			return q.Resource
		}
	}
	return nil
}

// searchEntry is one entry of a searchset Bundle built or read here.
type searchEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
}

// entrySearch is Bundle.entry.search, with the match-grade extension.
type entrySearch struct {
	Extension []gradeExtension `json:"extension,omitempty"`
	Mode      string           `json:"mode"`
	Score     *float64         `json:"score,omitempty"`
}

// gradeExtension is an extension on Bundle.entry.search: the match grade,
// or one piece of match evidence (with nested field, level and weight).
type gradeExtension struct {
	URL          string           `json:"url"`
	ValueCode    string           `json:"valueCode,omitempty"`
	ValueDecimal *float64         `json:"valueDecimal,omitempty"`
	Extension    []gradeExtension `json:"extension,omitempty"`
}

// matchExtensions returns the match-grade extension of m and one
// match-evidence extension per field compared (and per rule applied), so
// that a health worker can see why a candidate is probable.
func matchExtensions(m federation.Ranked) []gradeExtension {
	out := []gradeExtension{{URL: federation.ExtMatchGrade, ValueCode: string(m.Grade)}}
	for _, e := range m.Evidence {
		w := math.Round(e.Weight*100) / 100
		out = append(out, gradeExtension{URL: federation.ExtMatchEvidence, Extension: []gradeExtension{
			{URL: "field", ValueCode: e.Field},
			{URL: "level", ValueCode: e.Level},
			{URL: "weight", ValueDecimal: &w},
		}})
	}
	return out
}

// searchset is a searchset Bundle built or read here.
type searchset struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Total        *int64        `json:"total,omitempty"`
	Link         []bundleLink  `json:"link,omitempty"`
	Entry        []searchEntry `json:"entry,omitempty"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// score returns an entry's search score, 0 if none.
func (e searchEntry) score() float64 {
	if e.Search == nil || e.Search.Score == nil {
		return 0
	}
	return *e.Search.Score
}

// outcomeEntry returns the search-mode outcome entry listing issues.
func outcomeEntry(issues []r4.OperationOutcomeIssue) (searchEntry, error) {
	b, err := json.Marshal(r4.OperationOutcome{Issue: issues})
	if err != nil {
		return searchEntry{}, err
	}
	return searchEntry{Resource: b, Search: &entrySearch{Mode: "outcome"}}, nil
}

// failureIssues turns the countries missing from a fan-out into issues;
// a peer that refused (consent missing, forbidden) is said so.
func failureIssues(fs []*federation.Failure) []r4.OperationOutcomeIssue {
	var out []r4.OperationOutcomeIssue
	for _, f := range fs {
		is := f.Issue()
		text := ""
		switch {
		case f.Reason != federation.FailError:
		case errors.Is(f.Err, records.ErrForbidden):
			text = "country " + string(f.Country) + " holds a record but did not share it: no active Consent, or access refused"
			is.Code = r4.IssueTypeForbidden
		case errors.Is(f.Err, records.ErrPeerUnavailable):
			text = "country " + string(f.Country) + " could not be reached or failed"
		}
		if text != "" {
			is.Diagnostics, is.Details.Text = &text, &text
		}
		out = append(out, is)
	}
	return out
}

// writeSearchset writes a searchset of entries with total and self link,
// and an outcome entry when issues is not empty.
func writeSearchset(c echo.Context, self string, entries []searchEntry, total int64, issues []r4.OperationOutcomeIssue) error {
	b := searchset{ResourceType: "Bundle", Type: "searchset", Total: &total, Link: []bundleLink{{"self", self}}, Entry: entries}
	if len(issues) > 0 {
		e, err := outcomeEntry(issues)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, e)
	}
	return writeJSON(c, http.StatusOK, b)
}

// tagCountry adds the meta.tag naming cc to a rendered resource.
func tagCountry(body []byte, cc records.Country) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	var meta map[string]json.RawMessage
	if raw, ok := m["meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, err
		}
	}
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	var tags []json.RawMessage
	if raw, ok := meta["tag"]; ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, err
		}
	}
	tag, _ := json.Marshal(map[string]string{"system": CountryTagSystem, "code": string(cc)})
	for _, t := range tags {
		if string(t) == string(tag) {
			return body, nil
		}
	}
	tags = append(tags, tag)
	var err error
	if meta["tag"], err = json.Marshal(tags); err != nil {
		return nil, err
	}
	if m["meta"], err = json.Marshal(meta); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// stubPatient is what a peer learns of a record it may not see: that it
// exists, its id, and which country holds it.
func stubPatient(cc records.Country, id string) []byte {
	b, _ := json.Marshal(map[string]any{
		"resourceType": "Patient", "id": id,
		"meta": map[string]any{"tag": []map[string]string{{"system": CountryTagSystem, "code": string(cc)}}},
	})
	return b
}

// countryBase is the FHIR base URL of country cc on this node.
func countryBase(c echo.Context, cc records.Country) string {
	return c.Scheme() + "://" + c.Request().Host + "/countries/" + string(cc) + "/fhir"
}

// patientEntry renders a Patient for a searchset, tagged with its
// country, or a stub if stub is set.
func patientEntry(c echo.Context, cc records.Country, r records.Resource, stub bool) (searchEntry, error) {
	body := stubPatient(cc, r.ID)
	if !stub {
		b, err := fhir.Render(r)
		if err != nil {
			return searchEntry{}, err
		}
		if body, err = tagCountry(b, cc); err != nil {
			return searchEntry{}, err
		}
	}
	return searchEntry{FullURL: countryBase(c, cc) + "/Patient/" + r.ID, Resource: body, Search: &entrySearch{Mode: "match"}}, nil
}

// handleMatch serves POST /fhir/Patient/$match: a Parameters with a
// Patient "resource", optional "onlyCertainMatches" and "count". The
// candidates of the country's records are scored (records/federation) and
// returned best first, each with search.score and the match-grade
// extension. With _federated=true every hosted and peer country is asked
// in parallel; the countries that did not answer in time are named in an
// outcome entry. A peer sees a candidate without the person's Consent only
// as a stub: its id and country.
func (s *Server) handleMatch(c echo.Context) error {
	a := auditOf(c)
	a.resourceType, a.resourceID = "Patient", ""
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	params, err := parseParameters(body)
	if err != nil {
		return err
	}
	raw := params.resource("resource")
	if raw == nil {
		return &records.FieldError{Field: "Parameters.parameter(resource)", Reason: "want the Patient to match as parameter \"resource\"", Kind: records.ErrMalformed}
	}
	if _, err := fhir.Parse(raw, "Patient", s.now()); err != nil {
		return err
	}
	query, err := federation.FromPatientJSON(raw)
	if err != nil {
		return err
	}
	onlyCertain, count := false, defaultMatchCount
	for _, p := range params.Parameter {
		switch {
		case p.Name == "onlyCertainMatches" && p.ValueBoolean != nil:
			onlyCertain = *p.ValueBoolean
		case p.Name == "count" && p.ValueInteger != nil:
			if *p.ValueInteger < 1 {
				return &records.FieldError{Field: "Parameters.parameter(count)", Reason: "want a positive integer", Kind: records.ErrMalformed}
			}
			count = min(*p.ValueInteger, maxMatchCount)
		}
	}
	ctx := c.Request().Context()
	_, fromPeer := peerCaller(c)
	local := []records.Country{country(c)}
	var peers []records.Country
	if c.QueryParam(federatedParameter) == "true" && !fromPeer {
		local, peers = s.countries, s.fed.peerCountries()
	}
	var entries []searchEntry
	for _, cc := range local {
		es, err := s.matchLocal(c, cc, query, onlyCertain, fromPeer, count)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
	}
	var issues []r4.OperationOutcomeIssue
	if len(peers) > 0 {
		caller, _, err := s.userCaller(c)
		if err != nil {
			return err
		}
		ans := fanOut(ctx, s.fed, peers, func(ctx context.Context, cc records.Country) ([]searchEntry, error) {
			return s.fed.searchPeer(ctx, cc, caller, http.MethodPost, "/countries/"+string(cc)+"/fhir/Patient/$match", body)
		})
		for _, r := range ans.Replies {
			entries = append(entries, r.Value...)
		}
		issues = failureIssues(ans.Failures)
	}
	slices.SortStableFunc(entries, func(a, b searchEntry) int { return cmp.Compare(b.score(), a.score()) })
	if len(entries) > count {
		entries = entries[:count]
	}
	a.discloseEntries(entries)
	self := base(c) + "/Patient/$match"
	return writeSearchset(c, self, entries, int64(len(entries)), issues)
}

// matchLocal scores the candidates of country cc for query and returns
// the best count of them, by score (stable: ties keep the order of
// federation.Rank). handleMatch keeps the best count of all countries, by
// score and stably, so no other candidate of cc could be in its answer:
// their records are not read (for the Consent, when a peer asks) nor
// rendered.
func (s *Server) matchLocal(c echo.Context, cc records.Country, query federation.Person, onlyCertain, fromPeer bool, count int) ([]searchEntry, error) {
	ctx := c.Request().Context()
	found := map[string]records.Resource{}
	for _, q := range federation.CandidateQueries(query) {
		// Every page of a search reads all its matches again (the store
		// pages in Go): ask for the largest page, so that one read
		// usually brings them all.
		q.Count = records.MaxCount
		for range maxCandidatePages {
			page, err := s.records.Search(ctx, cc, q)
			if err != nil {
				return nil, err
			}
			for _, r := range page.Resources {
				found[r.ID] = r
			}
			if q.After = page.Next; q.After == "" {
				break
			}
		}
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range found {
			if !yield(id) {
				return
			}
		}
	})
	cands := make([]federation.Person, 0, len(ids))
	for _, id := range ids {
		// A stored body that starts with its resourceType is the Patient
		// as Parse wrote it (fhir.Render would only add id and meta, which
		// matching does not read): read it as it is.
		body := found[id].Body
		if !bytes.HasPrefix(body, []byte(`{"resourceType":"Patient"`)) {
			var err error
			if body, err = fhir.Render(found[id]); err != nil {
				return nil, err
			}
		}
		p, err := federation.FromStoredPatientJSON(body)
		if err != nil {
			continue // not a Patient body: nothing to score
		}
		p.Country, p.ID = cc, id
		cands = append(cands, p)
	}
	ranked := federation.Rank(query, cands)
	if onlyCertain {
		ranked = slices.DeleteFunc(ranked, func(m federation.Ranked) bool { return m.Grade != federation.Certain })
	}
	// Rank orders by weight, and a rule may set a score out of that order.
	slices.SortStableFunc(ranked, func(a, b federation.Ranked) int { return cmp.Compare(b.Score, a.Score) })
	var out []searchEntry
	for _, m := range ranked[:min(count, len(ranked))] {
		stub := false
		if fromPeer {
			ok, err := s.consentOf(ctx, cc, m.Candidate.ID)
			if err != nil {
				return nil, err
			}
			stub = !ok
		}
		e, err := patientEntry(c, cc, found[m.Candidate.ID], stub)
		if err != nil {
			return nil, err
		}
		score := m.Score
		e.Search.Score = &score
		e.Search.Extension = matchExtensions(m)
		out = append(out, e)
	}
	return out, nil
}

// searchPeer sends a search or $match to cc's node and returns the
// entries of its searchset (outcome entries dropped), each resource tagged
// with cc. A status other than 200 is an error of the matching kind.
func (n *fedNode) searchPeer(ctx context.Context, cc records.Country, caller federation.Caller, method, path string, body []byte) ([]searchEntry, error) {
	resp, err := n.call(ctx, cc, caller, method, path, body, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, peerError(cc, resp.Status)
	}
	var b searchset
	if err := json.Unmarshal(resp.Body, &b); err != nil || b.ResourceType != "Bundle" {
		return nil, peerError(cc, http.StatusBadGateway)
	}
	out := make([]searchEntry, 0, len(b.Entry))
	for _, e := range b.Entry {
		if e.Search != nil && e.Search.Mode == "outcome" {
			continue
		}
		if len(e.Resource) > 0 {
			if e.Resource, err = tagCountry(e.Resource, cc); err != nil {
				return nil, peerError(cc, http.StatusBadGateway)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// handleSearchFederated serves GET /fhir/:type. A Patient search with
// _federated=true asks every hosted and peer country in parallel and
// merges what came back in time (no paging across countries; each
// country gives its first page); a Patient search from a peer shows the
// records without Consent as stubs. Anything else is handleSearch.
func (s *Server) handleSearchFederated(c echo.Context) error {
	_, fromPeer := peerCaller(c)
	federated := c.QueryParam(federatedParameter) == "true"
	if c.Param("type") != "Patient" || (!federated && !fromPeer) {
		return s.handleSearch(c)
	}
	params, err := s.searchParams(c)
	if err != nil {
		return err
	}
	delete(params, federatedParameter)
	req, err := fhir.ParseSearch("Patient", params)
	if err != nil {
		return err
	}
	if len(req.Include)+len(req.RevInclude)+len(req.Chains) > 0 || req.Subset.Active() {
		return &records.FieldError{Field: federatedParameter, Reason: "_include, _revinclude, chained parameters, _elements and _summary are not supported in a federated search", Kind: records.ErrNotSupported}
	}
	if fromPeer && len(req.Query.Conds) == 0 {
		return errorf(records.ErrForbidden, "peers search Patients by identifier, name or birth date, not the whole register")
	}
	ctx := c.Request().Context()
	local := []records.Country{country(c)}
	if federated && !fromPeer {
		local = s.countries
	}
	var entries []searchEntry
	var total int64
	for _, cc := range local {
		page, err := s.search(ctx, cc, req.Query, false)
		if err != nil {
			return err
		}
		total += max(page.Total, int64(len(page.Resources)))
		for _, r := range page.Resources {
			stub := false
			if fromPeer {
				p, err := s.records.Person(ctx, cc, r.ID)
				if err != nil {
					return err
				}
				stub = !sharingConsent(p)
			}
			e, err := patientEntry(c, cc, r, stub)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
	}
	var issues []r4.OperationOutcomeIssue
	if federated && !fromPeer {
		caller, _, err := s.userCaller(c)
		if err != nil {
			return err
		}
		q := params.Encode()
		ans := fanOut(ctx, s.fed, s.fed.peerCountries(), func(ctx context.Context, cc records.Country) ([]searchEntry, error) {
			return s.fed.searchPeer(ctx, cc, caller, http.MethodGet, "/countries/"+string(cc)+"/fhir/Patient?"+q, nil)
		})
		for _, r := range ans.Replies {
			entries = append(entries, r.Value...)
			total += int64(len(r.Value))
		}
		issues = failureIssues(ans.Failures)
	}
	auditOf(c).discloseEntries(entries)
	self := base(c) + "/Patient"
	if q := c.Request().URL.Query(); len(q) > 0 {
		self += "?" + url.Values(q).Encode()
	}
	return writeSearchset(c, self, entries, total, issues)
}
