package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// object is one rendered Kubernetes object.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data       map[string]any `yaml:"data"`
	StringData map[string]any `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		MinReplicas *int `yaml:"minReplicas"`
	} `yaml:"spec"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		FSGroup      *int  `yaml:"fsGroup"`
	} `yaml:"securityContext"`
	InitContainers []container `yaml:"initContainers"`
	Containers     []container `yaml:"containers"`
	Volumes        []struct {
		Name   string `yaml:"name"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type container struct {
	Name          string `yaml:"name"`
	Image         string `yaml:"image"`
	RestartPolicy string `yaml:"restartPolicy"` // Always: a native sidecar
	Env           []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretKeyRef"`
			ConfigMapKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Args         []string `yaml:"args"`
	Command      []string `yaml:"command"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	ReadinessProbe yaml.Node `yaml:"readinessProbe"`
	LivenessProbe  yaml.Node `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Privileged               *bool `yaml:"privileged"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

// secretNames are the Secrets the manifests may refer to: created out of
// band by deploy/k8s/make-secrets.sh (all but the last) and the ingress
// certificate.
var secretNames = []string{"contigo-signing-key", "contigo-token-keys", "contigo-federation", "contigo-mongodb", "contigo-tls"}

// sensitive names environment variables that must come from a Secret.
var sensitive = regexp.MustCompile(`(?i)password|secret|token|_key$|uri$`)

// TestKustomizeOverlays renders every overlay with kubectl kustomize and
// checks the invariants of what a cluster would run.
func TestKustomizeOverlays(t *testing.T) {
	kubectl := needTool(t, "kubectl")
	dirs, err := filepath.Glob("k8s/overlays/*")
	if err != nil || len(dirs) != 3 {
		t.Fatalf("overlays: %v %v, want co, ec, pe", dirs, err)
	}
	for _, dir := range dirs {
		cc := filepath.Base(dir)
		t.Run(cc, func(t *testing.T) {
			out, err := exec.Command(kubectl, "kustomize", dir).Output()
			if err != nil {
				t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderrOf(err))
			}
			objs := decodeObjects(t, out)
			checkRendered(t, cc, objs, out)
		})
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func decodeObjects(t *testing.T, b []byte) []object {
	t.Helper()
	docs, err := decodeYAML(b)
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]object, 0, len(docs))
	for _, d := range docs {
		raw, _ := yaml.Marshal(d)
		var o object
		if err := yaml.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	return objs
}

// checkRendered checks one overlay's rendered objects.
func checkRendered(t *testing.T, cc string, objs []object, raw []byte) {
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.Kind]++
		if o.Metadata.Namespace != "contigo-"+cc {
			t.Errorf("%s/%s: namespace %q, want contigo-%s", o.Kind, o.Metadata.Name, o.Metadata.Namespace, cc)
		}
		switch o.Kind {
		case "Secret":
			if len(o.Data) > 0 || len(o.StringData) > 0 {
				t.Errorf("Secret %s is inlined in the manifests", o.Metadata.Name)
			}
		case "Deployment", "StatefulSet":
			checkPod(t, o.Kind+"/"+o.Metadata.Name, o.Spec.Template.Spec)
		case "Service":
			// The ServiceMonitor copies node_country from the Service to every
			// series: the alert rules group by it.
			if o.Metadata.Labels["node_country"] != strings.ToUpper(cc) {
				t.Errorf("Service %s: label node_country %q, want %s", o.Metadata.Name, o.Metadata.Labels["node_country"], strings.ToUpper(cc))
			}
		case "HorizontalPodAutoscaler":
			if o.Spec.MinReplicas == nil || *o.Spec.MinReplicas < 2 {
				t.Errorf("HPA %s: minReplicas below 2", o.Metadata.Name)
			}
		}
	}
	for _, k := range []string{"Deployment", "StatefulSet", "Service", "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "ServiceMonitor", "ConfigMap", "ServiceAccount"} {
		if kinds[k] == 0 {
			t.Errorf("no %s rendered", k)
		}
	}
	if kinds["PodDisruptionBudget"] < 2 {
		t.Error("want a PodDisruptionBudget for the API and one for MongoDB")
	}
	host := "api." + cc + ".contigo.example"
	if !strings.Contains(string(raw), "host: "+host) || !strings.Contains(string(raw), "public-url: https://"+host+"\n") {
		t.Errorf("the Ingress host and the node's public-url are not both %s", host)
	}
	if !strings.Contains(string(raw), "countries: "+strings.ToUpper(cc)) {
		t.Errorf("the node's ConfigMap does not name country %s", strings.ToUpper(cc))
	}
	for _, re := range []string{`mongodb(\+srv)?://[^@\s"]+:[^@\s"]+@`, `BEGIN [A-Z ]*PRIVATE KEY`} {
		if regexp.MustCompile(re).Match(raw) {
			t.Errorf("rendered manifests hold a credential (%s)", re)
		}
	}
}

// checkPod checks the containers of one workload.
func checkPod(t *testing.T, where string, p podSpec) {
	if p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", where)
	}
	for _, v := range p.Volumes {
		if v.Secret != nil && !slices.Contains(secretNames, v.Secret.SecretName) {
			t.Errorf("%s: mounts Secret %q, not one of %v", where, v.Secret.SecretName, secretNames)
		}
	}
	secretVols := map[string]bool{}
	for _, v := range p.Volumes {
		if v.Secret != nil {
			secretVols[v.Name] = true
		}
	}
	if p.SecurityContext.FSGroup != nil {
		// With an fsGroup, Secret files are group-readable whatever their
		// defaultMode, and contigo and mongod refuse such key files: only a
		// step that copies them (an init container) may mount Secrets.
		for _, c := range p.Containers {
			for _, m := range c.VolumeMounts {
				if secretVols[m.Name] {
					t.Errorf("%s container %s mounts Secret volume %s directly, with fsGroup set: its key files would be group-readable", where, c.Name, m.Name)
				}
			}
		}
	}
	all := append(slices.Clone(p.InitContainers), p.Containers...)
	for i, c := range all {
		at := fmt.Sprintf("%s container %s", where, c.Name)
		long := i >= len(p.InitContainers) || c.RestartPolicy == "Always" // runs all along: probed
		if long && (c.ReadinessProbe.Kind == 0 || c.LivenessProbe.Kind == 0) {
			t.Errorf("%s: no readiness or liveness probe", at)
		}
		for _, r := range []string{"cpu", "memory"} {
			if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
				t.Errorf("%s: no %s request or limit", at, r)
			}
		}
		sc := c.SecurityContext
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", at)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem is not true", at)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", at)
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: capabilities not dropped (want drop: [ALL])", at)
		}
		checkImage(t, at, c.Image)
		for _, e := range c.Env {
			if e.Value != "" && !strings.HasPrefix(e.Value, "/") && sensitive.MatchString(e.Name) { // a path is no secret
				t.Errorf("%s: env %s is inlined; take it from a Secret", at, e.Name)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !slices.Contains(secretNames, e.ValueFrom.SecretKeyRef.Name) {
				t.Errorf("%s: env %s from Secret %q, not one of %v", at, e.Name, e.ValueFrom.SecretKeyRef.Name, secretNames)
			}
		}
		for _, a := range append(slices.Clone(c.Args), c.Command...) {
			if strings.Contains(a, "mongodb://") || strings.Contains(a, "password") {
				t.Errorf("%s: argument %q holds a connection string or password", at, a)
			}
		}
	}
}

// checkImage wants a registry image with a release tag or a digest.
func checkImage(t *testing.T, at, image string) {
	name, digest, hasDigest := strings.Cut(image, "@")
	if hasDigest {
		if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
			t.Errorf("%s: bad digest in %q", at, image)
		}
		return
	}
	slash := strings.LastIndex(name, "/")
	colon := strings.LastIndex(name, ":")
	if colon <= slash {
		t.Errorf("%s: image %q has neither tag nor digest", at, image)
		return
	}
	if tag := name[colon+1:]; tag == "latest" || tag == "" {
		t.Errorf("%s: image %q uses tag %q", at, image, tag)
	}
}

// TestMakeSecretsScript checks the script that creates the Secrets is
// valid bash and creates each Secret the manifests refer to.
func TestMakeSecretsScript(t *testing.T) {
	bash := needTool(t, "bash")
	if out, err := exec.Command(bash, "-n", "k8s/make-secrets.sh").CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	b, err := os.ReadFile("k8s/make-secrets.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secretNames[:len(secretNames)-1] {
		if !strings.Contains(string(b), "apply "+s) {
			t.Errorf("make-secrets.sh does not create %s", s)
		}
	}
}

// routeRe finds the paths the API registers: Echo route calls and the two
// FHIR bases.
var routeRe = regexp.MustCompile(`\.(?:GET|POST|PUT|PATCH|DELETE|Any|Add)\(\s*(?:http\.Method\w+,\s*)?"(/[^"]*)"|fhirRoutes\(e, "(/[^"]*)"`)

// apiPrefixes returns the first path segment of every route the api and
// web packages register (their non-test sources).
func apiPrefixes(t *testing.T) map[string]bool {
	t.Helper()
	prefixes := map[string]bool{}
	for _, dir := range []string{"../api", "../web"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range routeRe.FindAllStringSubmatch(string(b), -1) {
				p := m[1] + m[2]
				seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
				prefixes["/"+seg] = true
			}
		}
	}
	if len(prefixes) < 8 {
		t.Fatalf("found routes under %v only", prefixes)
	}
	return prefixes
}

// TestIngressRoutesTheAPI checks that the Ingress routes every top-level
// path the API serves to users (the app, tokens, SMART discovery, FHIR,
// nutrition) and none of the probes or /metrics.
func TestIngressRoutesTheAPI(t *testing.T) {
	kubectl := needTool(t, "kubectl")
	out, err := exec.Command(kubectl, "kustomize", "k8s/overlays/co").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, stderrOf(err))
	}
	docs, err := decodeYAML(out)
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	for _, d := range docs {
		raw, _ := yaml.Marshal(d)
		var ing struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Rules []struct {
					HTTP struct {
						Paths []struct {
							Path     string `yaml:"path"`
							PathType string `yaml:"pathType"`
						} `yaml:"paths"`
					} `yaml:"http"`
				} `yaml:"rules"`
			} `yaml:"spec"`
		}
		if yaml.Unmarshal(raw, &ing) != nil || ing.Kind != "Ingress" {
			continue
		}
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				if p.PathType != "Prefix" {
					t.Errorf("Ingress path %s: pathType %s, want Prefix", p.Path, p.PathType)
				}
				routed[p.Path] = true
			}
		}
	}
	internal := []string{"/healthz", "/readyz", "/metrics"}
	for p := range apiPrefixes(t) {
		if slices.Contains(internal, p) {
			if routed[p] {
				t.Errorf("the Ingress exposes %s", p)
			}
			continue
		}
		if !routed[p] {
			t.Errorf("the API serves %s but the Ingress does not route it", p)
		}
	}
}
