package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Parts of a PromQL expression that never name a metric.
var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = []string{"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// promMetrics returns the metric names a PromQL expression selects.
func promMetrics(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	var names []string
	for _, m := range promIdent.FindAllStringIndex(s, -1) {
		if m[0] > 0 && strings.ContainsAny(s[m[0]-1:m[0]], "0123456789.") {
			continue // the unit of a number or duration, e.g. 1d
		}
		if rest := strings.TrimLeft(s[m[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function
		}
		if name := s[m[0]:m[1]]; !slices.Contains(promKeywords, name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

func TestPromMetrics(t *testing.T) {
	got := promMetrics(`sum by (node_country, le) (rate(a_bucket{url!~"/metrics|x"}[5m])) / on(x) group_left(y) b offset 1d > 2 * avg_over_time(c:d:e[7d] offset 1d) and time() - f > 3 * 3600`)
	want := []string{"a_bucket", "b", "c:d:e", "f"}
	if !slices.Equal(got, want) {
		t.Errorf("promMetrics = %v, want %v", got, want)
	}
}

// ruleFile is the part of a Prometheus rule file the checks need.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboardQueries returns every PromQL query of the Grafana dashboard:
// panel targets and template variable queries (label_values(metric, label)).
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("grafana/contigo.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var qs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, tg.Expr)
		}
	}
	lv := regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		json.Unmarshal(v.Query, &q)
		if m := lv.FindStringSubmatch(q.Query); m != nil {
			qs = append(qs, m[1])
		} else {
			t.Errorf("dashboard variable query %s: not label_values(metric, label)", v.Query)
		}
	}
	if len(qs) < 15 {
		t.Fatalf("dashboard has %d queries", len(qs))
	}
	return qs
}

// TestQueriesNameExportedMetrics starts a real "contigo serve" (embedded
// engine, federation peers that do not answer, a fast follow-up scan), makes
// it export every family (a visit with a severe-wasting MUAC, a federated
// search), and checks that every metric the dashboard and the rules name is
// exported by it, recorded by a rule, or Prometheus's own "up".
func TestQueriesNameExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildLikeDocker(t)
	addr, dataDir := startNode(t, bin)
	base := "http://" + addr

	var rf ruleFile
	b, err := os.ReadFile("prometheus/rules/contigo.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	uses := map[string][]string{} // metric -> where it is used
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
			for _, m := range promMetrics(r.Expr) {
				uses[m] = append(uses[m], "rule "+r.Record+r.Alert)
			}
		}
	}
	for _, q := range dashboardQueries(t) {
		for _, m := range promMetrics(q) {
			uses[m] = append(uses[m], "dashboard query "+q)
		}
	}
	var want []string
	for m := range uses {
		if !recorded[m] && m != "up" {
			want = append(want, m)
		}
	}
	slices.Sort(want)

	// The CapabilityStatement names the stamped version.
	var cs struct {
		Software struct{ Name, Version string }
	}
	json.Unmarshal(get(t, base+"/fhir/metadata", ""), &cs)
	if cs.Software.Version != stampedVersion {
		t.Errorf("CapabilityStatement software = %+v, want version %s", cs.Software, stampedVersion)
	}

	token := strings.TrimSpace(run(t, bin, "token", "--role", "admin", "--country", "CO", "--data-dir", dataDir, "--ttl", "1h"))
	born := time.Now().AddDate(-2, 0, 0).Format("2006-01-02")
	today := time.Now().Format("2006-01-02")
	var p struct{ ID string }
	json.Unmarshal(post(t, base+"/fhir/Patient", token, `{"resourceType":"Patient","gender":"female","birthDate":"`+born+`"}`), &p)
	post(t, base+"/fhir/Observation", token, `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"56072-2"}]},"subject":{"reference":"Patient/`+p.ID+`"},
		"effectiveDateTime":"`+today+`","valueQuantity":{"value":112,"unit":"mm","system":"http://unitsofmeasure.org","code":"mm"}}`)
	get(t, base+"/fhir/Patient?name=rojas&_federated=true", token)
	// Failed authentications beyond the per-address limit: 429s counted in
	// contigo_http_rate_limited_total (a counter vector, exported once used).
	limited := false
	for range 100 {
		if badAuth(t, base+"/fhir/Patient") == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("100 failed authentications from one address were never refused with 429")
	}

	// Poll (bounded) until every wanted family shows up.
	var exported map[string]bool
	deadline := time.Now().Add(90 * time.Second)
	for {
		exported = metricNames(get(t, base+"/metrics", ""))
		missing := slices.DeleteFunc(slices.Clone(want), func(m string) bool { return exported[m] })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, m := range missing {
				t.Errorf("metric %s is not exported by contigo serve; used by %v", m, uses[m])
			}
			return
		}
		time.Sleep(time.Second)
	}
	if !exported["contigo_build_info"] {
		t.Error("contigo_build_info is not exported")
	}
}

// badAuth sends a request with a token that fails to authenticate and
// returns the status.
func badAuth(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metricNames returns the names of the samples in a Prometheus text exposition.
func metricNames(b []byte) map[string]bool {
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("contigo %v: %v", args, err)
	}
	return string(out)
}

func get(t *testing.T, url, token string) []byte {
	t.Helper()
	return do(t, http.MethodGet, url, token, "")
}

func post(t *testing.T, url, token, body string) []byte {
	t.Helper()
	return do(t, http.MethodPost, url, token, body)
}

// do sends one request (bounded by a minute) and wants a 2xx answer.
func do(t *testing.T, method, url, token, body string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	return b
}
