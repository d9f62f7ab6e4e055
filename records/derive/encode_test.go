package derive

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
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

// TestSameAssessmentSeesEveryField changes each field of an assessment (and
// of its nested structs) in turn: sameAssessment must notice every change,
// so that a field added to Assessment cannot be left out of it.
func TestSameAssessmentSeesEveryField(t *testing.T) {
	var base nutrition.Assessment
	var walk func(v reflect.Value, path string)
	n := 0
	walk = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]() {
				walk(f, name+".")
				continue
			}
			old := reflect.New(f.Type()).Elem()
			old.Set(f)
			f.Set(differentValue(t, f.Type(), name))
			if sameAssessment(&base, &nutrition.Assessment{}) {
				t.Errorf("sameAssessment does not compare %s", name)
			}
			f.Set(old)
			n++
		}
	}
	walk(reflect.ValueOf(&base).Elem(), "")
	if n < 40 {
		t.Fatalf("walked only %d fields", n)
	}
}

// differentValue returns a value of type typ other than its zero value.
func differentValue(t *testing.T, typ reflect.Type, name string) reflect.Value {
	v := reflect.New(typ).Elem()
	switch typ.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(math.Copysign(0, -1)) // -0: equal to 0 by ==, encoded differently
	case reflect.Pointer:
		v.Set(reflect.New(typ.Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(typ, 0, 0)) // empty, not nil: [] versus null
	case reflect.Struct: // time.Time
		v.Set(reflect.ValueOf(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
	default:
		t.Fatalf("%s: no different value for a %s", name, typ)
	}
	return v
}
