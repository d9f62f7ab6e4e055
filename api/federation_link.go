package api

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"contigo/fhir"
	"contigo/records"
)

// remotePatient matches the end of an absolute reference to a Patient of
// a country's FHIR base: .../countries/{cc}/fhir/Patient/{id}.
var remotePatient = regexp.MustCompile(`/countries/([A-Za-z]{2})/fhir/Patient/([A-Za-z0-9\-.]{1,64})$`)

// linkedRecord is a record of the same person in another country.
type linkedRecord struct {
	Country records.Country
	ID      string
}

// patientLinks returns the records a Patient links to with type seealso
// (or replaced-by/refer) by absolute reference into a country's FHIR base.
func patientLinks(body []byte) []linkedRecord {
	var p struct {
		Link []struct {
			Other struct {
				Reference string `json:"reference"`
			} `json:"other"`
			Type string `json:"type"`
		} `json:"link"`
	}
	if json.Unmarshal(body, &p) != nil {
		return nil
	}
	var out []linkedRecord
	for _, l := range p.Link {
		m := remotePatient.FindStringSubmatch(l.Other.Reference)
		if m == nil {
			continue
		}
		cc, err := records.ParseCountry(m[1])
		if err != nil {
			continue
		}
		lr := linkedRecord{cc, m[2]}
		if !slices.Contains(out, lr) {
			out = append(out, lr)
		}
	}
	return out
}

// remoteURL is the absolute URL a link to the Patient id of country cc
// holds: the peer's base URL, or this node's for a hosted country.
func (s *Server) remoteURL(c echo.Context, cc records.Country, id string) string {
	if p, ok := s.fed.peers.Peer(cc); ok {
		return strings.TrimSuffix(p.URL.String(), "/") + "/countries/" + string(cc) + "/fhir/Patient/" + id
	}
	return countryBase(c, cc) + "/Patient/" + id
}

// handleLink serves POST /fhir/Patient/:id/$link: a health worker confirms
// that the record of another country (Parameters "country" and "patient",
// its id, or "other", an absolute reference) is the same person. The link
// is added to this Patient (Patient.link, type seealso, absolute URL) and
// the new version returned. The other record must exist: a peer's answer
// of 200, or 403 for want of consent, says it does. Nothing is ever linked
// without this call.
func (s *Server) handleLink(c echo.Context) error {
	id := c.Param("id")
	a := auditOf(c)
	a.resourceType, a.resourceID, a.personID = "Patient", id, id
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	params, err := parseParameters(body)
	if err != nil {
		return err
	}
	target := linkedRecord{ID: params.text("patient")}
	if cc := params.text("country"); cc != "" {
		if target.Country, err = records.ParseCountry(cc); err != nil {
			return &records.FieldError{Field: "Parameters.parameter(country)", Reason: "want an ISO 3166-1 alpha-2 code", Kind: records.ErrMalformed}
		}
	}
	if other := params.text("other"); other != "" {
		ls := patientLinks([]byte(`{"link":[{"other":{"reference":` + quote(other) + `}}]}`))
		if len(ls) == 0 {
			return &records.FieldError{Field: "Parameters.parameter(other)", Reason: "want an absolute reference .../countries/{cc}/fhir/Patient/{id}", Kind: records.ErrMalformed}
		}
		target = ls[0]
	}
	if target.Country == "" || target.ID == "" {
		return &records.FieldError{Field: "Parameters", Reason: "name the other record: \"country\" and \"patient\" (its id), or \"other\" (an absolute reference)", Kind: records.ErrMalformed}
	}
	cc := country(c)
	if target.Country == cc {
		return &records.FieldError{Field: "Parameters.parameter(country)", Reason: "links join records of other countries", Kind: records.ErrInvalid}
	}
	ctx := c.Request().Context()
	switch {
	case s.hosted[target.Country]:
		if _, err := s.records.Read(ctx, target.Country, "Patient", target.ID); err != nil {
			return err
		}
	case s.fed.isPeer(target.Country):
		caller, _, err := s.userCaller(c)
		if err != nil {
			return err
		}
		ans := fanOut(ctx, s.fed, []records.Country{target.Country}, func(ctx context.Context, pc records.Country) (int, error) {
			resp, err := s.fed.call(ctx, pc, caller, http.MethodGet, "/countries/"+string(pc)+"/fhir/Patient/"+target.ID, nil, nil)
			if err == nil && resp.Status != http.StatusOK && resp.Status != http.StatusForbidden {
				err = peerError(pc, resp.Status)
			}
			return resp.Status, err
		})
		if len(ans.Failures) > 0 {
			return ans.Failures[0]
		}
	default:
		return errorf(records.ErrNotFound, "country %s is not part of this federation", target.Country)
	}
	if err := s.addLink(ctx, c, cc, id, target); err != nil {
		return err
	}
	p, err := s.records.Read(ctx, cc, "Patient", id)
	if err != nil {
		return err
	}
	return writeResource(c, http.StatusOK, p)
}

// quote returns s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// handleEverythingFederated serves GET /fhir/Patient/:id/$everything. With
// _federated=true it merges the record here with the records of every
// country this Patient links to (Patient.link), fetched in parallel: the
// Patients first, then every resource in clinical date order, each tagged
// with its country (meta.tag CountryTagSystem). A linked country that
// does not answer in time or refuses (no consent) is named in an outcome
// entry. Without _federated it is handleEverything.
func (s *Server) handleEverythingFederated(c echo.Context) error {
	_, fromPeer := peerCaller(c)
	if c.QueryParam(federatedParameter) != "true" || fromPeer {
		return s.handleEverything(c)
	}
	id := c.Param("id")
	a := auditOf(c)
	a.resourceType, a.personID = "Patient", id
	out, issues, err := s.federatedRecord(c, id)
	if err != nil {
		return err
	}
	a.discloseEntries(out)
	return writeSearchset(c, base(c)+"/Patient/"+id+"/$everything?_federated=true", out, int64(len(out)), issues)
}

// federatedRecord returns Patient id's record here merged with the records
// of every country it links to, as handleEverythingFederated describes,
// and an issue for every linked country that did not answer.
func (s *Server) federatedRecord(c echo.Context, id string) ([]searchEntry, []r4.OperationOutcomeIssue, error) {
	ctx, cc := c.Request().Context(), country(c)
	rs, err := s.records.Everything(ctx, cc, id)
	if err != nil {
		return nil, nil, err
	}
	var entries []dated
	var links []linkedRecord
	for _, r := range rs {
		if r.Type == "Patient" && r.ID == id {
			if b, err := fhir.Render(r); err == nil {
				links = patientLinks(b)
			}
		}
	}
	add := func(cc records.Country, rs []records.Resource) error {
		for _, r := range rs {
			b, err := fhir.Render(r)
			if err != nil {
				return err
			}
			if b, err = tagCountry(b, cc); err != nil {
				return err
			}
			entries = append(entries, datedEntry(searchEntry{FullURL: countryBase(c, cc) + "/" + r.Type + "/" + r.ID, Resource: b, Search: &entrySearch{Mode: "match"}}, cc))
		}
		return nil
	}
	if err := add(cc, rs); err != nil {
		return nil, nil, err
	}
	remote := map[records.Country][]string{}
	for _, l := range links {
		switch {
		case l.Country == cc:
		case s.hosted[l.Country]:
			lrs, err := s.records.Everything(ctx, l.Country, l.ID)
			if err != nil {
				return nil, nil, err
			}
			if err := add(l.Country, lrs); err != nil {
				return nil, nil, err
			}
		default:
			remote[l.Country] = append(remote[l.Country], l.ID)
		}
	}
	var issues []r4.OperationOutcomeIssue
	if len(remote) > 0 {
		caller, _, err := s.userCaller(c)
		if err != nil {
			return nil, nil, err
		}
		countries := make([]records.Country, 0, len(remote))
		var unknown []records.Country
		for rc := range remote {
			if s.fed.isPeer(rc) {
				countries = append(countries, rc)
			} else {
				unknown = append(unknown, rc)
			}
		}
		ans := fanOut(ctx, s.fed, countries, func(ctx context.Context, pc records.Country) ([]searchEntry, error) {
			var out []searchEntry
			for _, pid := range remote[pc] {
				es, err := s.fed.searchPeer(ctx, pc, caller, http.MethodGet, "/countries/"+string(pc)+"/fhir/Patient/"+pid+"/$everything", nil)
				if err != nil {
					return nil, err
				}
				out = append(out, es...)
			}
			return out, nil
		})
		for _, r := range ans.Replies {
			for _, e := range r.Value {
				entries = append(entries, datedEntry(e, r.Country))
			}
		}
		issues = failureIssues(ans.Failures)
		slices.Sort(unknown)
		for _, u := range unknown {
			text := "country " + string(u) + " is linked but not part of this federation"
			issues = append(issues, r4.OperationOutcomeIssue{Severity: r4.IssueSeverityWarning, Code: r4.IssueTypeNotFound, Diagnostics: &text})
		}
	}
	// The Patient asked for first, then the linked Patients, then the
	// rest by clinical date (the first entry is this country's Patient).
	rank := func(i int, d dated) int {
		switch {
		case i == 0:
			return 0
		case d.patient:
			return 1
		}
		return 2
	}
	for i := range entries {
		entries[i].rank = rank(i, entries[i])
	}
	slices.SortStableFunc(entries, func(a, b dated) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.date, b.date))
	})
	out := make([]searchEntry, len(entries))
	for i, e := range entries {
		out[i] = e.searchEntry
	}
	return out, issues, nil
}

// dated is an entry of a merged record with its clinical date.
type dated struct {
	searchEntry
	patient bool
	rank    int // 0 the Patient asked for, 1 linked Patients, 2 the rest
	date    string
}

// datedEntry reads the clinical date of e's resource: effective, period,
// onset, performed, occurrence or recorded time, else its last update.
func datedEntry(e searchEntry, _ records.Country) dated {
	var r struct {
		ResourceType      string `json:"resourceType"`
		EffectiveDateTime string `json:"effectiveDateTime"`
		EffectivePeriod   struct {
			Start string `json:"start"`
		} `json:"effectivePeriod"`
		Period struct {
			Start string `json:"start"`
		} `json:"period"`
		OnsetDateTime     string `json:"onsetDateTime"`
		PerformedDateTime string `json:"performedDateTime"`
		PerformedPeriod   struct {
			Start string `json:"start"`
		} `json:"performedPeriod"`
		DateTime     string `json:"dateTime"`
		RecordedDate string `json:"recordedDate"`
		Meta         struct {
			LastUpdated string `json:"lastUpdated"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(e.Resource, &r)
	return dated{searchEntry: e, patient: r.ResourceType == "Patient",
		date: cmp.Or(r.EffectiveDateTime, r.EffectivePeriod.Start, r.Period.Start, r.OnsetDateTime, r.PerformedDateTime,
			r.PerformedPeriod.Start, r.DateTime, r.RecordedDate, r.Meta.LastUpdated)}
}
