package nutrition

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// TestSameSeesEveryField changes each field of an assessment (and
// of its nested structs) in turn: Same must notice every change,
// so that a field added to Assessment cannot be left out of it.
func TestSameSeesEveryField(t *testing.T) {
	var base Assessment
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
			if base.Same(&Assessment{}) {
				t.Errorf("Same does not compare %s", name)
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
