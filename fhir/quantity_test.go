package fhir

import (
	"slices"
	"testing"
)

// TestNumberKeyOrder checks that numberKey's text sorts as the numbers do,
// negative ones included.
func TestNumberKeyOrder(t *testing.T) {
	t.Parallel()
	nums := []float64{-1e6, -12.5, -2, -1.99, -0.001, 0, 0.001, 1, 1.5, 9.8, 10, 75.4, 1e12}
	var keys []string
	for _, f := range nums {
		k, ok := numberKey(f)
		if !ok {
			t.Fatalf("numberKey(%v) not ok", f)
		}
		keys = append(keys, k)
	}
	if !slices.IsSorted(keys) {
		t.Errorf("keys not in numeric order: %v", keys)
	}
	if _, ok := numberKey(1e16); ok {
		t.Error("1e16 accepted")
	}
}

func TestParseSearchR4(t *testing.T) {
	t.Parallel()
	req, err := ParseSearchWith("Observation", mustQuery(t, "value-quantity=5.4|http://unitsofmeasure.org|kg&_include=Observation:subject&subject.identifier=x&foo=1&_total=none&_elements=code"), SearchOptions{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := numberKey(5.35)
	hi, _ := numberKey(5.45)
	if c := req.Query.Conds; len(c) != 2 || c[0].Key != "value-quantity|http://unitsofmeasure.org|kg" || c[0].Values[0] != lo || c[1].Values[0] != hi {
		t.Errorf("conds %+v", c)
	}
	if len(req.Include) != 1 || req.Include[0].Key != "subject" || len(req.Chains) != 1 || req.Total != "none" || !req.Subset.Active() {
		t.Errorf("request %+v", req)
	}
	if len(req.Ignored) != 1 || req.Ignored[0].Expression != "foo" || req.Params.Has("foo") {
		t.Errorf("ignored %+v params %v", req.Ignored, req.Params)
	}
	if _, err := ParseSearch("Observation", mustQuery(t, "foo=1")); err == nil {
		t.Error("strict accepted foo")
	}
}
