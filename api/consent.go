package api

import (
	"context"
	"encoding/json"
	"errors"

	"contigo/records"
)

// errNoConsent is why a peer may not read a record: the person has not
// consented to sharing it across borders. It is a 403.
var errNoConsent = errorf(records.ErrForbidden, "the record exists in this country, but the person has no active Consent to share it with other countries (an emergency read states purpose emergency and a reason)")

// requireConsent returns nil if person pid of country cc consents to
// cross-border sharing, errNoConsent if not, and the lookup's error if
// the record cannot be read (404 for no such person).
func (s *Server) requireConsent(ctx context.Context, cc records.Country, pid string) error {
	if pid == "" {
		return errorf(records.ErrNotFound, "no such record")
	}
	p, err := s.records.Person(ctx, cc, pid)
	if err != nil {
		return err
	}
	if !sharingConsent(p) {
		return errNoConsent
	}
	return nil
}

// sharingConsent reports whether the record holds a current Consent with
// status active and provision.type permit: the person (or caregiver)
// allows the record to be seen from other countries. A Consent that is
// inactive, rejected, a deny, or without a provision type allows nothing.
func sharingConsent(p *records.Person) bool {
	for _, r := range p.Latest() {
		if r.Type != "Consent" {
			continue
		}
		var c struct {
			Status    string `json:"status"`
			Provision struct {
				Type string `json:"type"`
			} `json:"provision"`
		}
		if json.Unmarshal(r.Body, &c) == nil && c.Status == "active" && c.Provision.Type == "permit" {
			return true
		}
	}
	return false
}

// consentOf reports whether person pid of cc consents to sharing; a
// person that cannot be read does not.
//
// A store that can tell from a record's head that it holds no Consent
// (mayHolder: records/mongo's Store) saves reading the whole record: a
// peer's $match checks up to count candidates, most without one.
func (s *Server) consentOf(ctx context.Context, cc records.Country, pid string) (bool, error) {
	if mh, ok := s.records.Store().(mayHolder); ok && pid != "" {
		may, err := mh.MayHold(ctx, cc, pid, "Consent")
		if err != nil {
			return false, err
		}
		if !may {
			return false, nil
		}
	}
	err := s.requireConsent(ctx, cc, pid)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errNoConsent), errors.Is(err, records.ErrNotFound), errors.Is(err, records.ErrGone):
		return false, nil
	}
	return false, err
}

// mayHolder is a store that tells, from a record's head, whether the
// record may hold a current resource of a type (false: it holds none).
type mayHolder interface {
	MayHold(ctx context.Context, cc records.Country, id, typ string) (bool, error)
}
