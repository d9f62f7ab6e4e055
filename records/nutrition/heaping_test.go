package nutrition

import (
	"errors"
	"testing"

	"contigo/records"
	"github.com/google/go-cmp/cmp"
)

// heapSet returns n assessments at site by measurer, the first heaped of
// them with values ending in 0/5 and the rest not.
func heapSet(site, measurer string, n, heaped int, set func(a *Assessment, heaped bool, i int)) []Assessment {
	out := make([]Assessment, n)
	for i := range out {
		out[i].Site, out[i].Measurer = site, measurer
		set(&out[i], i < heaped, i)
	}
	return out
}

func TestHeaping(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	weight := func(a *Assessment, h bool, i int) {
		v := 8.0 + float64(i%3) // 8.0, 9.0, 10.0: heaped
		if !h {
			v += 0.3 + 0.1*float64(i%4) // .3 .4 .6 (rounded .6) .3 ...: not 0/5 tenths
			if i%4 == 2 {
				v = 8.7
			}
		}
		a.WeightKg = F(v)
	}
	length := func(a *Assessment, h bool, i int) {
		v := 70.5
		if !h {
			v = 70.2
		}
		a.LengthCm = F(v)
	}
	muac := func(a *Assessment, h bool, i int) {
		v := 125
		if !h {
			v = 127
		}
		a.MUACmm = MM(v)
	}
	var as []Assessment
	as = append(as, heapSet("mu-7", "pr-a", 50, 20, weight)...) // 40 %: not more than 40 %
	as = append(as, heapSet("mu-7", "pr-b", 50, 21, weight)...) // 42 %: warn
	as = append(as, heapSet("mu-7", "pr-b", 60, 30, length)...) // 50 %: warn
	as = append(as, heapSet("mu-7", "pr-c", 49, 49, muac)...)   // 49 records: too few
	as = append(as, heapSet("mu-9", "pr-c", 25, 25, muac)...)   // another site: counted apart
	as = append(as, heapSet("mu-7", "pr-c", 1, 1, muac)...)     // 50th record at mu-7: warn
	as = append(as, heapSet("mu-9", "", 50, 50, muac)...)       // measurer not recorded
	got := Heaping(as, rs)
	want := []HeapingWarning{
		{Site: "mu-7", Measurer: "pr-b", Variable: HeapLength, Records: 60, Heaped: 30, Share: 0.5, Threshold: 0.4},
		{Site: "mu-7", Measurer: "pr-b", Variable: HeapWeight, Records: 50, Heaped: 21, Share: 0.42, Threshold: 0.4},
		{Site: "mu-7", Measurer: "pr-c", Variable: HeapMUAC, Records: 50, Heaped: 50, Share: 1, Threshold: 0.4},
		{Site: "mu-9", Measurer: "", Variable: HeapMUAC, Records: 50, Heaped: 50, Share: 1, Threshold: 0.4},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Heaping (-want +got):\n%s", d)
	}
	if got := Heaping(nil, rs); got != nil {
		t.Errorf("no assessments: %v", got)
	}
}

// The last recorded digit counts: 8.0, 8.5, 8.05 and 12.35 are heaped;
// 8.1, 8.49 and 7.96 are not.
func TestHeapingDigits(t *testing.T) {
	t.Parallel()
	rs := DefaultRuleSet()
	rs.DataQuality.HeapingMinRecords = 1
	for _, tt := range []struct {
		kg   float64
		warn bool
	}{{8.0, true}, {8.5, true}, {8.05, true}, {12.35, true}, {8.1, false}, {8.49, false}, {7.96, false}} {
		got := Heaping([]Assessment{{Site: "s", WeightKg: F(tt.kg)}}, rs)
		if (len(got) == 1) != tt.warn {
			t.Errorf("%v kg: %v, want warning %v", tt.kg, got, tt.warn)
		}
	}
}

func TestHeapingConfig(t *testing.T) {
	t.Parallel()
	rs, err := ParseRuleSet([]byte(`{"data_quality": {"heaping": {"share_gt": 0.5, "min_records": 100}}}`))
	if err != nil || rs.DataQuality.HeapingShareGT != 0.5 || rs.DataQuality.HeapingMinRecords != 100 || rs.DataQuality.MUACChangeMM != 15 {
		t.Fatalf("ParseRuleSet: %v %+v", err, rs.DataQuality)
	}
	_, err = ParseRuleSet([]byte(`{"data_quality": {"heaping": {"share_gt": 1.5}}}`))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "data_quality.heaping.share_gt" || !errors.Is(err, records.ErrInvalid) {
		t.Errorf("share_gt 1.5: %v", err)
	}
}
