package deploy

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	k8syaml "sigs.k8s.io/yaml"
)

// k8sTypes are the Kubernetes API types of the kinds the overlays render
// (all but the Prometheus Operator's ServiceMonitor, a custom resource).
var k8sTypes = map[string]func() any{
	"apps/v1 Deployment":                      func() any { return &appsv1.Deployment{} },
	"apps/v1 StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"v1 Service":                              func() any { return &corev1.Service{} },
	"v1 ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1 ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"policy/v1 PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2 HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1 NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1 Ingress":            func() any { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1 ServiceMonitor": nil, // a CRD: checked by TestKustomizeOverlays only
}

// TestKustomizeSchema decodes every rendered object strictly into its
// Kubernetes API type (k8s.io/api v0.37): a misspelt or misplaced field,
// which the API server's strict field validation would refuse at apply
// time, fails here; so does a kind or apiVersion the test does not know.
func TestKustomizeSchema(t *testing.T) {
	kubectl := needTool(t, "kubectl")
	dirs, _ := filepath.Glob("k8s/overlays/*")
	for _, dir := range dirs {
		out, err := exec.Command(kubectl, "kustomize", dir).Output()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderrOf(err))
		}
		for _, doc := range strings.Split("\n"+string(out), "\n---\n") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := k8syaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			key := head.APIVersion + " " + head.Kind
			mk, known := k8sTypes[key]
			if !known {
				t.Errorf("%s: %s/%s: %s is not a kind this test knows", dir, head.Kind, head.Metadata.Name, key)
				continue
			}
			if mk == nil {
				continue
			}
			if err := k8syaml.UnmarshalStrict([]byte(doc), mk()); err != nil {
				t.Errorf("%s: %s/%s does not match the Kubernetes API: %v", dir, head.Kind, head.Metadata.Name, err)
			}
		}
	}
}
