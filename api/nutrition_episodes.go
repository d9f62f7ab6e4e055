package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/derive"
	"contigo/records/nutrition"
)

// AdmitRequest is the body of POST /episodes.
type AdmitRequest struct {
	Patient   string   `json:"patient"`   // the Patient's id
	Programme string   `json:"programme"` // otp, inpatient, tsfp, mami, followup
	Date      string   `json:"date"`      // admission date YYYY-MM-DD; "" = today
	Criteria  []string `json:"criteria,omitempty"`
	Site      string   `json:"site,omitempty"`
	AdminArea string   `json:"admin_area,omitempty"`
}

// CloseRequest is the body of PATCH /episodes/{id}.
type CloseRequest struct {
	Outcome string `json:"outcome,omitempty"` // cured, died, defaulted, non_response, transferred_internal, transferred_external, moved_unknown
	Reason  string `json:"reason,omitempty"`
	// TransferTo, instead of an outcome, transfers to another programme
	// (nutrition.Transfer: closes as transferred_internal and opens the
	// next episode of the same treatment course).
	TransferTo string `json:"transfer_to,omitempty"`
}

// EpisodeAnswer is the answer of the episode endpoints: the EpisodeOfCare
// id and the episode.
type EpisodeAnswer struct {
	ID      string            `json:"id"` // EpisodeOfCare id in the record
	Episode nutrition.Episode `json:"episode"`
}

// decodeStrict decodes the JSON object b into v: no unknown fields, no
// duplicate keys, valid UTF-8, nothing after the object (400 otherwise).
func decodeStrict(b []byte, v any) error {
	if err := fhir.CheckJSON(b, "body"); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &records.FieldError{Field: "body", Reason: "not the expected JSON object: " + err.Error(), Kind: records.ErrMalformed}
	}
	return nil
}

// handleAdmit serves POST /episodes: admits the person to a programme
// (nutrition.Admit), written to their record with the EpisodeOfCare.
func (s *Server) handleAdmit(c echo.Context) error {
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var req AdmitRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	date, err := checkAdmit(req, s.now())
	if err != nil {
		return err
	}
	adm := nutrition.Admission{Programme: req.Programme, Criteria: req.Criteria, Site: req.Site, AdminArea: req.AdminArea, Date: date}
	a := auditOf(c)
	a.resourceType, a.personID = "EpisodeOfCare", req.Patient
	actor := claims(c).Subject
	ctx := derive.WithCommand(WithActor(c.Request().Context(), actor), &derive.Command{Kind: "admit", Admission: adm, Actor: actor})
	res, err := s.records.Write(ctx, country(c), records.Write{PersonID: req.Patient, Derive: true})
	if err != nil {
		return err
	}
	st, err := s.nut.State(res.Person)
	if err != nil {
		return err
	}
	if len(st.Episodes) == 0 {
		return errorf(records.ErrConflict, "admission not recorded")
	}
	ep := st.Episodes[len(st.Episodes)-1]
	id := fhir.EpisodeID(req.Patient, ep.ID)
	a.resourceID = id
	return c.JSON(http.StatusCreated, EpisodeAnswer{ID: id, Episode: ep})
}

// handleCloseEpisode serves PATCH /episodes/{id}: closes the episode with an
// outcome (nutrition.Close), or transfers it to another programme
// (nutrition.Transfer; the answer is still the closed episode).
func (s *Server) handleCloseEpisode(c echo.Context) error {
	id := c.Param("id")
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var req CloseRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	if err := checkText("reason", req.Reason, maxReasonLength); err != nil {
		return err
	}
	pid := records.PersonOf("EpisodeOfCare", id)
	a := auditOf(c)
	a.resourceType, a.resourceID, a.personID = "EpisodeOfCare", id, pid
	ctx := c.Request().Context()
	p, err := s.records.Person(ctx, country(c), pid)
	if err != nil {
		return err
	}
	st, err := s.nut.State(p)
	if err != nil {
		return err
	}
	epID := ""
	for _, ep := range st.Episodes {
		if fhir.EpisodeID(pid, ep.ID) == id {
			epID = ep.ID
		}
	}
	if epID == "" {
		return errorf(records.ErrNotFound, "episode %s", id)
	}
	actor := claims(c).Subject
	cmd := &derive.Command{Kind: "close", Episode: epID, Outcome: req.Outcome, Reason: req.Reason, Actor: actor}
	if req.TransferTo != "" {
		cmd.Kind, cmd.Admission.Programme = "transfer", req.TransferTo
	}
	ctx = derive.WithCommand(WithActor(ctx, actor), cmd)
	res, err := s.records.Write(ctx, country(c), records.Write{PersonID: pid, Derive: true})
	if err != nil {
		return err
	}
	if st, err = s.nut.State(res.Person); err != nil {
		return err
	}
	for _, ep := range st.Episodes {
		if ep.ID == epID {
			return c.JSON(http.StatusOK, EpisodeAnswer{ID: id, Episode: ep})
		}
	}
	return errorf(records.ErrNotFound, "episode %s", id)
}
