// Package deploy holds no Go: its tests check the deployment files next to
// them (Dockerfile, Compose, Kubernetes, Prometheus rules, Grafana) with
// the tools CI has: kubectl kustomize, promtool, and a real "contigo serve".
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// needTool returns the path of a command-line tool. Missing, it skips the
// test, except under CI=true, where a missing tool is a failure (.ci/run
// installs them).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true: .ci/run must install it)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// decodeYAML decodes every document of a YAML stream into generic values.
func decodeYAML(b []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, v)
		}
	}
}

// TestFilesParse parses every YAML and JSON file under deploy/.
func TestFilesParse(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			n++
			if docs, err := decodeYAML(b); err != nil || len(docs) == 0 {
				t.Errorf("%s: %d documents, %v", path, len(docs), err)
			}
		case ".json":
			n++
			if !json.Valid(b) {
				t.Errorf("%s: not valid JSON", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Errorf("parsed %d YAML and JSON files, expected the whole deploy tree", n)
	}
}

// pinned matches an image reference pinned by digest.
var pinned = regexp.MustCompile(`^[a-z0-9./_:-]+@sha256:[0-9a-f]{64}$`)

// TestImagesPinned checks that the Dockerfile's and the Compose file's
// third-party images are pinned by digest (the Compose file's own image,
// contigo, is built from the Dockerfile).
func TestImagesPinned(t *testing.T) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	args := regexp.MustCompile(`(?m)^ARG (GO_IMAGE|RUNTIME_IMAGE)=(\S+)$`).FindAllStringSubmatch(string(df), -1)
	if len(args) != 2 {
		t.Fatalf("Dockerfile: want ARG GO_IMAGE and ARG RUNTIME_IMAGE, found %d", len(args))
	}
	for _, a := range args {
		if !pinned.MatchString(a[2]) {
			t.Errorf("Dockerfile %s=%s: not pinned by digest", a[1], a[2])
		}
	}
	for _, want := range []string{"USER 65532:65532", "HEALTHCHECK", `"healthcheck"`, "-trimpath", "CGO_ENABLED=0", "main.version=${VERSION}"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	b, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Build any    `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, cc := range []string{"co", "ec", "pe"} {
		for _, s := range []string{"-app-1", "-app-2", "-node", "-mongo-0", "-mongo-1", "-mongo-2", "-mongo-init"} {
			if _, ok := c.Services[cc+s]; !ok {
				t.Errorf("compose: no service %s%s", cc, s)
			}
		}
	}
	for name, s := range c.Services {
		switch {
		case s.Build != nil && strings.HasPrefix(s.Image, "contigo:"):
		case !pinned.MatchString(s.Image):
			t.Errorf("compose service %s: image %q not pinned by digest", name, s.Image)
		}
	}
}
