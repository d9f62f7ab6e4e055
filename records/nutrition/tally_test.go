package nutrition

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTallyFollowsChanges keeps a Tally per grouping beside a changing set
// of persons (added, replaced by other facts, removed, in random order) and
// wants its rows equal to IndicatorsOf over the set after every change.
func TestTallyFollowsChanges(t *testing.T) {
	pool := append(seeded(), synthetic(60)...)
	facts := make([]Facts, len(pool))
	for i := range pool {
		facts[i] = FactsOf(&pool[i])
	}
	rs := DefaultRuleSet()
	from, to := day("2025-03-01"), day("2025-05-01")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, by := range []string{"", ByMonth, ByAdminArea, BySex, ByAgeBand, ByPopGroup} {
		tally, err := NewTally(from, to, by)
		if err != nil {
			t.Fatal(err)
		}
		held := map[int]int{} // person -> index in facts of the facts held
		for step := range 400 {
			p := rng.IntN(12)
			old, had := held[p]
			switch {
			case had && rng.IntN(4) == 0:
				tally.Remove(&facts[old])
				delete(held, p)
			default:
				nf := rng.IntN(len(facts))
				if had {
					tally.Remove(&facts[old])
				}
				tally.Add(&facts[nf])
				held[p] = nf
			}
			var set []Facts
			for _, fi := range held {
				set = append(set, facts[fi])
			}
			want, err := IndicatorsOf(set, rs, from, to, by)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, tally.Rows(rs)); d != "" {
				t.Fatalf("by=%q step %d: tally differs from a count from scratch (-want +got):\n%s", by, step, d)
			}
		}
	}
}

// TestTallyRowsAreCopies checks that changing returned rows leaves the
// Tally unchanged.
func TestTallyRowsAreCopies(t *testing.T) {
	tally, err := NewTally(day("2025-03-01"), day("2025-05-01"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range seeded() {
		f := FactsOf(&st)
		tally.Add(&f)
	}
	rs := DefaultRuleSet()
	rows := tally.Rows(rs)
	rows[0].Admissions[ProgrammeOTP] += 100
	rows[0].ChildrenScreened += 100
	if again := tally.Rows(rs); again[0].Admissions[ProgrammeOTP] == rows[0].Admissions[ProgrammeOTP] || again[0].ChildrenScreened == rows[0].ChildrenScreened {
		t.Errorf("a change to a returned row reached the tally: %+v", again[0])
	}
}
