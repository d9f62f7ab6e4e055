package deploy

import (
	"bytes"
	"debug/elf"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"contigo/internal/servetest"
)

// stampedVersion is the version the tests stamp into the binary, as the
// Dockerfile's VERSION build argument would.
const stampedVersion = "0.0.0-deploytest"

// dockerBuild is the build stage of the Dockerfile: its environment and
// the arguments of its "go build".
type dockerBuild struct {
	env  []string // from the ENV line of the build stage, e.g. CGO_ENABLED=0
	args []string // go build arguments before -o, ${VERSION} substituted
	pkg  string   // the package built
}

// parseDockerBuild reads the build stage's ENV and "RUN go build" lines.
func parseDockerBuild(t *testing.T) dockerBuild {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerBuild
	env := regexp.MustCompile(`(?m)^ENV ((?:\w+=\S+ ?)+)$`).FindStringSubmatch(string(b))
	if env == nil {
		t.Fatal("Dockerfile: no ENV line in the build stage")
	}
	d.env = strings.Fields(env[1])
	run := regexp.MustCompile(`(?m)^RUN go build (.*) -o /out/contigo (\S+)`).FindStringSubmatch(string(b))
	if run == nil {
		t.Fatal(`Dockerfile: no "RUN go build ... -o /out/contigo PKG" line`)
	}
	d.args = splitArgs(strings.ReplaceAll(run[1], "${VERSION}", stampedVersion))
	d.pkg = run[2]
	return d
}

// splitArgs splits a shell word list with double quotes (all the
// Dockerfile's build line uses).
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, inWord = !inQuote, true
		case r == ' ' && !inQuote:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// built is the binary buildLikeDocker made, shared by the tests of one run.
var built struct {
	sync.Mutex
	bin string
}

// TestMain removes the shared binary after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}

// buildLikeDocker builds cmd/contigo exactly as the Dockerfile's build
// stage does (once per test run), in a copy of the build context the
// Dockerfile.dockerignore leaves, and returns the binary's path.
func buildLikeDocker(t *testing.T) string {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if built.bin != "" {
		return built.bin
	}
	dir, err := os.MkdirTemp("", "contigo-deploytest-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "contigo")
	if err := buildInContext(t, filepath.Join(dir, "src"), bin); err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	built.bin = bin
	return bin
}

// buildInContext copies the build context to ctx and runs the Dockerfile's
// "go build" there (ENV of the build stage, same arguments), writing bin.
func buildInContext(t *testing.T, ctx, bin string) error {
	t.Helper()
	d := parseDockerBuild(t)
	for _, want := range []string{"CGO_ENABLED=0"} {
		if !strings.Contains(strings.Join(d.env, " "), want) {
			t.Errorf("Dockerfile build stage lacks %s", want)
		}
	}
	for _, want := range []string{"-trimpath", "-ldflags"} {
		if !strings.Contains(strings.Join(d.args, " "), want) {
			t.Errorf("Dockerfile go build lacks %s", want)
		}
	}
	copyBuildContext(t, ctx)
	args := append(append([]string{"build"}, d.args...), "-o", bin, d.pkg)
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = ctx
	cmd.Env = append(os.Environ(), d.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s in the build context: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// TestDockerBuildStage builds the binary as the image does and checks it
// is static, carries no local paths and reports the stamped version.
func TestDockerBuildStage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLikeDocker(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a program interpreter: dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")
	if bytes.Contains(raw, []byte(root)) {
		t.Errorf("binary contains the build directory %s: -trimpath not in effect", root)
	}
	// Reproducible: the same source built in another directory gives the
	// same bytes (-trimpath, -buildid=, no VCS stamp: .git is not in the
	// context).
	again := filepath.Join(t.TempDir(), "contigo")
	if err := buildInContext(t, filepath.Join(t.TempDir(), "elsewhere", "src"), again); err != nil {
		t.Fatal(err)
	}
	if raw2, err := os.ReadFile(again); err != nil || !bytes.Equal(raw, raw2) {
		t.Errorf("two builds of the same source differ (%d and %d bytes, %v): not reproducible", len(raw), len(raw2), err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("contigo version: %v", err)
	}
	if first, _, _ := strings.Cut(string(out), "\n"); first != stampedVersion {
		t.Errorf("contigo version printed %q, want %q", first, stampedVersion)
	}
	if out, err := exec.Command(bin, "healthcheck", "--help").CombinedOutput(); err != nil {
		t.Errorf("contigo healthcheck (the image's HEALTHCHECK) is missing: %v\n%s", err, out)
	}
}

// freePorts returns a base port p with p, p+1 and p+2 free on 127.0.0.1
// (contigo federation init gives node i the peer port base+i).
func freePorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := base+2 < 65536
		for i := 1; i < 3 && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if ok = err == nil; ok {
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no three consecutive free ports")
	return 0
}

// startNode starts "contigo serve" for CO with peers EC and PE (which do not
// run, so calls to them fail) and returns its address, once it listens,
// and its data dir.
func startNode(t *testing.T, bin string) (addr, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	base := freePorts(t)
	pki := filepath.Join(dir, "pki")
	if out, err := exec.Command(bin, "federation", "init", pki, "--countries", "CO,EC,PE", "--port", fmt.Sprint(base)).CombinedOutput(); err != nil {
		t.Fatalf("federation init: %v\n%s", err, out)
	}
	addr = servetest.Start(t, bin, []string{"serve", "--countries", "CO", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--peers", filepath.Join(pki, "co-peers.json"), "--peer-addr", fmt.Sprintf("127.0.0.1:%d", base),
		"--followup-interval", "1s", "--federated-timeout", "2s"}, []string{"CONTIGO_MONGODB_URI="})
	return addr, filepath.Join(dir, "data")
}
