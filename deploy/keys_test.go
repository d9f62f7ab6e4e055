package deploy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"contigo/api"
	"contigo/internal/servetest"
)

// secretVolume writes files as the kubelet lays out a Secret volume with
// an fsGroup: the files in a timestamped directory, group-readable (0440:
// Kubernetes adds the group's read bit to defaultMode 0400), reached
// through the symlinks ..data and <name>.
func secretVolume(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	ts := "..2026_12_05_07_00_00.000000001"
	if err := os.MkdirAll(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		p := filepath.Join(dir, ts, name)
		if err := os.WriteFile(p, b, 0o440); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o440); err != nil { // past the umask
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// TestKeyCopyStep plays the CO Deployment's key handling without a
// cluster: its Secrets laid out as the kubelet does with the pod's
// fsGroup, the "keys" init container's script run on them, then
// "contigo serve" started with the container's arguments and environment
// (the embedded engine instead of MongoDB). serve refuses the Secret's
// group-readable files as they are, starts on the copies, signs tokens
// with the newest token key, and "contigo token" (as run by kubectl exec)
// finds the same keys from the environment.
func TestKeyCopyStep(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	kubectl := needTool(t, "kubectl")
	sh := needTool(t, "sh")
	bin := buildLikeDocker(t)
	out, err := exec.Command(kubectl, "kustomize", "k8s/overlays/co").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, stderrOf(err))
	}
	var dep *object
	configMaps := map[string]map[string]any{}
	objs := decodeObjects(t, out)
	for i, o := range objs {
		switch {
		case o.Kind == "Deployment" && o.Metadata.Name == "contigo":
			dep = &objs[i]
		case o.Kind == "ConfigMap":
			configMaps[o.Metadata.Name] = o.Data
		}
	}
	if dep == nil {
		t.Fatal("no Deployment contigo rendered")
	}
	pod := dep.Spec.Template.Spec
	var initc, main *container
	for i, c := range pod.InitContainers {
		if c.Name == "keys" {
			initc = &pod.InitContainers[i]
		}
	}
	for i, c := range pod.Containers {
		if c.Name == "contigo" {
			main = &pod.Containers[i]
		}
	}
	if initc == nil || main == nil || len(initc.Command) != 3 || initc.Command[0] != "sh" {
		t.Fatalf("want an init container keys running sh -c SCRIPT and a container contigo; got %+v", initc)
	}

	// The Secrets' contents, as make-secrets.sh makes them.
	root := t.TempDir()
	pki := filepath.Join(root, "pki")
	if o, err := exec.Command(bin, "federation", "init", pki, "--countries", "CO,EC,PE", "--port", fmt.Sprint(freePorts(t))).CombinedOutput(); err != nil {
		t.Fatalf("federation init: %v\n%s", err, o)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(pki, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	newKey := func() []byte { return []byte(base64.StdEncoding.EncodeToString(api.NewKey()) + "\n") }
	current, upcoming := newKey(), newKey()
	contents := map[string]map[string][]byte{
		"contigo-signing-key": {"signing.key": newKey()},
		"contigo-token-keys":  {"2026-06-01.key": newKey(), "2026-12-01.key": current, "2026-12-05.next": upcoming},
		"contigo-federation": {"peers.json": read("co-peers.json"), "ca.pem": read("ca.pem"),
			"co-node.pem": read("co-node.pem"), "co-node-key.pem": read("co-node-key.pem")},
	}
	secretOf := map[string]string{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secretOf[v.Name] = v.Secret.SecretName
		}
	}
	// Every mount path of the pod becomes a directory under root.
	var mounts []string
	for _, m := range initc.VolumeMounts {
		p := filepath.Join(root, m.MountPath)
		if s, ok := secretOf[m.Name]; ok {
			if contents[s] == nil {
				t.Fatalf("init container mounts Secret %s the test has no content for", s)
			}
			secretVolume(t, p, contents[s])
		} else if err := os.MkdirAll(p, 0o777); err != nil {
			t.Fatal(err)
		}
		mounts = append(mounts, m.MountPath)
	}
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	rebase := func(s string) string {
		for _, m := range mounts {
			s = strings.ReplaceAll(s, m, filepath.Join(root, m))
		}
		return s
	}

	script := rebase(initc.Command[2])
	if o, err := exec.Command(sh, "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("init container keys: %v\n%s\nscript:\n%s", err, o, script)
	}

	// The container's environment, paths moved under root.
	var env []string
	for _, e := range main.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+rebase(e.Value))
		case e.ValueFrom.ConfigMapKeyRef != nil:
			v, ok := configMaps[e.ValueFrom.ConfigMapKeyRef.Name][e.ValueFrom.ConfigMapKeyRef.Key]
			if !ok {
				t.Fatalf("env %s: ConfigMap %s has no key %s", e.Name, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
			}
			env = append(env, fmt.Sprintf("%s=%v", e.Name, v))
		}
	}
	env = append(env, "CONTIGO_MONGODB_URI=", "CONTIGO_DATA_DIR="+filepath.Join(root, "data"))
	for _, e := range env {
		if strings.HasPrefix(e, "CONTIGO_SIGNING") {
			p := e[strings.Index(e, "=")+1:]
			if fi, err := os.Stat(p); err != nil || (!fi.IsDir() && fi.Mode().Perm() != 0o600) {
				t.Errorf("%s after the init container: %v %v, want a private copy", e, fi, err)
			}
		}
	}

	// The Secret's file itself, group-readable, is refused.
	secretKey := filepath.Join(root, "etc/contigo/signing/signing.key")
	if _, err := os.Stat(secretKey); err != nil {
		t.Errorf("the signing-key Secret is no longer mounted at /etc/contigo/signing: %v", err)
	} else {
		cmd := exec.CommandContext(t.Context(), bin, "serve", "--addr", "127.0.0.1:0", "--signing-key", secretKey, "--data-dir", filepath.Join(root, "data-refused"))
		cmd.Env = append(os.Environ(), "CONTIGO_MONGODB_URI=")
		o, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(o), "0440") {
			t.Errorf("serve on the Secret's own 0440 key: %v, %s; want a refusal naming the mode", err, o)
		}
	}

	var args []string
	for _, a := range main.Args {
		switch {
		case strings.HasPrefix(a, "--addr="):
			a = "--addr=127.0.0.1:0"
		case strings.HasPrefix(a, "--peer-addr="):
			a = fmt.Sprintf("--peer-addr=127.0.0.1:%d", freePorts(t))
		}
		args = append(args, rebase(a))
	}
	addr := servetest.Start(t, bin, args, env)

	// contigo token as "kubectl exec deploy/contigo -- contigo token" runs it.
	tok := exec.Command(bin, "token", "--role", "admin", "--country", "CO", "--ttl", "1h")
	tok.Env = append(os.Environ(), env...)
	tok.Dir = root
	o, err := tok.Output()
	if err != nil {
		t.Fatalf("contigo token: %v", err)
	}
	token := strings.TrimSpace(string(o))
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	var h struct{ Kid string }
	json.Unmarshal(hdr, &h)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(current)))
	if h.Kid != api.KeyID(key) {
		t.Errorf("token signed by key %q, want the newest *.key %s", h.Kid, api.KeyID(key))
	}
	get(t, "http://"+addr+"/fhir/Patient?_count=1", token)
}
