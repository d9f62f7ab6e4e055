package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"contigo/fhir"
	"contigo/growth"
	"contigo/records"
	"contigo/records/nutrition"
)

// A chartVisit is one measured visit of a child's record, scored.
type chartVisit struct {
	Country records.Country
	M       nutrition.Measurement
	AgeDays float64
	AgeOK   bool
	R       growth.Result
}

// A childRecord is what the growth charts and the carné show of a person:
// their details from the Patient of the country asked, and every measured
// visit in every linked country, oldest first.
type childRecord struct {
	ID          string
	Country     records.Country
	Name        string
	Sex         growth.Sex
	Birth       time.Time
	Identifiers []string
	Visits      []chartVisit
	// Unanswered names the linked countries whose records are missing,
	// as the OperationOutcome issues of the federated read say.
	Unanswered []string
}

// entryHead is what childRecord reads of each resource of a record.
type entryHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Tag []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"tag"`
	} `json:"meta"`
	Gender     string `json:"gender"`
	BirthDate  string `json:"birthDate"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Name []struct {
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
}

// readChildRecord reads Patient id's record, across every linked country
// unless the request says _federated=false, and scores each measured visit
// by the WHO standards.
func (s *Server) readChildRecord(c echo.Context, id string) (*childRecord, error) {
	here := country(c)
	var entries []searchEntry
	var unanswered []string
	if c.QueryParam(federatedParameter) == "false" {
		rs, err := s.records.Everything(c.Request().Context(), here, id)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			b, err := fhir.Render(r)
			if err != nil {
				return nil, err
			}
			entries = append(entries, searchEntry{Resource: b})
		}
	} else {
		es, issues, err := s.federatedRecord(c, id)
		if err != nil {
			return nil, err
		}
		entries = es
		for _, is := range issues {
			if is.Diagnostics != nil {
				unanswered = append(unanswered, *is.Diagnostics)
			}
		}
	}
	persons := map[records.Country]*records.Person{}
	var order []records.Country
	out := &childRecord{ID: id, Country: here, Unanswered: unanswered}
	for _, e := range entries {
		var h entryHead
		if err := json.Unmarshal(e.Resource, &h); err != nil {
			return nil, fmt.Errorf("growth chart: read entry: %w", err)
		}
		cc := here
		for _, t := range h.Meta.Tag {
			if t.System == CountryTagSystem && t.Code != "" {
				cc = records.Country(t.Code)
			}
		}
		p := persons[cc]
		if p == nil {
			p = &records.Person{Country: cc}
			persons[cc] = p
			order = append(order, cc)
		}
		if h.ResourceType == "Patient" {
			if p.ID == "" {
				p.ID = h.ID
			}
			if cc == here && h.ID == id {
				out.fillPatient(&h)
			}
		}
		r := records.Resource{Type: h.ResourceType, ID: h.ID, Body: e.Resource}
		if h.ResourceType == "Observation" {
			// The search keys tell ReadVisits which Observations it reads.
			if pr, err := fhir.Parse(e.Resource, "Observation", time.Now()); err == nil {
				r.Keys = pr.Keys
			}
		}
		p.Resources = append(p.Resources, r)
	}
	for _, cc := range order {
		vs, err := fhir.ReadVisits(persons[cc])
		if err != nil {
			return nil, err
		}
		for _, m := range vs.Measurements {
			if m.Subject == nutrition.SubjectPLW {
				continue
			}
			out.Visits = append(out.Visits, scoreVisit(cc, m, out))
		}
	}
	slices.SortStableFunc(out.Visits, func(a, b chartVisit) int {
		return cmp.Or(a.M.Date.Compare(b.M.Date), cmp.Compare(a.Country, b.Country))
	})
	return out, nil
}

// fillPatient copies the Patient's details into r.
func (r *childRecord) fillPatient(h *entryHead) {
	switch h.Gender {
	case "male":
		r.Sex = growth.Male
	case "female":
		r.Sex = growth.Female
	}
	r.Birth, _ = time.Parse(time.DateOnly, h.BirthDate)
	for _, n := range h.Name {
		name := n.Text
		if name == "" {
			name = strings.TrimSpace(strings.Join(n.Given, " ") + " " + n.Family)
		}
		if name != "" {
			r.Name = name
			break
		}
	}
	for _, id := range h.Identifier {
		r.Identifiers = append(r.Identifiers, cmp.Or(id.System, "-")+" | "+id.Value)
	}
}

// scoreVisit scores m, taken in country cc, by the WHO standards.
func scoreVisit(cc records.Country, m nutrition.Measurement, r *childRecord) chartVisit {
	v := chartVisit{Country: cc, M: m}
	g := growth.NewMeasurement()
	g.Sex = r.Sex
	birth := r.Birth
	if birth.IsZero() {
		birth = m.BirthDate
	}
	if d, err := growth.AgeDays(birth, m.Date); err == nil && !birth.IsZero() && d >= 0 {
		v.AgeDays, v.AgeOK = d, true
		g.Age, g.AgeUnit = d, growth.Days
	}
	if m.WeightKg != nil {
		g.Weight = *m.WeightKg
	}
	if m.LengthCm != nil {
		g.LenHei = *m.LengthCm
	}
	switch m.Position {
	case nutrition.PositionLying:
		g.Position = growth.Lying
	case nutrition.PositionStanding:
		g.Position = growth.Standing
	}
	if m.MUACmm != nil {
		g.ArmC = float64(*m.MUACmm) / 10
	}
	g.Oedema = oedemaPresent(m.Oedema)
	if res, err := growth.Assess(&g); err == nil {
		v.R = res
	} else {
		v.R.CLenHei, v.R.CBMI = math.NaN(), math.NaN()
	}
	return v
}

// oedemaPresent reports whether an oedema grade means bilateral pitting
// oedema.
func oedemaPresent(grade string) bool {
	switch grade {
	case nutrition.OedemaPlus, nutrition.OedemaPlusPlus, nutrition.OedemaPlusPlusPlus, "present":
		return true
	}
	return false
}
