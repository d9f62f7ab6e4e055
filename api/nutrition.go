package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"contigo/records"
	"contigo/records/derive"
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

// Nutrition installs the nutrition engine on the records write path
// (OnWrite, the records.ServiceOptions hook, which records/derive holds),
// runs the follow-up scheduler, and serves the sector-lead endpoints
// (alerts, indicators, episodes).
type Nutrition struct {
	rules       *nutrition.Registry
	key         []byte
	store       records.Store
	assessments *prometheus.CounterVec
	openAlerts  *prometheus.GaugeVec
	hook        *derive.Hook
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
	n.hook = derive.New(derive.Config{Rules: n.rules, PersonRef: n.PersonRef, Store: cfg.Store, Actor: actorOf,
		Assessed: func(cc records.Country, class string) { n.assessments.WithLabelValues(string(cc), class).Inc() }})
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
const personRefNS = derive.PersonRefNS

var refEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// PersonRef returns the pseudonymous reference of person id of cc: 26
// lower-case base32 characters of HMAC-SHA256(key, cc|id). It reveals
// neither the record id nor any identifier.
func (n *Nutrition) PersonRef(cc records.Country, id string) string {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte(string(cc) + "|" + id))
	return strings.ToLower(refEncoding.EncodeToString(m.Sum(nil))[:26])
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
func (n *Nutrition) State(p *records.Person) (nutrition.State, error) { return n.hook.State(p) }

// OnWrite is the records.ServiceOptions.OnWrite hook: what happens when a
// measurement is recorded (records/derive).
func (n *Nutrition) OnWrite(ctx context.Context, before, after *records.Person, changes []records.Change, now time.Time) ([]records.Change, error) {
	return n.hook.OnWrite(ctx, before, after, changes, now)
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
		ctx := derive.WithCommand(ctx, &derive.Command{Kind: "followup", Actor: nutrition.ActorSystem})
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
