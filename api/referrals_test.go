package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestReferralsForLeads: a referral delivered by another country's node is
// listed by GET /referrals for the country's nutrition leads and health
// workers, pseudonymously, and not for a token of another country.
func TestReferralsForLeads(t *testing.T) {
	n := newNutEnv(t, nil)
	pid := n.person("female", "2024-05-01", "Carchi")
	in := referralIn{From: "PE", Reason: "family moving to Quito, OTP week 3", Target: pid,
		Patient: []byte(`{"resourceType":"Patient","gender":"female","birthDate":"2024-05-01"}`)}
	if _, err := n.srv.receiveReferral(t.Context(), "CO", in); err != nil {
		t.Fatalf("receiveReferral: %v", err)
	}

	r := must(t, n.do("GET", "/referrals", n.lead, ""), http.StatusOK)
	var got ReferralList
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("GET /referrals: %v", err)
	}
	if len(got.Referrals) != 1 {
		t.Fatalf("got %d referrals, want 1: %s", len(got.Referrals), r.Body)
	}
	ref := got.Referrals[0]
	if ref.FromCountry != "PE" || ref.Status != "active" || ref.PersonRef != n.nut.PersonRef("CO", pid) || ref.ReferredAt == "" {
		t.Errorf("got %+v, want from PE, active, the person's pseudonym and a date", ref)
	}
	if strings.Contains(string(r.Body), pid) || strings.Contains(string(r.Body), "Quito") {
		t.Errorf("GET /referrals leaks the record id or the free-text reason: %s", r.Body)
	}
	must(t, n.do("GET", "/referrals", n.hw, ""), http.StatusOK)
	must(t, n.do("GET", "/referrals?status=inactive", n.lead, ""), http.StatusOK)
	must(t, n.do("GET", "/referrals?status=bogus", n.lead, ""), http.StatusBadRequest)
	must(t, n.do("GET", "/referrals?country=CO", n.token(RoleNutritionLead, "EC"), ""), http.StatusForbidden)
	must(t, n.do("GET", "/referrals", "", ""), http.StatusUnauthorized)
}
