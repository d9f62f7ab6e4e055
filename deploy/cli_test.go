package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// serveOptions returns the flags of "contigo serve" and their environment
// variables, from its --help.
func serveOptions(t *testing.T, bin string) (flags, env map[string]bool) {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	flags, env = map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+--([a-z0-9-]+) \(env (CONTIGO_[A-Z0-9_]+)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]], env[m[2]] = true, true
	}
	if len(flags) < 20 {
		t.Fatalf("contigo serve --help lists %d flags:\n%s", len(flags), out)
	}
	return flags, env
}

// composeFile is the part of the Compose file the checks need.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestInvocationsUseRealOptions checks that every "contigo serve" flag and
// CONTIGO_* variable the Dockerfile, the Compose file and the rendered
// Kubernetes Deployment give the binary is one it knows (a renamed flag
// would stop every replica at start), and runs the Compose file's PKI
// command for real: twice (--if-absent), producing the files
// make-secrets.sh and the replicas' --peers expect.
func TestInvocationsUseRealOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLikeDocker(t)
	flags, env := serveOptions(t, bin)
	checkServe := func(where string, args []string, vars []string) {
		t.Helper()
		for _, a := range args {
			if name, ok := strings.CutPrefix(a, "--"); ok {
				name, _, _ = strings.Cut(name, "=")
				if !flags[name] {
					t.Errorf("%s: contigo serve has no flag --%s", where, name)
				}
			}
		}
		for _, v := range vars {
			if strings.HasPrefix(v, "CONTIGO_") && !env[v] {
				t.Errorf("%s: contigo serve reads no variable %s", where, v)
			}
		}
	}

	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	runtime := string(df[strings.LastIndex(string(df), "\nFROM "):])
	checkServe("Dockerfile", nil, regexp.MustCompile(`CONTIGO_[A-Z0-9_]+`).FindAllString(runtime, -1))

	c := readCompose(t)
	var pki []string
	for name, s := range c.Services {
		if !strings.HasPrefix(s.Image, "contigo:") {
			continue
		}
		var vars []string
		for v := range s.Environment {
			vars = append(vars, v)
		}
		switch {
		case len(s.Command) > 0 && s.Command[0] == "serve":
			checkServe("compose service "+name, s.Command[1:], vars)
		case len(s.Command) > 2 && s.Command[0] == "federation" && s.Command[1] == "init":
			pki = s.Command
		default:
			t.Errorf("compose service %s: unexpected contigo command %v", name, s.Command)
		}
	}

	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.Command(kubectl, "kustomize", "k8s/overlays/co").Output()
		if err != nil {
			t.Fatalf("kubectl kustomize: %v\n%s", err, stderrOf(err))
		}
		n := 0
		for _, o := range decodeObjects(t, out) {
			for _, ct := range o.Spec.Template.Spec.Containers {
				if ct.Name != "contigo" {
					continue
				}
				n++
				var vars []string
				for _, e := range ct.Env {
					vars = append(vars, e.Name)
				}
				if len(ct.Args) == 0 || ct.Args[0] != "serve" {
					t.Errorf("k8s container contigo: args %v, want serve ...", ct.Args)
					continue
				}
				checkServe("k8s Deployment", ct.Args[1:], vars)
			}
		}
		if n == 0 {
			t.Error("k8s: no contigo container rendered")
		}
	}

	// The Compose PKI job, in a temporary directory instead of the volume.
	if pki == nil {
		t.Fatal("compose: no contigo federation init service")
	}
	dir := filepath.Join(t.TempDir(), "pki")
	args := append([]string{}, pki...)
	for i, a := range args {
		if a == "/var/lib/contigo/pki" {
			args[i] = dir
		}
	}
	for range 2 { // --if-absent: the second start keeps the first PKI
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("contigo %v: %v\n%s", args, err, out)
		}
	}
	for _, cc := range []string{"co", "ec", "pe"} {
		for _, f := range []string{cc + "-peers.json", cc + "-node.pem", cc + "-node-key.pem", "ca.pem"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("federation init made no %s (make-secrets.sh and compose need it): %v", f, err)
			}
		}
		var peers struct {
			Peers map[string]struct{ URL string } `json:"peers"`
		}
		b, _ := os.ReadFile(filepath.Join(dir, cc+"-peers.json"))
		if err := json.Unmarshal(b, &peers); err != nil || len(peers.Peers) != 2 {
			t.Errorf("%s-peers.json: %v, %d peers, want 2", cc, err, len(peers.Peers))
		}
		for pc, p := range peers.Peers {
			// The Compose proxies are <cc>-node; the peer ports 8441-8443.
			if want := "https://" + strings.ToLower(pc) + "-node:844"; !strings.HasPrefix(p.URL, want) {
				t.Errorf("%s-peers.json: peer %s at %s, want %s*", cc, pc, p.URL, want)
			}
		}
	}
}

// healthcheckCmd returns the Dockerfile HEALTHCHECK's command (exec form).
func healthcheckCmd(t *testing.T) []string {
	t.Helper()
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\nHEALTHCHECK [^\n]*\\\n\s*CMD (\[[^\n]*\])`).FindSubmatch(df)
	if m == nil {
		t.Fatal("Dockerfile: no HEALTHCHECK ... CMD [exec form]")
	}
	var cmd []string
	if err := json.Unmarshal(m[1], &cmd); err != nil {
		t.Fatalf("HEALTHCHECK CMD %s: %v (exec form needed: the image has no shell)", m[1], err)
	}
	return cmd
}

// TestHealthcheck runs the Dockerfile's HEALTHCHECK command against a
// running node (exit 0) and against a port nobody listens on (exit 1).
func TestHealthcheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildLikeDocker(t)
	cmd := healthcheckCmd(t)
	if cmd[0] != "/usr/local/bin/contigo" {
		t.Fatalf("HEALTHCHECK runs %s, want the binary /usr/local/bin/contigo", cmd[0])
	}
	addr, _ := startNode(t, bin)
	probe := func(hostport string) error {
		args := append([]string{}, cmd[1:]...)
		for i := range args {
			args[i] = strings.Replace(args[i], "127.0.0.1:8080", hostport, 1)
		}
		return exec.Command(bin, args...).Run()
	}
	if err := probe(addr); err != nil {
		t.Errorf("HEALTHCHECK against a ready node: %v", err)
	}
	closed := freePorts(t)
	if err := probe("127.0.0.1:" + itoa(closed)); err == nil {
		t.Error("HEALTHCHECK against a closed port succeeded")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
