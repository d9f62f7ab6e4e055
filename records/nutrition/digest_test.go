package nutrition

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"contigo/internal/intern"
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

// TestParseDigestEqualsEncodingJSON: ParseDigest (github.com/goccy/go-json)
// reads every seeded state's digest, and digests with awkward text, to the
// very Facts encoding/json reads.
func TestParseDigestEqualsEncodingJSON(t *testing.T) {
	t.Parallel()
	var digests [][]byte
	for i, st := range seeded() {
		d, err := DigestOf(&st)
		if err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
		digests = append(digests, d)
	}
	odd := Facts{Sex: "fémale \"quoted\" \\ <tag> &amp; \u2028", AgeBand: "6-59", Pop: "in_transit\t\n",
		Screens: []ScreenFact{{Date: day("2025-03-01"), Area: "área-ñ 😀", Bits: 7}},
		Eps:     []EpisodeFact{{Admission: day("2025-03-02"), Programme: "otp", Open: true, OutcomeDate: day("2025-04-02")}}}
	d, err := json.Marshal(odd)
	if err != nil {
		t.Fatal(err)
	}
	digests = append(digests, d, []byte(`{}`), []byte(`{"s":"","a":[]}`))
	for i, d := range digests {
		var want Facts
		if err := json.Unmarshal(d, &want); err != nil {
			t.Fatalf("digest %d: %v", i, err)
		}
		got, err := ParseDigest(d)
		if err != nil {
			t.Fatalf("digest %d: %v", i, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("digest %d (-encoding/json +ParseDigest):\n%s", i, diff)
		}
	}
}

// TestParseDigestInternsEveryString sets every string field of a Facts
// (found by reflection, so that a field added later is covered) and wants
// each parsed string to be the shared copy internal/intern holds, not a
// view of the parser's copy of the digest, also after garbage collections
// (unique.Make(s).Value() passed this test until a collection came between
// parse and check, and then failed in CI).
func TestParseDigestInternsEveryString(t *testing.T) {
	t.Parallel()
	f := Facts{Screens: make([]ScreenFact, 1), Eps: make([]EpisodeFact, 1), Ivs: make([]InterventionFact, 1)}
	n := 0
	var set func(v reflect.Value)
	set = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			n++
			v.SetString(fmt.Sprintf("value-%d", n))
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					set(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				set(v.Index(i))
			}
		}
	}
	set(reflect.ValueOf(&f).Elem())
	if n < 16 {
		t.Fatalf("set only %d strings", n)
	}
	d, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDigest(d)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	var check func(v reflect.Value, path string)
	check = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.String:
			s := v.String()
			if unsafe.StringData(s) != unsafe.StringData(intern.String(s)) {
				t.Errorf("%s (%q) is not interned", path, s)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					check(v.Field(i), path+"."+v.Type().Field(i).Name)
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				check(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	check(reflect.ValueOf(got), "Facts")
}

// BenchmarkParseDigest parses the seeded states' digests from every core,
// as a node's warm-up does (the interning table is shared).
func BenchmarkParseDigest(b *testing.B) {
	var digests [][]byte
	for _, st := range seeded() {
		d, err := DigestOf(&st)
		if err != nil {
			b.Fatal(err)
		}
		digests = append(digests, d)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := ParseDigest(digests[i%len(digests)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
