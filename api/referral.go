package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/federation"
)

// Referral codes: the Flag a referral leaves in the destination country.
const (
	ReferralSystem = "https://contigo.example/fhir/CodeSystem/flag"
	ReferralCode   = "referral-in"
)

// handleRefer serves POST /fhir/Patient/:id/$refer: a health worker
// closing care because the family moves on refers the person to the next
// country (Parameters "country", "reason"). Sharing the record needs the
// person's active Consent (403 without). The destination node receives a
// copy of the Patient (or uses the record this one links to there) and
// stores an active Flag "referral-in" on it, which its health workers
// find with GET /fhir/Flag?status=active (code referral-in); this Patient gets a link to
// the record there. The answer is the destination's Flag (201).
func (s *Server) handleRefer(c echo.Context) error {
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
	dest, err := records.ParseCountry(params.text("country"))
	if err != nil {
		return &records.FieldError{Field: "Parameters.parameter(country)", Reason: "want the destination country, an ISO 3166-1 alpha-2 code", Kind: records.ErrMalformed}
	}
	reason := strings.TrimSpace(params.text("reason"))
	if reason == "" {
		return &records.FieldError{Field: "Parameters.parameter(reason)", Reason: "state why the person is referred", Kind: records.ErrMalformed}
	}
	if err := checkText("Parameters.parameter(reason)", reason, maxReasonLength); err != nil {
		return err
	}
	ctx, cc := c.Request().Context(), country(c)
	if dest == cc {
		return &records.FieldError{Field: "Parameters.parameter(country)", Reason: "refer to another country", Kind: records.ErrInvalid}
	}
	p, err := s.records.Person(ctx, cc, id)
	if err != nil {
		return err
	}
	pt, ok := p.Patient()
	if !ok || pt.Deleted {
		return errorf(records.ErrNotFound, "Patient/%s", id)
	}
	if !sharingConsent(p) {
		return errorf(records.ErrForbidden, "a referral shares the record with %s: the person has no active Consent to share it", dest)
	}
	rendered, err := fhir.Render(pt)
	if err != nil {
		return err
	}
	target := ""
	for _, l := range patientLinks(rendered) {
		if l.Country == dest {
			target = l.ID
		}
	}
	copyBody, err := referralCopy(pt.Body, s.remoteURL(c, cc, id))
	if err != nil {
		return err
	}
	in := referralIn{From: cc, Reason: reason, Target: target, Patient: copyBody}
	var flag records.Resource
	var status int
	var respBody []byte
	var loc string
	switch {
	case s.hosted[dest]:
		flag, err = s.receiveReferral(ctx, dest, in)
		if err != nil {
			return err
		}
		status, loc = http.StatusCreated, countryBase(c, dest)+"/Flag/"+flag.ID+"/_history/"+strconv.FormatInt(flag.Version, 10)
		if respBody, err = fhir.Render(flag); err != nil {
			return err
		}
	case s.fed.isPeer(dest):
		caller, _, err := s.userCaller(c)
		if err != nil {
			return err
		}
		caller.Purpose = federation.PurposeReferral
		pb, err := json.Marshal(in.parameters())
		if err != nil {
			return err
		}
		ans := fanOut(ctx, s.fed, []records.Country{dest}, func(ctx context.Context, pc records.Country) (peerResponse, error) {
			resp, err := s.fed.call(ctx, pc, caller, http.MethodPost, "/countries/"+string(pc)+"/fhir/Patient/$referral", pb, nil)
			if err == nil && resp.Status != http.StatusCreated {
				err = peerError(pc, resp.Status)
			}
			return resp, err
		})
		if len(ans.Failures) > 0 {
			return ans.Failures[0]
		}
		resp := ans.Replies[0].Value
		status, respBody, loc = resp.Status, resp.Body, resp.Header.Get(echo.HeaderLocation)
		var f struct {
			Subject struct {
				Reference string `json:"reference"`
			} `json:"subject"`
		}
		if json.Unmarshal(respBody, &f) == nil {
			flag.Body = respBody
			_, flagSubject, _ := strings.Cut(f.Subject.Reference, "Patient/")
			target = flagSubject
		}
	default:
		return errorf(records.ErrNotFound, "country %s is not part of this federation", dest)
	}
	if s.hosted[dest] {
		target = records.PersonOf("Flag", flag.ID)
	}
	if target != "" {
		if err := s.addLink(ctx, c, cc, id, linkedRecord{dest, target}); err != nil {
			s.log.WarnContext(ctx, "refer: link to the destination record", "request_id", requestID(c), "err", err)
		}
	}
	if loc != "" {
		c.Response().Header().Set(echo.HeaderLocation, loc)
	}
	return c.Blob(status, fhirJSON, respBody)
}

// referralIn is what a destination node receives.
type referralIn struct {
	From    records.Country
	Reason  string
	Target  string          // the linked record there, if any
	Patient json.RawMessage // a copy of the Patient, linking back
}

func (in referralIn) parameters() map[string]any {
	ps := []map[string]any{
		{"name": "from", "valueCode": string(in.From)},
		{"name": "reason", "valueString": in.Reason},
		{"name": "patient", "resource": in.Patient},
	}
	if in.Target != "" {
		ps = append(ps, map[string]any{"name": "target", "valueId": in.Target})
	}
	return map[string]any{"resourceType": "Parameters", "parameter": ps}
}

// referralCopy is the Patient sent with a referral: the record's Patient
// without id or meta, with a link back to the original.
func referralCopy(body []byte, origin string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	delete(m, "id")
	delete(m, "meta")
	links, _ := m["link"].([]any)
	m["link"] = append(links, map[string]any{"other": map[string]any{"reference": origin, "type": "Patient"}, "type": "seealso"})
	return json.Marshal(m)
}

// handleReferral serves POST /countries/{cc}/fhir/Patient/$referral, for
// peers only: it stores the referral of handleRefer in country cc.
func (s *Server) handleReferral(c echo.Context) error {
	caller, ok := peerCaller(c)
	a := auditOf(c)
	a.resourceType = "Flag"
	if !ok {
		return errorf(records.ErrForbidden, "$referral is how peer nodes deliver referrals; users call Patient/{id}/$refer")
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	params, err := parseParameters(body)
	if err != nil {
		return err
	}
	in := referralIn{From: caller.From, Reason: params.text("reason"), Target: params.text("target"), Patient: params.resource("patient")}
	if in.Patient == nil || in.Reason == "" {
		return &records.FieldError{Field: "Parameters", Reason: "want patient and reason", Kind: records.ErrMalformed}
	}
	if err := checkText("Parameters.parameter(reason)", in.Reason, maxReasonLength); err != nil {
		return err
	}
	flag, err := s.receiveReferral(c.Request().Context(), country(c), in)
	if err != nil {
		return err
	}
	a.resourceID, a.personID = flag.ID, records.PersonOf("Flag", flag.ID)
	c.Response().Header().Set(echo.HeaderLocation, base(c)+"/Flag/"+flag.ID+"/_history/"+strconv.FormatInt(flag.Version, 10))
	return writeResource(c, http.StatusCreated, flag)
}

// receiveReferral stores a referral in country cc: on the target record if
// it exists, else on a record holding one of the copy's identifiers, else
// on a new record made from the copy; then an active Flag on it.
func (s *Server) receiveReferral(ctx context.Context, cc records.Country, in referralIn) (records.Resource, error) {
	pid := ""
	if in.Target != "" {
		if _, err := s.records.Read(ctx, cc, "Patient", in.Target); err == nil {
			pid = in.Target
		}
	}
	if pid == "" {
		q, err := federation.FromPatientJSON(in.Patient)
		if err != nil {
			return records.Resource{}, err
		}
		for _, ident := range q.Identifiers {
			p, err := s.records.FindByIdentifier(ctx, cc, ident)
			if err == nil {
				pid = p.ID
				break
			}
			if !errors.Is(err, records.ErrNotFound) {
				return records.Resource{}, err
			}
		}
	}
	if pid == "" {
		res, err := fhir.Parse(in.Patient, "Patient", s.now())
		if err != nil {
			return records.Resource{}, err
		}
		res.ID = ""
		r, err := s.create(ctx, cc, res, &auditInfo{})
		if err != nil {
			return records.Resource{}, err
		}
		pid = r.ID
	}
	flag, _ := json.Marshal(map[string]any{
		"resourceType": "Flag",
		"status":       "active",
		"category": []map[string]any{{"coding": []map[string]string{{
			"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "clinical", "display": "Clinical"}}, "text": "referral"}},
		"code": map[string]any{
			"coding": []map[string]string{{"system": ReferralSystem, "code": ReferralCode, "display": "Referred from another country"}},
			"text":   "Referral from " + string(in.From) + ": " + in.Reason,
		},
		"subject": map[string]string{"reference": "Patient/" + pid},
		"period":  map[string]string{"start": s.now().UTC().Format("2006-01-02T15:04:05Z")},
	})
	res, err := fhir.Parse(flag, "Flag", s.now())
	if err != nil {
		return records.Resource{}, err
	}
	return s.create(ctx, cc, res, &auditInfo{})
}

// addLink adds a seealso link to record other on Patient id of cc, unless
// it is there.
func (s *Server) addLink(ctx context.Context, c echo.Context, cc records.Country, id string, other linkedRecord) error {
	p, err := s.records.Read(ctx, cc, "Patient", id)
	if err != nil {
		return err
	}
	cur, err := fhir.Render(p)
	if err != nil {
		return err
	}
	for _, l := range patientLinks(cur) {
		if l == other {
			return nil
		}
	}
	var m map[string]any
	if err := json.Unmarshal(p.Body, &m); err != nil {
		return err
	}
	links, _ := m["link"].([]any)
	m["link"] = append(links, map[string]any{"other": map[string]any{"reference": s.remoteURL(c, other.Country, other.ID), "type": "Patient"}, "type": "seealso"})
	nb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	res, err := fhir.Parse(nb, "Patient", s.now())
	if err != nil {
		return err
	}
	_, err = s.update(ctx, cc, res, id, p.Version)
	return err
}
