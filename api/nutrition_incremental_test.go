package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"contigo/fhir"
	"contigo/records"
	recmongo "contigo/records/mongo"
	"contigo/records/nutrition"
)

// TestNutritionIncrementalEqualsScratch drives one child through a long,
// random-ish history (visits in order and a few uploaded late, alert status
// changes, admissions, follow-up scans, corrections and deletions of
// measurements) and checks after every write that the derived resources in
// the record (z-scores, Conditions, Flags, EpisodeOfCare), which a visit
// renders only where its inputs changed (records/derive, fhir.DeriveSince), are exactly
// those Derive renders from scratch from the stored state and the record's
// visits: same ids, same bodies, same search keys.
func TestNutritionIncrementalEqualsScratch(t *testing.T) {
	t.Parallel()
	n := newNutEnv(t, nil)
	rng := rand.New(rand.NewPCG(8, 2026))
	pid := n.person("female", "2024-03-01", "Arauca")
	day := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	var obsIDs []string
	steps := 160
	if testing.Short() {
		steps = 60
	}
	for step := range steps {
		switch k := rng.IntN(20); {
		case k < 13 || len(obsIDs) == 0: // a visit, now and then uploaded late
			date := day
			if rng.IntN(8) == 0 {
				date = day.AddDate(0, 0, -rng.IntN(20)-1)
			} else {
				day = day.AddDate(0, 0, 3+rng.IntN(12))
				date = day
			}
			muac := 100 + rng.Float64()*50 // severe, moderate and normal
			obs := []string{muacObs(float64(int(muac))), weightObs(7 + rng.Float64()*5), lengthObs(70 + rng.Float64()*20)}
			if rng.IntN(6) == 0 {
				obs = append(obs, oedemaObs([]string{"absent", "+", "++"}[rng.IntN(3)]))
			}
			r := visitAt(n, pid, date.Format(time.DateOnly), day.Add(12*time.Hour), obs...)
			if r.Code != http.StatusOK {
				continue // an implausible or invalid draw: nothing stored
			}
			for _, e := range r.JSON(t)["entry"].([]any) {
				loc := e.(map[string]any)["response"].(map[string]any)["location"].(string)
				obsIDs = append(obsIDs, strings.Split(strings.TrimPrefix(loc, "Observation/"), "/")[0])
			}
		case k < 15: // an alert status change
			st := n.state(pid)
			for _, al := range st.Alerts {
				if al.Active() && al.Status == "open" {
					n.do("PATCH", "/alerts/"+al.ID, n.lead, `{"status":"acknowledged","reason":"seen"}`)
					break
				}
			}
		case k < 16: // an admission
			prog := []string{"otp", "tsfp", "inpatient"}[rng.IntN(3)]
			n.do("POST", "/episodes", n.hw, `{"patient":"`+pid+`","programme":"`+prog+`","date":"`+day.Format(time.DateOnly)+`"}`)
		case k < 17: // a follow-up scan some days later
			day = day.AddDate(0, 0, rng.IntN(20))
			n.clk.Set(day.Add(2 * time.Hour))
			if _, err := n.nut.RunFollowUp(t.Context(), n.svc, "CO", n.clk.Now()); err != nil {
				t.Fatalf("step %d: RunFollowUp: %v", step, err)
			}
		case k < 19: // a correction of an earlier measurement
			id := obsIDs[rng.IntN(len(obsIDs))]
			r := n.do("GET", "/fhir/Observation/"+id, n.hw, "")
			if r.Code != http.StatusOK {
				continue
			}
			var o map[string]any
			if err := json.Unmarshal(r.Body, &o); err != nil {
				t.Fatal(err)
			}
			q, ok := o["valueQuantity"].(map[string]any)
			if !ok {
				continue
			}
			switch q["code"] {
			case "mm":
				q["value"] = float64(100 + rng.IntN(50))
			case "kg":
				q["value"] = 7 + float64(rng.IntN(50))/10
			default:
				q["value"] = 70 + float64(rng.IntN(200))/10
			}
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)
			n.do("PUT", "/fhir/Observation/"+id, n.hw, body)
		default: // a deletion of an earlier measurement
			i := rng.IntN(len(obsIDs))
			n.do("DELETE", "/fhir/Observation/"+obsIDs[i], n.hw, "")
			obsIDs = append(obsIDs[:i], obsIDs[i+1:]...)
		}
		checkScratch(t, n, pid, step)
	}
	// The projection (paged past 32 assessments) reads back the record's state.
	p, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	err = n.svc.Store().(nutritionStates).EachNutrition(t.Context(), "CO", func(id string, b []byte) error {
		if id == pid {
			found = true
			if !bytes.Equal(b, p.Nutrition) {
				t.Errorf("projected state differs from the record's:\n%s\nwant\n%s", b, p.Nutrition)
			}
		}
		return nil
	})
	if err != nil || !found {
		t.Fatalf("EachNutrition: found %v, %v", found, err)
	}
	st := n.state(pid)
	if len(st.Assessments) < 50 || len(st.Alerts) == 0 {
		t.Errorf("history too tame to test anything: %d assessments, %d alerts, %d episodes", len(st.Assessments), len(st.Alerts), len(st.Episodes))
	}
	t.Logf("%d assessments, %d alerts, %d episodes", len(st.Assessments), len(st.Alerts), len(st.Episodes))
}

// visitAt is nenv.visit with the clock at now: a visit of date uploaded
// later.
func visitAt(n *nenv, pid, date string, now time.Time, obs ...string) resp {
	n.t.Helper()
	n.clk.Set(now)
	var entries []string
	for i, o := range obs {
		o = strings.ReplaceAll(strings.ReplaceAll(o, "PID", pid), "DATE", date)
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:b0000000-0000-4000-8000-%012d","resource":%s,"request":{"method":"POST","url":"Observation"}}`, i+1, o))
	}
	return n.do("POST", "/fhir", n.hw, `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(entries, ",")+`]}`)
}

// checkScratch fails unless pid's derived resources equal Derive's from
// scratch.
func checkScratch(t *testing.T, n *nenv, pid string, step int) {
	t.Helper()
	p, err := n.svc.Person(t.Context(), "CO", pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nutrition) == 0 {
		return
	}
	st, err := n.nut.State(p)
	if err != nil {
		t.Fatal(err)
	}
	// The stored state is byte for byte what encoding/json writes for it,
	// although a visit encodes only the assessments it added.
	if b, err := json.Marshal(st); err != nil || !bytes.Equal(b, p.Nutrition) {
		t.Fatalf("step %d: stored state is not its own encoding (%v):\n%s\nre-encoded\n%s", step, err, p.Nutrition, b)
	}
	// The indicator digest stored with it, which the hook computes from
	// the state in hand, is the one the stored state gives.
	wantDigest, err := nutrition.Digest(p.Nutrition)
	if err != nil {
		t.Fatal(err)
	}
	store, ok := n.svc.Store().(*recmongo.Store)
	if !ok {
		t.Fatalf("store %T keeps no indicator digests", n.svc.Store())
	}
	var digest []byte
	if err := store.EachIndicatorDigest(t.Context(), "CO", func(id string, d []byte) error {
		if id == pid {
			digest = d
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(digest, wantDigest) {
		t.Fatalf("step %d: stored indicator digest\n%s\nwant (from the stored state)\n%s", step, digest, wantDigest)
	}
	vs, err := fhir.ReadVisits(p)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fhir.Derive(pid, &st, vs.Sources, n.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]records.Resource{}
	for _, r := range p.Latest() {
		if fhir.IsDerived(r.ID) {
			have[r.ID] = r
		}
	}
	for _, w := range want {
		h, ok := have[w.ID]
		switch {
		case !ok:
			t.Fatalf("step %d: %s/%s derived from scratch is missing from the record", step, w.Type, w.ID)
		case !bytes.Equal(h.Body, w.Body) || !maps.EqualFunc(h.Keys, w.Keys, slices.Equal):
			t.Fatalf("step %d: %s/%s differs from scratch:\nrecord  %s %v\nscratch %s %v", step, w.Type, w.ID, h.Body, h.Keys, w.Body, w.Keys)
		}
		delete(have, w.ID)
	}
	for id, r := range have {
		t.Fatalf("step %d: %s/%s in the record is not derived from scratch", step, r.Type, id)
	}
}
