package mongo_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/mongo/mongotest"
)

// TestNutritionDeltaRoundTrip appends 80 commits (over two segments) whose
// nutrition states grow, shrink and change in the middle, as a visit, a
// correction or an alert change does, and reads the record back through a
// second store without a cache: every version's state is byte for byte the
// one written, although each commit stored only what changed.
func TestNutritionDeltaRoundTrip(t *testing.T) {
	t.Parallel()
	a := mongotest.NewStore(t, "CO")
	b := secondStore(t, a, recmongo.Config{CacheBytes: -1})
	ctx := t.Context()
	if err := a.Insert(ctx, "CO", newPerson("p1")); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 8))
	var items []string
	state := func() []byte {
		return []byte(`{"assessments":[` + strings.Join(items, ",") + fmt.Sprintf(`],"status":{"n":%d}}`, len(items)))
	}
	var prev []byte
	for v := int64(2); v <= 80; v++ {
		switch k := rng.IntN(10); {
		case k < 7 || len(items) == 0:
			items = append(items, fmt.Sprintf(`{"m":"enc-%d","z":%d}`, v, rng.IntN(1000)))
		case k < 9:
			items[rng.IntN(len(items))] = fmt.Sprintf(`{"m":"fix-%d"}`, v)
		default:
			items = items[:len(items)-1]
		}
		next := state()
		r := records.Resource{Type: "Encounter", ID: fmt.Sprintf("p1.e%d", v), Version: 1, Updated: t0, Body: []byte(`{}`)}
		if err := a.Append(ctx, "CO", &records.Commit{PersonID: "p1", Version: v, At: t0, Resources: []records.Resource{r}, Nutrition: next, PrevNutrition: prev}); err != nil {
			t.Fatal(err)
		}
		prev = next
		got, err := b.Person(ctx, "CO", "p1")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Nutrition, next) {
			t.Fatalf("version %d: nutrition read back\n%s\nwant\n%s", v, got.Nutrition, next)
		}
	}
}
