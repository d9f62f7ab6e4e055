package fhir

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"contigo/records"

	"github.com/google/go-cmp/cmp"
)

// TestVisitMemoEqualsFullRead: after every change of a random history
// (visits added, Observations corrected, moved between visits, entered in
// error or deleted, Encounters' sites changed, derived and unrelated
// resources added, the Patient changed, and a body replaced under the same
// version, as when another replica won the race for that version), the
// visits ReadVisitsOf gives from its memo equal those read from every
// resource.
func TestVisitMemoEqualsFullRead(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { visitMemoRun(t, seed) })
	}
	t.Logf("%d reads updated a memo", memoUpdates.Load())
	if memoUpdates.Load() < 200 {
		t.Errorf("only %d reads updated a memo: the test does not exercise it", memoUpdates.Load())
	}
}

func visitMemoRun(t *testing.T, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 7))
	pid := fmt.Sprintf("memo%022d", seed)
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) // after every date of the history
	p := &records.Person{ID: pid, Country: "CO"}
	version := map[string]int64{}
	put := func(typ, id, body string, deleted bool) {
		t.Helper()
		at = at.Add(time.Minute)
		r := records.Resource{Type: typ, ID: id, Deleted: deleted, Updated: at}
		if !deleted {
			var err error
			if r, err = Parse([]byte(body), typ, at); err != nil {
				t.Fatalf("%s: %v\n%s", typ, err, body)
			}
			r.ID, r.Updated, r.Deleted = id, at, false
		}
		version[typ+"/"+id]++
		r.Version = version[typ+"/"+id]
		p.Resources = append(p.Resources, r)
	}
	patient := func() string {
		return `{"resourceType":"Patient","gender":"` + []string{"female", "male"}[rnd.IntN(2)] + `","birthDate":"2024-0` + fmt.Sprint(1+rnd.IntN(9)) +
			`","address":[{"district":"area-` + fmt.Sprint(rnd.IntN(3)) + `"}]}`
	}
	encounter := func(day int) string {
		return `{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},` +
			`"subject":{"reference":"Patient/` + pid + `"},"period":{"start":"2026-01-` + fmt.Sprintf("%02d", day) + `"},"serviceProvider":{"display":"mu-` + fmt.Sprint(rnd.IntN(4)) + `"}}`
	}
	codes := []struct{ code, value string }{
		{LOINCWeight, `"valueQuantity":{"value":%d.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}`},
		{LOINCMUAC, `"valueQuantity":{"value":1%d0,"unit":"mm","system":"http://unitsofmeasure.org","code":"mm"}`},
		{LOINCLength, `"valueQuantity":{"value":7%d,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}`},
		{"8867-4", `"valueQuantity":{"value":1%d0,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}`}, // heart rate: not read
	}
	var encs, inputs []string
	observation := func(enc string) string {
		c := codes[rnd.IntN(len(codes))]
		e := ""
		if enc != "" {
			e = `"encounter":{"reference":"Encounter/` + enc + `"},`
		} else if len(encs) > 0 && rnd.IntN(3) > 0 {
			e = `"encounter":{"reference":"Encounter/` + encs[rnd.IntN(len(encs))] + `"},`
		}
		status := "final"
		if rnd.IntN(12) == 0 {
			status = []string{"entered-in-error", "cancelled", "amended"}[rnd.IntN(3)]
		}
		return `{"resourceType":"Observation","status":"` + status + `","code":{"coding":[{"system":"http://loinc.org","code":"` + c.code + `"}]},` +
			`"subject":{"reference":"Patient/` + pid + `"},` + e + `"effectiveDateTime":"2026-01-` + fmt.Sprintf("%02d", 1+rnd.IntN(6)) + `",` +
			fmt.Sprintf(c.value, 1+rnd.IntN(9)) + `}`
	}
	put("Patient", pid, patient(), false)
	check := func(step int, what string) {
		t.Helper()
		latest := p.Latest()
		got, err := ReadVisitsOf(p, latest)
		if err != nil {
			t.Fatalf("step %d (%s): %v", step, what, err)
		}
		full, err := readAllVisits(p, latest)
		if err != nil {
			t.Fatalf("step %d (%s): full read: %v", step, what, err)
		}
		if diff := cmp.Diff(full.out, got); diff != "" {
			t.Fatalf("step %d (%s): memo and full read differ (-full +memo):\n%s", step, what, diff)
		}
	}
	for step := range 150 {
		var what string
		switch op := rnd.IntN(20); {
		case op < 5 || len(inputs) == 0:
			what = "visit"
			enc := fmt.Sprintf("%s.e%03d", pid, step)
			put("Encounter", enc, encounter(1+rnd.IntN(6)), false)
			encs = append(encs, enc)
			for range 1 + rnd.IntN(3) {
				id := fmt.Sprintf("%s.o%03d-%d", pid, step, len(inputs))
				put("Observation", id, observation(enc), false)
				inputs = append(inputs, id)
			}
		case op < 8:
			what = "observation"
			id := fmt.Sprintf("%s.o%03d", pid, step)
			put("Observation", id, observation(""), false)
			inputs = append(inputs, id)
		case op < 11:
			what = "correction"
			put("Observation", inputs[rnd.IntN(len(inputs))], observation(""), false)
		case op < 12:
			what = "deletion"
			put("Observation", inputs[rnd.IntN(len(inputs))], "", true)
		case op < 13 && len(encs) > 0:
			what = "site"
			put("Encounter", encs[rnd.IntN(len(encs))], encounter(1+rnd.IntN(6)), false)
		case op < 15:
			what = "derived"
			put("Observation", fmt.Sprintf("%s.%sz%03d", pid, DerivedPrefix, step), observation(""), false)
		case op < 16:
			what = "patient"
			put("Patient", pid, patient(), false)
		case op < 17:
			what = "other replica's body"
			i := len(p.Resources) - 1 - rnd.IntN(min(5, len(p.Resources)))
			r := p.Resources[i]
			if r.Type != "Observation" || r.Deleted || IsDerived(r.ID) {
				continue
			}
			if nr, err := Parse([]byte(observation("")), "Observation", r.Updated); err == nil {
				nr.ID, nr.Version, nr.Updated = r.ID, r.Version, r.Updated
				p.Resources[i] = nr // same version, other body
			}
		case op < 18 && len(encs) > 0:
			what = "encounter deleted"
			put("Encounter", encs[rnd.IntN(len(encs))], "", true)
		default:
			what = "unrelated"
			put("Observation", fmt.Sprintf("%s.x%03d", pid, step), strings.Replace(observation(""), LOINCWeight, "8867-4", 1), false)
		}
		check(step, what)
	}
}
