package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version is the release this binary was built from. Release builds stamp it
// with -ldflags "-X main.version=1.2.3" (deploy/Dockerfile); otherwise it
// falls back to the module version or VCS revision Go recorded, then "dev".
var version = ""

func init() {
	commands["version"] = command{summary: "print the version of this binary", run: runVersion}
}

// Version returns the version of this binary (see version).
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}

// runVersion implements "contigo version": the version on the first line,
// alone, so that scripts can read it, then the toolchain and platform.
func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "Usage: contigo version")
		if args[0] == "-h" || args[0] == "--help" {
			return 0
		}
		return 2
	}
	fmt.Fprintf(stdout, "%s\n%s %s/%s\n", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// buildInfo is the contigo_build_info gauge: always 1, labelled with the
// version, so dashboards and alerts can tell which release each instance runs.
func buildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "contigo_build_info",
		Help:        "Always 1; the labels name the running release.",
		ConstLabels: prometheus.Labels{"version": Version(), "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}
