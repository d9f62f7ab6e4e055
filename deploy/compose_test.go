package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeLoads loads the Compose file as docker compose would (the
// Compose specification's loader: schema validation, merge keys,
// interpolation, consistency of services, volumes and dependencies), then
// checks what a run needs: the files it mounts and builds from exist,
// ports are published on 127.0.0.1 only, every country has its replicas,
// proxy and replica set, and the nodes wait for the PKI and their set.
func TestComposeLoads(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"compose/compose.yaml"},
		cli.WithEnv([]string{"CONTIGO_VERSION=0.0.0-test"}), cli.WithConsistency(true), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker compose would refuse deploy/compose/compose.yaml: %v", err)
	}
	if p.Name != "contigo-region" {
		t.Errorf("project name %q", p.Name)
	}
	for name, s := range p.Services {
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("service %s builds from a missing Dockerfile: %v", name, err)
			}
			if s.Image != "contigo:0.0.0-test" {
				t.Errorf("service %s: built image %q, want contigo:${CONTIGO_VERSION}", name, s.Image)
			}
			if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
				t.Errorf("service %s: contigo runs with a read-only root and no capabilities", name)
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("service %s mounts a missing %s: %v", name, v.Source, err)
				}
			}
		}
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("service %s publishes %s:%s beyond the laptop", name, port.HostIP, port.Published)
			}
		}
	}
	for _, cc := range []string{"co", "ec", "pe"} {
		for _, app := range []string{cc + "-app-1", cc + "-app-2"} {
			s, ok := p.Services[app]
			if !ok {
				t.Errorf("no service %s", app)
				continue
			}
			if _, ok := s.DependsOn["pki"]; !ok {
				t.Errorf("%s does not wait for the PKI", app)
			}
			if uri := s.Environment["CONTIGO_MONGODB_URI"]; uri == nil || !strings.Contains(*uri, "replicaSet="+cc) {
				t.Errorf("%s: CONTIGO_MONGODB_URI %v does not name replica set %s", app, uri, cc)
			}
		}
		if _, ok := p.Services[cc+"-app-1"].DependsOn[cc+"-mongo-init"]; !ok {
			t.Errorf("%s-app-1 does not wait for its replica set", cc)
		}
		if d, ok := p.Services[cc+"-app-2"].DependsOn[cc+"-app-1"]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s-app-2 must wait for app-1 to be healthy (it creates the signing key)", cc)
		}
		if len(p.Services[cc+"-node"].Ports) != 1 {
			t.Errorf("%s-node: want one published port (the API)", cc)
		}
	}
	if len(p.Services) != 3*7+3 {
		t.Errorf("%d services, want 7 per country and pki, prometheus, grafana", len(p.Services))
	}
}
