package derive

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"contigo/records/nutrition"
)

// TestEncodeStateEqualsMarshal grows, corrects and shrinks a state's
// assessments and checks that encodeState, reusing the previous encoding
// where it may, always writes what json.Marshal does.
func TestEncodeStateEqualsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 12))
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	st := nutrition.State{PersonRef: "ref-1", Country: "CO"}
	var prev *stateEntry
	for step := range 200 {
		st = st.Clone()
		switch k := rng.IntN(10); {
		case k < 7 || len(st.Assessments) == 0:
			w := 7 + rng.Float64()*5
			st.Assessments = append(st.Assessments, nutrition.Assessment{MeasurementID: "m" + string(rune('a'+step%26)),
				Date: day.AddDate(0, 0, step), WeightKg: &w, Classification: "normal", Criteria: []string{"muac_mm"}})
		case k < 8:
			i := rng.IntN(len(st.Assessments))
			st.Assessments[i].Classification = "sam<\"x\">"
		case k < 9:
			st.Assessments = st.Assessments[:len(st.Assessments)-1]
		default:
			st.Status.OpenAlerts++
		}
		enc, err := encodeState(&st, prev)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc.raw, want) {
			t.Fatalf("step %d: encodeState\n%s\njson.Marshal\n%s", step, enc.raw, want)
		}
		prev = &stateEntry{enc: enc, st: st.Clone()}
	}
	empty := nutrition.State{}
	enc, err := encodeState(&empty, prev)
	if want, _ := json.Marshal(empty); err != nil || !bytes.Equal(enc.raw, want) {
		t.Fatalf("empty state: %s, %v", enc.raw, err)
	}
}
