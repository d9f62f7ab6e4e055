package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestPrometheusRules runs promtool check rules on the rules, promtool
// test rules on their unit tests, and promtool check config on the Compose
// region's Prometheus configuration.
func TestPrometheusRules(t *testing.T) {
	promtool := needTool(t, "promtool")
	rules, _ := filepath.Glob("prometheus/rules/*.yml")
	tests, _ := filepath.Glob("prometheus/tests/*.yml")
	if len(rules) == 0 || len(tests) == 0 {
		t.Fatalf("rules %v, tests %v: want both", rules, tests)
	}
	if out, err := exec.Command(promtool, append([]string{"check", "rules"}, rules...)...).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, append([]string{"test", "rules"}, tests...)...).CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "check", "config", "compose/prometheus.yml").CombinedOutput(); err != nil {
		t.Errorf("promtool check config (the Compose region's Prometheus): %v\n%s", err, out)
	}
}

// TestEveryAlertTestedAndDocumented checks that every alert has a promtool
// unit test that expects it to fire, and a runbook annotation pointing at a
// section of docs/operations.md.
func TestEveryAlertTestedAndDocumented(t *testing.T) {
	b, err := os.ReadFile("prometheus/rules/contigo.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	tests, _ := filepath.Glob("prometheus/tests/*.yml")
	var firing strings.Builder
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string `yaml:"alertname"`
					ExpAlerts []any  `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		if err := yaml.Unmarshal(b, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					firing.WriteString(" " + a.Alertname + " ")
				}
			}
		}
	}
	docs, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	// GitHub's anchors: the heading lower-cased.
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (\S+)\s*$`).FindAllStringSubmatch(string(docs), -1) {
		anchors[strings.ToLower(m[1])] = true
	}
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !strings.Contains(firing.String(), " "+r.Alert+" ") {
				t.Errorf("alert %s: no promtool test expects it to fire", r.Alert)
			}
			rb, ok := strings.CutPrefix(r.Annotations["runbook"], "docs/operations.md#")
			if !ok || !anchors[rb] {
				t.Errorf("alert %s: runbook %q is not a section of docs/operations.md", r.Alert, r.Annotations["runbook"])
			}
		}
	}
	if n < 14 {
		t.Errorf("%d alerts, expected the issue's whole list", n)
	}
}
