package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contigo/api"
	"contigo/records"
	"contigo/records/nutrition"
)

func init() {
	serveEnv["rules-dir"] = "CONTIGO_RULES_DIR"
	serveEnv["followup-interval"] = "CONTIGO_FOLLOWUP_INTERVAL"
}

// nutritionOptions configure the nutrition engine of "contigo serve".
type nutritionOptions struct {
	RulesDir string        // directory of <CC>.json rule sets; "" = built-in defaults
	Interval time.Duration // follow-up scan interval; 0 disables the scheduler
}

// nutritionFlags registers --rules-dir and --followup-interval on fs and
// returns a function that reads and checks them after parsing.
func nutritionFlags(fs *flag.FlagSet) func() (nutritionOptions, error) {
	dir := fs.String("rules-dir", "", "directory of nutrition rule sets (<CC>.json, optional default.json; docs/nutrition.md); empty uses the built-in WHO defaults")
	every := fs.Duration("followup-interval", time.Hour, "how often the missed-follow-up scan runs (safe on several replicas); 0 disables it")
	return func() (nutritionOptions, error) {
		o := nutritionOptions{RulesDir: *dir, Interval: *every}
		if o.Interval < 0 {
			return o, errors.New("--followup-interval must not be negative")
		}
		if o.RulesDir != "" {
			if _, err := nutrition.LoadDir(o.RulesDir); err != nil {
				return o, fmt.Errorf("--rules-dir: %w", err)
			}
		}
		return o, nil
	}
}

// newNutrition builds the nutrition integration: the rule sets of
// o.RulesDir and a pseudonym key derived from the node key (never the
// signing key itself).
func newNutrition(o nutritionOptions, nodeKey []byte, reg prometheus.Registerer, store records.Store) (*api.Nutrition, error) {
	var rules *nutrition.Registry
	if o.RulesDir != "" {
		var err error
		if rules, err = nutrition.LoadDir(o.RulesDir); err != nil {
			return nil, fmt.Errorf("nutrition rules: %w", err)
		}
	}
	m := hmac.New(sha256.New, nodeKey)
	m.Write([]byte("contigo nutrition person-ref v1"))
	return api.NewNutrition(api.NutritionConfig{Rules: rules, Key: m.Sum(nil), Registry: reg, Store: store})
}

// startFollowUp runs the missed-follow-up scans until ctx ends, with their
// metrics on reg.
func startFollowUp(ctx context.Context, o nutritionOptions, nut *api.Nutrition, svc *records.Service, countries []records.Country, reg prometheus.Registerer, log *slog.Logger) error {
	if o.Interval <= 0 {
		return nil
	}
	m, err := newFollowUpMetrics(reg)
	if err != nil {
		return fmt.Errorf("follow-up metrics: %w", err)
	}
	go runFollowUpScans(ctx, o.Interval, nut, svc, countries, m, log)
	return nil
}
