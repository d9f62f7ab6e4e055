package deploy

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPrometheusRules runs promtool check rules on the rules and promtool
// test rules on their unit tests.
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
}
