package fhir

import (
	"strings"
	"testing"

	"contigo/records"
)

// TestDerivedNamespace: no id the server gives a client's resource is ever
// taken for a derived one. The write hook deletes derived resources that
// are no longer derived, so a collision would delete a health worker's
// measurement (it did, for ids whose random part began with "n").
func TestDerivedNamespace(t *testing.T) {
	pid := records.NewID()
	for i := range 5000 {
		if id := records.NewResourceID(pid); IsDerived(id) {
			t.Fatalf("records.NewResourceID gave %q, which IsDerived takes for derived", id)
		}
		if id := pid + "." + derivedID("txn-key", "urn:uuid:"+strings.Repeat("0", i%7)+string(rune('a'+i%26)), 12); IsDerived(id) {
			t.Fatalf("AssignIDs-style id %q is taken for derived", id)
		}
	}
	// Every random part starting with "n" is the case that used to collide.
	if IsDerived(pid + ".nothing2345ab") {
		t.Errorf("IsDerived(%q) = true, want false", pid+".nothing2345ab")
	}
	for _, id := range []string{FlagID(pid, "ref.fabc"), EpisodeID(pid, "ep1")} {
		if !IsDerived(id) {
			t.Errorf("IsDerived(%q) = false, want true", id)
		}
	}
}
