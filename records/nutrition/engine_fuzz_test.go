package nutrition

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// runOps drives a person's state through a sequence of events decoded from
// ops: measurements, admissions, follow-up checks, closures and status
// changes, a few days apart. It returns the state and the measurements.
func runOps(ops []byte) (State, []Measurement, time.Time) { return runOpsWith(DefaultRuleSet(), ops) }

// runOpsWith is runOps under rule set rs.
func runOpsWith(rs *RuleSet, ops []byte) (State, []Measurement, time.Time) {
	s := State{PersonRef: "p", Country: "CO"}
	var ms []Measurement
	d := day("2025-01-06")
	oedema := []string{OedemaAbsent, OedemaAbsent, OedemaAbsent, OedemaNotAssessed, OedemaPlus, OedemaPlusPlusPlus}
	for i := 0; i+1 < len(ops) && i < 80; i += 2 {
		op, arg := ops[i], ops[i+1]
		next := d.AddDate(0, 0, int(op>>3)%12)
		// The scheduler runs every night, as in production.
		for d.Before(next) {
			d = d.AddDate(0, 0, 1)
			s, _ = CheckFollowUp(s, rs, d.Add(2*time.Hour))
		}
		now := at(d).Add(time.Duration(i) * time.Minute) // events of a day in order
		switch op % 6 {
		case 0, 1: // measurement
			m := boy(fmt.Sprintf("m%03d", i), d.Format(time.DateOnly), 100+int(arg%50))
			m.Oedema = oedema[int(arg>>5)%len(oedema)]
			m.WeightKg = F(7.5 + float64(arg%16)/8)
			ms = append(ms, m)
			s, _ = Apply(s, Assess(m, &s, rs), rs, now, "hw")
		case 2: // admission
			progs := []string{ProgrammeOTP, ProgrammeTSFP, ProgrammeInpatient, ProgrammeFollowUp}
			if ns, _, err := Admit(s, rs, Admission{Programme: progs[int(arg)%len(progs)], Date: d}, now, "nurse"); err == nil {
				s = ns
			}
		case 3:
			s, _ = CheckFollowUp(s, rs, now)
		case 4: // a person changes an alert
			sts := []string{StatusAcknowledged, StatusReferred, StatusClosed, StatusOpen}
			for _, al := range s.Alerts {
				if ns, _, err := SetAlertStatus(s, al.ID, sts[int(arg)%len(sts)], "because", "lead", now); err == nil {
					s = ns
					break
				}
			}
		case 5: // a person closes the open episode
			outs := []string{OutcomeDied, OutcomeTransferredExternal, OutcomeMovedUnknown, OutcomeCured}
			for _, ep := range s.Episodes {
				if ep.Open() {
					if ns, _, err := Close(s, ep.ID, outs[int(arg)%len(outs)], "reason", "nurse", now); err == nil {
						s = ns
					}
					break
				}
			}
		}
	}
	return s, ms, at(d)
}

// checkInvariants fails t if s breaks a rule that must always hold.
func checkInvariants(t *testing.T, s State) {
	t.Helper()
	active := map[string]string{}
	open := 0
	for _, al := range s.Alerts {
		if !al.Active() {
			continue
		}
		k := al.Kind + "|" + al.EpisodeID()
		if id, dup := active[k]; dup {
			t.Fatalf("two active %s alerts: %s and %s", k, id, al.ID)
		}
		active[k] = al.ID
		if len(al.History) == 0 || al.History[len(al.History)-1].To != al.Status {
			t.Fatalf("alert %s status %s does not match its history %+v", al.ID, al.Status, al.History)
		}
	}
	if s.Status.OpenAlerts != len(active) {
		t.Fatalf("status counts %d open alerts, want %d", s.Status.OpenAlerts, len(active))
	}
	for _, ep := range s.Episodes {
		switch {
		case ep.Open() && ep.Programme != ProgrammeFollowUp:
			open++
		case !ep.Open() && (ep.Outcome == "" || ep.OutcomeDate.IsZero()):
			t.Fatalf("closed episode without outcome: %+v", ep)
		}
		if ep.Open() && ep.MissedCount >= 2 {
			t.Fatalf("open episode with %d misses", ep.MissedCount)
		}
	}
	if open > 1 {
		t.Fatalf("%d open treatment episodes", open)
	}
}

// FuzzEngine: any sequence of events keeps the invariants; re-assessing the
// unchanged history reproduces the state without events; the state
// survives a JSON round trip.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 10, 2, 0, 56, 20, 56, 30, 59, 0, 59, 0, 96, 40, 96, 45})
	f.Add([]byte{0, 12, 2, 0, 3, 0, 91, 0, 91, 0, 8, 12, 4, 2, 8, 44, 5, 1, 0, 200})
	f.Add([]byte{1, 130, 4, 0, 4, 2, 4, 3, 0, 160, 2, 1, 40, 10, 40, 40, 40, 45})
	rs := DefaultRuleSet()
	f.Fuzz(func(t *testing.T, ops []byte) {
		s, ms, now := runOps(ops)
		checkInvariants(t, s)
		again, ev := Reassess(ms, s, rs, now, "hw")
		checkInvariants(t, again)
		if len(ev) != 0 {
			t.Fatalf("reassessing an unchanged history: events %+v", ev)
		}
		if d := cmpDiff(s, again); d != "" {
			t.Fatalf("reassessing an unchanged history changed the state (-want +got):\n%s", d)
		}
		if len(ms) > 0 {
			// Correct one measurement, then delete it: each re-assessment
			// keeps the invariants and is idempotent.
			k := int(ops[len(ops)-1]) % len(ms)
			fixed := slices.Clone(ms)
			fixed[k].MUACmm = MM(*fixed[k].MUACmm + 20)
			for _, list := range [][]Measurement{fixed, slices.Delete(slices.Clone(ms), k, k+1)} {
				c, _ := Reassess(list, s, rs, now.Add(time.Hour), "hw")
				checkInvariants(t, c)
				c2, ev := Reassess(list, c, rs, now.Add(2*time.Hour), "hw")
				if len(ev) != 0 {
					t.Fatalf("second re-assessment: events %+v", ev)
				}
				if d := cmpDiff(c, c2); d != "" {
					t.Fatalf("second re-assessment changed the state (-want +got):\n%s", d)
				}
			}
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back State
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if d := cmpDiff(s, back); d != "" {
			t.Fatalf("JSON round trip (-want +got):\n%s", d)
		}
	})
}

// FuzzEngineVariants: the invariants and replay idempotence of FuzzEngine
// under the who-2013 exit rule set with Colombia's risk follow-up interval
// (followup_risk_bands) and two follow-up visits.
func FuzzEngineVariants(f *testing.F) {
	f.Add([]byte{0, 10, 2, 0, 56, 20, 56, 30, 59, 0, 59, 0, 96, 40, 96, 45})
	f.Add([]byte{0, 12, 2, 3, 3, 0, 91, 0, 91, 0, 8, 12, 4, 2, 8, 44, 5, 1, 0, 200})
	f.Add([]byte{0, 5, 2, 3, 8, 7, 16, 9, 24, 12, 32, 3, 40, 8, 0, 1})
	rs := loadCO(f)
	rs.Exit.RuleSet = ExitWHO2013
	rs.FollowUpVisits = 2
	f.Fuzz(func(t *testing.T, ops []byte) {
		s, ms, now := runOpsWith(rs, ops)
		checkInvariants(t, s)
		again, ev := Reassess(ms, s, rs, now, "hw")
		checkInvariants(t, again)
		if len(ev) != 0 {
			t.Fatalf("reassessing an unchanged history: events %+v", ev)
		}
		if d := cmpDiff(s, again); d != "" {
			t.Fatalf("reassessing an unchanged history changed the state (-want +got):\n%s", d)
		}
	})
}
