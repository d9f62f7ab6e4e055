package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"contigo/fhir"
	"contigo/records"
	"contigo/records/nutrition"
)

// NutritionConfig configures the nutrition integration.
type NutritionConfig struct {
	Rules *nutrition.Registry // country rule sets; nil: the built-in default for every country
	// Key is the node key that makes pseudonymous person references
	// (HMAC-SHA256 of country and person id); at least MinKeySize bytes.
	Key []byte
	// Registry receives the nutrition metrics; nil registers none.
	Registry prometheus.Registerer
	// Store, if set, gets a claim person-ref:<ref> -> record id when a
	// person is first assessed, so that PATCH /alerts/{id} finds the record
	// by an _id lookup (fast on every engine) instead of a search.
	Store records.Store
}

// Nutrition runs the nutrition engine on the records write path (OnWrite,
// the records.ServiceOptions hook), the follow-up scheduler, and serves the
// sector-lead endpoints (alerts, indicators, episodes).
type Nutrition struct {
	rules       *nutrition.Registry
	key         []byte
	store       records.Store
	assessments *prometheus.CounterVec
	openAlerts  *prometheus.GaugeVec
	states      stateCache
}

// NewNutrition returns the integration of cfg.
func NewNutrition(cfg NutritionConfig) (*Nutrition, error) {
	if len(cfg.Key) < MinKeySize {
		return nil, fmt.Errorf("nutrition: pseudonym key of %d bytes, want at least %d", len(cfg.Key), MinKeySize)
	}
	n := &Nutrition{rules: cfg.Rules, key: cfg.Key, store: cfg.Store}
	if n.rules == nil {
		n.rules = nutrition.NewRegistry(nutrition.DefaultRuleSet())
	}
	n.assessments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "contigo", Subsystem: "nutrition", Name: "assessments_total",
		Help: "Nutrition assessments written, by country and classification.",
	}, []string{"country", "classification"})
	n.openAlerts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "contigo", Subsystem: "nutrition", Name: "open_alerts",
		Help: "Active nutrition alerts by country, kind and severity, as of the last follow-up scan.",
	}, []string{"country", "kind", "severity"})
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{n.assessments, n.openAlerts} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("nutrition: register metrics: %w", err)
			}
		}
	}
	return n, nil
}

// Rules returns the rule-set registry.
func (n *Nutrition) Rules() *nutrition.Registry { return n.rules }

// personRefNS is the claim namespace of pseudonymous person references.
const personRefNS = "person-ref"

var refEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// PersonRef returns the pseudonymous reference of person id of cc: 26
// lower-case base32 characters of HMAC-SHA256(key, cc|id). It reveals
// neither the record id nor any identifier.
func (n *Nutrition) PersonRef(cc records.Country, id string) string {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte(string(cc) + "|" + id))
	return strings.ToLower(refEncoding.EncodeToString(m.Sum(nil))[:26])
}

// command is a change by a person or the scheduler, carried to OnWrite in
// the context of a records.Write with Derive set, so that it runs on the
// record as read by each attempt.
type command struct {
	kind    string // "alert-status", "admit", "close", "transfer", "followup"
	alertID string
	status  string
	reason  string
	adm     nutrition.Admission
	episode string // engine episode id
	outcome string
	actor   string
}

type commandKey struct{}

func withCommand(ctx context.Context, c *command) context.Context {
	return context.WithValue(ctx, commandKey{}, c)
}

type actorKey struct{}

// WithActor returns ctx naming the user on whose behalf writes in it run,
// recorded by the engine (e.g. as `via` of system changes).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	if c, ok := ctx.Value(echoCtxKey{}).(echo.Context); ok {
		if sub := claims(c).Subject; sub != "" {
			return sub
		}
	}
	return "api"
}

// State returns the nutrition state stored in p (empty if none).
func (n *Nutrition) State(p *records.Person) (nutrition.State, error) {
	st := nutrition.State{}
	if len(p.Nutrition) > 0 {
		if err := json.Unmarshal(p.Nutrition, &st); err != nil {
			return st, fmt.Errorf("nutrition state of %s: %w", p.ID, err)
		}
	}
	if st.PersonRef == "" {
		st.PersonRef = n.PersonRef(p.Country, p.ID)
	}
	if st.Country == "" {
		st.Country = string(p.Country)
	}
	return st, nil
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

// OnWrite is the records.ServiceOptions.OnWrite hook: on a write that
// touches measurement Observations (or the Patient of an assessed person),
// or that carries a command, it reads the visits, validates the touched
// ones (a broken rule fails the write with a FieldError naming the FHIR
// field), assesses and applies (or re-assesses on a correction or
// deletion), runs the command, stores the state in after.Nutrition, and
// returns the derived resources (z-scores, Conditions, Flags,
// EpisodeOfCare) to create, update or delete in the same write.
func (n *Nutrition) OnWrite(ctx context.Context, before, after *records.Person, changes []records.Change, now time.Time) ([]records.Change, error) {
	cmd, _ := ctx.Value(commandKey{}).(*command)
	ids, patient, ivs := touched(before, changes)
	if cmd == nil && len(ids) == 0 && !ivs && (!patient || len(after.Nutrition) == 0) {
		return nil, nil // nothing the engine reads: no decoding on the common path
	}
	st, err := n.states.get(after, n.State)
	if err != nil {
		return nil, err
	}
	if len(before.Nutrition) == 0 && n.store != nil {
		// The claim maps the pseudonym to the record it is computed from,
		// so it is never wrong, even if this write then fails.
		if _, err := n.store.Claim(ctx, after.Country, personRefNS, st.PersonRef, after.ID); err != nil {
			return nil, fmt.Errorf("nutrition: claim person ref: %w", err)
		}
	}
	rs := n.rules.For(string(after.Country))
	vs, err := fhir.ReadVisits(after)
	if err != nil {
		return nil, err
	}
	old := st
	actor := actorOf(ctx)
	var events []nutrition.Event
	// Unless a write changed the Observations of a visit assessed before
	// (a correction, a deletion, an Observation added to an earlier
	// visit), the derived resources of the visits assessed before keep
	// their inputs, and only what changed is rendered again.
	since := len(ids) == 0
	if len(ids) > 0 || patient {
		if st, events, since, err = n.assess(st, vs, ids, patient, rs, now, actor); err != nil {
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
		if st, ev, err = n.run(cmd, st, rs, now); err != nil {
			return nil, err
		}
		events = append(events, ev...)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("nutrition: encode state: %w", err)
	}
	after.Nutrition = b
	n.states.put(after.Country, after.ID, b, st)
	if since {
		have := derivedOf(after)
		derived, want, err := fhir.DeriveSince(after.ID, &old, &st, vs.Sources, func(id string) bool { _, ok := have[id]; return ok }, now)
		if err != nil {
			return nil, err
		}
		n.count(after.Country, &st, events)
		return changesTo(have, derived, want), nil
	}
	derived, err := fhir.Derive(after.ID, &st, vs.Sources, now)
	if err != nil {
		return nil, err
	}
	n.count(after.Country, &st, events)
	return derivedChanges(after, derived), nil
}

// assess runs the engine on the visits: Validate for every visit holding a
// touched Observation, then Assess + Apply for visits seen for the first
// time, or Reassess of the whole list after a correction or deletion.
// appended reports the first case: every touched Observation belongs to a
// visit assessed for the first time.
func (n *Nutrition) assess(st nutrition.State, vs fhir.Visits, ids map[string]bool, patient bool, rs *nutrition.RuleSet, now time.Time, actor string) (_ nutrition.State, _ []nutrition.Event, appended bool, _ error) {
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
func (n *Nutrition) run(c *command, st nutrition.State, rs *nutrition.RuleSet, now time.Time) (nutrition.State, []nutrition.Event, error) {
	switch c.kind {
	case "alert-status":
		return nutrition.SetAlertStatus(st, c.alertID, c.status, c.reason, c.actor, now)
	case "admit":
		return nutrition.Admit(st, rs, c.adm, now, c.actor)
	case "close":
		return nutrition.Close(st, c.episode, c.outcome, c.reason, c.actor, now)
	case "transfer":
		return nutrition.Transfer(st, rs, c.episode, c.adm.Programme, c.reason, c.actor, now)
	case "followup":
		st, ev := nutrition.CheckFollowUp(st, rs, now)
		return st, ev, nil
	}
	return st, nil, fmt.Errorf("nutrition: unknown command %q", c.kind)
}

// count updates the assessment counter from a write's events.
func (n *Nutrition) count(cc records.Country, st *nutrition.State, events []nutrition.Event) {
	for _, ev := range events {
		if ev.Type != nutrition.EventAssessed {
			continue
		}
		for i := range st.Assessments {
			if st.Assessments[i].MeasurementID == ev.MeasurementID {
				n.assessments.WithLabelValues(string(cc), st.Assessments[i].Classification).Inc()
				break
			}
		}
	}
}

// derivedChanges returns the changes that make p's derived resources equal
// want: creates, updates of those whose body or keys differ, deletes of
// those no longer derived.
func derivedChanges(p *records.Person, want []records.Resource) []records.Change {
	have := map[string]records.Resource{}
	for _, r := range p.Latest() {
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

// derivedOf returns p's current derived resources by id.
func derivedOf(p *records.Person) map[string]records.Resource {
	have := map[string]records.Resource{}
	for _, r := range p.Latest() {
		if fhir.IsDerived(r.ID) && r.Type != "Patient" {
			have[r.ID] = r
		}
	}
	return have
}

// changesTo returns the changes that make the derived resources have equal
// those of ids: the rendered ones in derived created or updated where they
// differ, those not in ids deleted (fhir.DeriveSince).
func changesTo(have map[string]records.Resource, derived []records.Resource, ids map[string]bool) []records.Change {
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

// nutritionStates is implemented by stores that can list the nutrition
// states of a country (records/mongo.Store).
type nutritionStates interface {
	EachNutrition(ctx context.Context, cc records.Country, fn func(id string, state []byte) error) error
}

// eachState calls fn with every nutrition state of cc.
func eachState(ctx context.Context, store records.Store, cc records.Country, fn func(id string, st *nutrition.State) error) error {
	ns, ok := store.(nutritionStates)
	if !ok {
		return errorf(records.ErrNotSupported, "the store cannot list nutrition states")
	}
	return ns.EachNutrition(ctx, cc, func(id string, b []byte) error {
		var st nutrition.State
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("nutrition state of %s: %w", id, err)
		}
		return fn(id, &st)
	})
}

// FollowUpResult counts one follow-up scan.
type FollowUpResult struct {
	Scanned int // persons with a nutrition state
	Due     int // persons whose check found a change
	Written int // writes that succeeded (one that found nothing left to do, as another replica was first, included)
}

// RunFollowUp checks every person of cc with an open episode for missed
// visits as of now (nutrition.CheckFollowUp) and writes the changes through
// svc, whose optimistic concurrency makes concurrent runs on several
// replicas safe: the engine is idempotent, so a loser finds nothing left to
// do. It also refreshes the open-alerts gauge of cc.
func (n *Nutrition) RunFollowUp(ctx context.Context, svc *records.Service, cc records.Country, now time.Time) (FollowUpResult, error) {
	var res FollowUpResult
	var due []string
	open := map[[2]string]int{}
	rs := n.rules.For(string(cc))
	err := eachState(ctx, svc.Store(), cc, func(id string, st *nutrition.State) error {
		res.Scanned++
		for i := range st.Alerts {
			if al := &st.Alerts[i]; al.Active() {
				open[[2]string{al.Kind, al.Severity}]++
			}
		}
		if st.Status.OpenEpisodeID == "" {
			return nil
		}
		if _, ev := nutrition.CheckFollowUp(*st, rs, now); len(ev) > 0 {
			due = append(due, id)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("follow-up %s: %w", cc, err)
	}
	n.openAlerts.DeletePartialMatch(prometheus.Labels{"country": string(cc)})
	for k, v := range open {
		n.openAlerts.WithLabelValues(string(cc), k[0], k[1]).Set(float64(v))
	}
	res.Due = len(due)
	var errs []error
	for _, id := range due {
		ctx := withCommand(ctx, &command{kind: "followup", actor: nutrition.ActorSystem})
		if _, err := svc.Write(ctx, cc, records.Write{PersonID: id, Derive: true}); err != nil {
			errs = append(errs, fmt.Errorf("follow-up of a person: %w", err))
			continue
		}
		res.Written++
	}
	return res, errors.Join(errs...)
}

// RunScheduler runs RunFollowUp for every country every interval until ctx
// ends, with the clock now; failures go to logf.
func (n *Nutrition) RunScheduler(ctx context.Context, svc *records.Service, countries []records.Country, interval time.Duration, now func() time.Time, logf func(msg string, args ...any)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, cc := range countries {
			res, err := n.RunFollowUp(ctx, svc, cc, now())
			if err != nil && ctx.Err() == nil {
				logf("nutrition follow-up scan failed", "country", string(cc), "err", err)
			} else if res.Due > 0 {
				logf("nutrition follow-up scan", "country", string(cc), "scanned", res.Scanned, "due", res.Due, "written", res.Written)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
