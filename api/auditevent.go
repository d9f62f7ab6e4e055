package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
)

// handleAuditRead serves GET /fhir/AuditEvent/:id from the audit log.
func (s *Server) handleAuditRead(c echo.Context) error {
	auditOf(c).resourceType = "AuditEvent"
	e, err := s.records.Store().Audit(c.Request().Context(), country(c), c.Param("id"))
	if err != nil {
		return err
	}
	r, err := auditResource(e)
	if err != nil {
		return err
	}
	return writeResource(c, http.StatusOK, r)
}

// Audit search bounds.
const (
	defaultAuditCount = 50
	maxAuditCount     = 500
)

// handleAuditSearch serves GET /fhir/AuditEvent: audit entries newest first,
// by patient or entity (Patient/<id> or <id>), date (ge, gt, le, lt
// prefixes), _count, with next and previous links.
func (s *Server) handleAuditSearch(c echo.Context) error {
	a := auditOf(c)
	a.resourceType = "AuditEvent"
	params, err := s.searchParams(c)
	if err != nil {
		return err
	}
	// _cursor comes from SearchBundle's links: fhir unwraps it.
	req := fhir.SearchRequest{Query: records.Query{Type: "AuditEvent"}}
	if v := params.Get("_cursor"); v != "" {
		if err := req.SetCursor(v); err != nil {
			return err
		}
	}
	delete(params, "_cursor")
	q, err := auditQuery(params)
	if err != nil {
		return err
	}
	q.After = req.Query.After
	req.Query.Count, req.Params = q.Count, params
	a.personID = q.PersonID
	entries, next, err := s.records.Store().Audits(c.Request().Context(), country(c), q)
	if err != nil {
		return err
	}
	page := records.Page{Next: next, Total: -1}
	for _, e := range entries {
		r, err := auditResource(e)
		if err != nil {
			return err
		}
		page.Resources = append(page.Resources, r)
	}
	b, err := fhir.SearchBundle(base(c), req, page)
	if err != nil {
		return err
	}
	return writeBundle(c, http.StatusOK, b)
}

// auditQuery parses AuditEvent search parameters. Unknown ones are 400.
func auditQuery(params url.Values) (records.AuditQuery, error) {
	q := records.AuditQuery{Count: defaultAuditCount}
	bad := func(name, why string) (records.AuditQuery, error) {
		return records.AuditQuery{}, &records.FieldError{Field: name, Reason: why, Kind: records.ErrMalformed}
	}
	for name, vs := range params {
		for _, v := range vs {
			switch name {
			case "patient", "entity":
				q.PersonID = strings.TrimPrefix(v, "Patient/")
			case "_count":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return bad(name, "want a positive integer")
				}
				q.Count = min(n, maxAuditCount)
			case "date":
				prefix, t := v[:min(2, len(v))], ""
				switch prefix {
				case "ge", "gt", "le", "lt":
					t = v[2:]
				default:
					prefix, t = "eq", v
				}
				at, err := time.Parse(time.RFC3339Nano, t)
				if err != nil {
					if d, derr := time.Parse(time.DateOnly, t); derr == nil {
						at, err = d, nil
						if prefix == "le" || prefix == "gt" {
							at = at.Add(24*time.Hour - time.Nanosecond)
						}
					}
				}
				if err != nil {
					return bad(name, "want a date or instant with an optional ge, gt, le or lt prefix")
				}
				switch prefix {
				case "ge", "gt":
					q.Since = at
				case "le", "lt":
					q.Until = at
				default:
					return bad(name, "use ge/gt and le/lt prefixes for a range")
				}
			default:
				return bad(name, "unknown AuditEvent search parameter (supported: patient, entity, date, _count)")
			}
		}
	}
	return q, nil
}

// auditResource turns an audit entry into an AuditEvent resource.
func auditResource(e records.AuditEntry) (records.Resource, error) {
	outcome := "0"
	switch {
	case e.Outcome >= 500:
		outcome = "8"
	case e.Outcome >= 400:
		outcome = "4"
	}
	// a batch entry and a resource a search included are audited as their interaction
	subtype := strings.TrimPrefix(strings.TrimPrefix(e.Interaction, "batch-"), "include-")
	switch subtype {
	case "read", "vread", "update", "patch", "delete", "create", "history-instance", "history-type", "search-type", "transaction", "batch":
	default:
		subtype = "operation"
	}
	type ref struct {
		Reference string `json:"reference,omitempty"`
		Display   string `json:"display,omitempty"`
	}
	type coding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	type detail struct {
		Type        string `json:"type"`
		ValueString string `json:"valueString"`
	}
	type entity struct {
		What   *ref     `json:"what,omitempty"`
		Role   *coding  `json:"role,omitempty"`
		Detail []detail `json:"detail,omitempty"`
	}
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"type":         coding{System: "http://terminology.hl7.org/CodeSystem/audit-event-type", Code: "rest", Display: "RESTful Operation"},
		"subtype":      []coding{{System: "http://hl7.org/fhir/restful-interaction", Code: subtype}},
		"recorded":     e.Time.UTC().Format(time.RFC3339Nano),
		"outcome":      outcome,
		"outcomeDesc":  "HTTP " + strconv.Itoa(e.Outcome) + " (" + e.Interaction + ")",
		"agent": []map[string]any{{
			"who":       ref{Display: e.Actor},
			"role":      []map[string]string{{"text": e.Role}},
			"requestor": true,
		}},
		"source": map[string]any{"site": string(e.Country), "observer": ref{Display: "contigo node " + string(e.Country)}},
	}
	if a := e.Action; a != "" {
		ev["action"] = a
	}
	var ents []entity
	if e.ResourceType != "" && e.ResourceID != "" {
		ents = append(ents, entity{What: &ref{Reference: e.ResourceType + "/" + e.ResourceID}})
	}
	if e.PersonID != "" {
		ents = append(ents, entity{What: &ref{Reference: "Patient/" + e.PersonID}, Role: &coding{System: "http://terminology.hl7.org/CodeSystem/object-role", Code: "1", Display: "Patient"}})
	}
	for _, p := range e.Persons {
		ents = append(ents, entity{What: &ref{Reference: "Patient/" + p}, Role: &coding{System: "http://terminology.hl7.org/CodeSystem/object-role", Code: "1", Display: "Patient"}})
	}
	if e.RequestID != "" {
		ents = append(ents, entity{Detail: []detail{{Type: "request-id", ValueString: e.RequestID}}})
	}
	if len(ents) > 0 {
		ev["entity"] = ents
	}
	if e.Purpose != "" {
		ev["purposeOfEvent"] = []map[string]string{{"text": e.Purpose}}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return records.Resource{}, err
	}
	return records.Resource{Type: "AuditEvent", ID: e.ID, Version: 1, Updated: e.Time.UTC(), Body: body}, nil
}

// handleMetadata serves GET /fhir/metadata: the CapabilityStatement.
func (s *Server) handleMetadata(c echo.Context) error {
	return writeBundle(c, http.StatusOK, fhir.Capability(fhir.CapabilityOptions{
		Base: base(c), Version: s.version, Now: s.now(), TokenURL: origin(c) + "/auth/token",
		Conformance: s.conf, Operations: s.routedOperations(),
	}))
}
