package nutrition

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The stored digest of a state gives the same indicator rows as the state
// itself, for every grouping.
func TestDigestIndicators(t *testing.T) {
	t.Parallel()
	states := seeded()
	var facts []Facts
	for i := range states {
		b, err := json.Marshal(states[i])
		if err != nil {
			t.Fatal(err)
		}
		d, err := Digest(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(d) >= len(b) {
			t.Errorf("state %d: digest of %d bytes, state %d", i, len(d), len(b))
		}
		f, err := ParseDigest(d)
		if err != nil {
			t.Fatal(err)
		}
		facts = append(facts, f)
	}
	rs := DefaultRuleSet()
	for _, by := range []string{"", ByMonth, ByAdminArea, BySex, ByAgeBand, ByPopGroup} {
		want, err := Indicators(states, rs, day("2025-03-01"), day("2025-05-01"), by)
		if err != nil {
			t.Fatal(err)
		}
		got, err := IndicatorsOf(facts, rs, day("2025-03-01"), day("2025-05-01"), by)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("by %q (-states +digests):\n%s", by, diff)
		}
	}
	if _, err := ParseDigest([]byte("{")); err == nil {
		t.Error("ParseDigest of broken JSON: no error")
	}
}
