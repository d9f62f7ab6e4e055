package derive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/nutrition"
)

// PersonRefNS is the claim namespace of pseudonymous person references: a
// person's claim person-ref:<ref> names the record the reference is
// computed from, made when the person is first assessed.
const PersonRefNS = "person-ref"

// Config configures a Hook.
type Config struct {
	// Rules are the country rule sets (required).
	Rules *nutrition.Registry
	// PersonRef returns the pseudonymous reference of a person (required).
	PersonRef func(cc records.Country, id string) string
	// Store, if set, gets the person-ref claim of a person first assessed.
	Store records.Store
	// Actor names the user on whose behalf ctx writes; "api" if nil.
	Actor func(ctx context.Context) string
	// Assessed, if set, is called for every assessment a write makes.
	Assessed func(cc records.Country, classification string)
}

// Hook runs the nutrition engine on the records write path.
type Hook struct {
	cfg    Config
	states stateCache
}

// New returns the Hook of cfg.
func New(cfg Config) *Hook { return &Hook{cfg: cfg} }

func (h *Hook) actor(ctx context.Context) string {
	if h.cfg.Actor != nil {
		return h.cfg.Actor(ctx)
	}
	return "api"
}

// State returns the nutrition state stored in p (empty if none).
func (h *Hook) State(p *records.Person) (nutrition.State, error) {
	st := nutrition.State{}
	if len(p.Nutrition) > 0 {
		if err := json.Unmarshal(p.Nutrition, &st); err != nil {
			return st, fmt.Errorf("nutrition state of %s: %w", p.ID, err)
		}
	}
	if st.PersonRef == "" {
		st.PersonRef = h.cfg.PersonRef(p.Country, p.ID)
	}
	if st.Country == "" {
		st.Country = string(p.Country)
	}
	return st, nil
}

// Command is a change by a person or the scheduler (an alert status, an
// admission, a closure or transfer of an episode, a follow-up check),
// carried to OnWrite in the context of a records.Write with Derive set, so
// that it runs on the record as read by each attempt of the write.
type Command struct {
	Kind      string // "alert-status", "admit", "close", "transfer", "followup"
	AlertID   string
	Status    string
	Reason    string
	Admission nutrition.Admission
	Episode   string // engine episode id
	Outcome   string
	Actor     string
}

type commandKey struct{}

// WithCommand returns ctx carrying c to OnWrite.
func WithCommand(ctx context.Context, c *Command) context.Context {
	return context.WithValue(ctx, commandKey{}, c)
}

// touched returns the ids of the engine's input Observations that changes
// create, update or delete, whether the Patient changed, and whether an
// intervention did.
func touched(before *records.Person, changes []records.Change) (ids map[string]bool, patient, interventions bool) {
	ids = map[string]bool{}
	for _, c := range changes {
		r := c.Resource
		if r.Type == "Patient" {
			patient = true
			continue
		}
		if r.Type == "MedicationAdministration" || r.Type == "Procedure" {
			old, ok := before.Current(r.Type, r.ID)
			if fhir.IsIntervention(r) || (ok && fhir.IsIntervention(old)) {
				interventions = true
			}
			continue
		}
		if r.Type != "Observation" {
			continue
		}
		input := fhir.IsNutritionInput(r)
		if old, ok := before.Current(r.Type, r.ID); ok && !old.Deleted && fhir.IsNutritionInput(old) {
			input = true
		}
		if input {
			ids[r.ID] = true
		}
	}
	return ids, patient, interventions
}

// OnWrite is the records.ServiceOptions.OnWrite hook (the sequence in the
// package comment): on a write that
// touches measurement Observations (or the Patient of an assessed person),
// or that carries a command, it reads the visits, validates the touched
// ones (a broken rule fails the write with a FieldError naming the FHIR
// field), assesses and applies (or re-assesses on a correction or
// deletion), runs the command, stores the state in after.Nutrition, and
// returns the derived resources (z-scores, Conditions, Flags,
// EpisodeOfCare) to create, update or delete in the same write.
func (h *Hook) OnWrite(ctx context.Context, before, after *records.Person, changes []records.Change, now time.Time) ([]records.Change, error) {
	cmd, _ := ctx.Value(commandKey{}).(*Command)
	ids, patient, ivs := touched(before, changes)
	if cmd == nil && len(ids) == 0 && !ivs && (!patient || len(after.Nutrition) == 0) {
		return nil, nil // nothing the engine reads: no decoding on the common path
	}
	st, prev, err := h.states.get(after, h.State)
	if err != nil {
		return nil, err
	}
	if len(before.Nutrition) == 0 && h.cfg.Store != nil {
		// The claim maps the pseudonym to the record it is computed from,
		// so it is never wrong, even if this write then fails.
		if _, err := h.cfg.Store.Claim(ctx, after.Country, PersonRefNS, st.PersonRef, after.ID); err != nil {
			return nil, fmt.Errorf("nutrition: claim person ref: %w", err)
		}
	}
	rs := h.cfg.Rules.For(string(after.Country))
	latest := after.Latest() // once for the visits and the derived resources
	vs, err := fhir.ReadVisitsOf(after, latest)
	if err != nil {
		return nil, err
	}
	old := st
	actor := h.actor(ctx)
	var events []nutrition.Event
	// Unless a write changed the Observations of a visit assessed before
	// (a correction, a deletion, an Observation added to an earlier
	// visit), the derived resources of the visits assessed before keep
	// their inputs, and only what changed is rendered again.
	since := len(ids) == 0
	if len(ids) > 0 || patient {
		if st, events, since, err = h.assess(st, vs, ids, patient, rs, now, actor); err != nil {
			return nil, err
		}
		since = since || len(ids) == 0
	}
	if ivs {
		st.Interventions = nil
		for _, iv := range fhir.ReadInterventions(after) {
			if st, err = nutrition.AddIntervention(st, iv); err != nil {
				var fe *records.FieldError
				if errors.As(err, &fe) {
					return nil, &records.FieldError{Field: "code", Reason: "intervention " + fe.Field + ": " + fe.Reason}
				}
				return nil, err
			}
		}
	}
	if cmd != nil {
		var ev []nutrition.Event
		if st, ev, err = h.run(cmd, st, rs, now); err != nil {
			return nil, err
		}
		events = append(events, ev...)
	}
	enc, err := encodeState(&st, prev)
	if err != nil {
		return nil, err
	}
	digest, err := nutrition.DigestOf(&st)
	if err != nil {
		return nil, err
	}
	// The digest is computed here, from the state at hand, so that the
	// store does not parse the whole state again to write it.
	after.Nutrition, after.NutritionDigest = enc.raw, digest
	h.states.put(after.Country, after.ID, enc, st)
	if since {
		have := derivedOf(latest)
		derived, want, err := fhir.DeriveSince(after.ID, &old, &st, vs.Sources, func(id string) bool { _, ok := have[id]; return ok }, now)
		if err != nil {
			return nil, err
		}
		h.count(after.Country, &st, events)
		return changesTo(have, derived, want), nil
	}
	derived, err := fhir.Derive(after.ID, &st, vs.Sources, now)
	if err != nil {
		return nil, err
	}
	h.count(after.Country, &st, events)
	return derivedChanges(latest, derived), nil
}

// assess runs the engine on the visits: Validate for every visit holding a
// touched Observation, then Assess + Apply for visits seen for the first
// time, or Reassess of the whole list after a correction or deletion.
// appended reports the first case: every touched Observation belongs to a
// visit assessed for the first time.
func (h *Hook) assess(st nutrition.State, vs fhir.Visits, ids map[string]bool, patient bool, rs *nutrition.RuleSet, now time.Time, actor string) (_ nutrition.State, _ []nutrition.Event, appended bool, _ error) {
	known := map[string]bool{}
	for _, a := range st.Assessments {
		known[a.MeasurementID] = true
	}
	present := map[string]bool{}
	appendOnly := !patient
	var fresh []nutrition.Measurement
	seen := map[string]bool{}
	for _, m := range vs.Measurements {
		present[m.ID] = true
		hit := false
		for _, id := range vs.Sources[m.ID] {
			if ids[id] {
				hit, seen[id] = true, true
			}
		}
		if !hit {
			continue
		}
		if err := nutrition.Validate(m, rs, now); err != nil {
			return st, nil, false, fhir.ValidationError(err)
		}
		if known[m.ID] {
			appendOnly = false
		} else {
			fresh = append(fresh, m)
		}
	}
	if len(seen) < len(ids) {
		appendOnly = false // a touched Observation left its visit (deleted, entered in error, moved)
	}
	for id := range known {
		if !present[id] {
			appendOnly = false
		}
	}
	if !appendOnly {
		st, ev := nutrition.Reassess(vs.Measurements, st, rs, now, actor)
		return st, ev, false, nil
	}
	var events []nutrition.Event
	for _, m := range fresh {
		a := nutrition.Assess(m, &st, rs)
		var ev []nutrition.Event
		st, ev = nutrition.Apply(st, a, rs, now, actor)
		events = append(events, ev...)
	}
	return st, events, true, nil
}

// run applies a command to the state.
func (h *Hook) run(c *Command, st nutrition.State, rs *nutrition.RuleSet, now time.Time) (nutrition.State, []nutrition.Event, error) {
	switch c.Kind {
	case "alert-status":
		return nutrition.SetAlertStatus(st, c.AlertID, c.Status, c.Reason, c.Actor, now)
	case "admit":
		return nutrition.Admit(st, rs, c.Admission, now, c.Actor)
	case "close":
		return nutrition.Close(st, c.Episode, c.Outcome, c.Reason, c.Actor, now)
	case "transfer":
		return nutrition.Transfer(st, rs, c.Episode, c.Admission.Programme, c.Reason, c.Actor, now)
	case "followup":
		st, ev := nutrition.CheckFollowUp(st, rs, now)
		return st, ev, nil
	}
	return st, nil, fmt.Errorf("nutrition: unknown command %q", c.Kind)
}

// count updates the assessment counter from a write's events.
func (h *Hook) count(cc records.Country, st *nutrition.State, events []nutrition.Event) {
	if h.cfg.Assessed == nil {
		return
	}
	for _, ev := range events {
		if ev.Type != nutrition.EventAssessed {
			continue
		}
		for i := range st.Assessments {
			if st.Assessments[i].MeasurementID == ev.MeasurementID {
				h.cfg.Assessed(cc, st.Assessments[i].Classification)
				break
			}
		}
	}
}

// derivedChanges returns the changes that make the derived resources among
// latest (a record's current resources) equal want: creates, updates of
// those whose body or keys differ, deletes of those no longer derived.
func derivedChanges(latest []records.Resource, want []records.Resource) []records.Change {
	have := map[string]records.Resource{}
	for _, r := range latest {
		if fhir.IsDerived(r.ID) && r.Type != "Patient" {
			have[r.Type+"/"+r.ID] = r
		}
	}
	var out []records.Change
	for _, w := range want {
		k := w.Type + "/" + w.ID
		h, ok := have[k]
		delete(have, k)
		switch {
		case !ok:
			out = append(out, records.Change{Method: "create", Resource: w})
		case !bytes.Equal(h.Body, w.Body) || !sameKeys(h.Keys, w.Keys):
			out = append(out, records.Change{Method: "update", Resource: w})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		r := have[k]
		out = append(out, records.Change{Method: "delete", Resource: records.Resource{Type: r.Type, ID: r.ID}})
	}
	return out
}

// derivedOf returns the derived resources among latest (a record's current
// resources) by id, pointing into latest.
func derivedOf(latest []records.Resource) map[string]*records.Resource {
	have := map[string]*records.Resource{}
	for i := range latest {
		if r := &latest[i]; fhir.IsDerived(r.ID) && r.Type != "Patient" {
			have[r.ID] = r
		}
	}
	return have
}

// changesTo returns the changes that make the derived resources have equal
// those of ids: the rendered ones in derived created or updated where they
// differ, those not in ids deleted (fhir.DeriveSince).
func changesTo(have map[string]*records.Resource, derived []records.Resource, ids map[string]bool) []records.Change {
	var out []records.Change
	for _, w := range derived {
		h, ok := have[w.ID]
		switch {
		case !ok:
			out = append(out, records.Change{Method: "create", Resource: w})
		case !bytes.Equal(h.Body, w.Body) || !sameKeys(h.Keys, w.Keys):
			out = append(out, records.Change{Method: "update", Resource: w})
		}
	}
	var gone []string
	for id, r := range have {
		if !ids[id] {
			gone = append(gone, r.Type+"/"+id)
		}
	}
	slices.Sort(gone)
	for _, k := range gone {
		typ, id, _ := strings.Cut(k, "/")
		out = append(out, records.Change{Method: "delete", Resource: records.Resource{Type: typ, ID: id}})
	}
	return out
}

func sameKeys(a, b records.Keys) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}
