package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// ignoreRule is one line of a .dockerignore file: a slash-separated
// pattern whose "**" segments match any number of path segments.
type ignoreRule struct {
	segs []string
}

// readDockerignore reads the build context's ignore file. Negations ("!")
// are not supported (the file has none): the test fails on one rather than
// guessing.
func readDockerignore(t *testing.T, file string) []ignoreRule {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rules []ignoreRule
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '!' {
			t.Fatalf("%s: negation %q is not supported by the test's context copy", file, line)
		}
		p := path.Clean(strings.TrimPrefix(line, "/"))
		rules = append(rules, ignoreRule{segs: strings.Split(p, "/")})
	}
	return rules
}

// matchSegs matches path segments against pattern segments.
func matchSegs(pat, segs []string) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if matchSegs(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	if ok, _ := path.Match(pat[0], segs[0]); !ok {
		return false
	}
	return matchSegs(pat[1:], segs[1:])
}

// ignored reports whether rel (slash-separated, relative to the context)
// is left out of the build context: a rule matches it or a parent of it.
func ignored(rules []ignoreRule, rel string) bool {
	segs := strings.Split(rel, "/")
	for _, r := range rules {
		for n := 1; n <= len(segs); n++ {
			if matchSegs(r.segs, segs[:n]) {
				return true
			}
		}
	}
	return false
}

func TestIgnored(t *testing.T) {
	rules := []ignoreRule{{segs: []string{".git"}}, {segs: []string{"**", "data"}}, {segs: []string{"**", "*.key"}}, {segs: []string{"docs"}}}
	for rel, want := range map[string]bool{
		".git/HEAD": true, "a/.git": false, "data/x": true, "cmd/contigo/data/x.sqlite": true,
		"x.key": true, "a/b/x.key": true, "docs/operations.md": true, "web/docs/a": false,
		"web/app/index.html": false, "cmd/contigo/main.go": false,
	} {
		if got := ignored(rules, rel); got != want {
			t.Errorf("ignored(%q) = %v, want %v", rel, got, want)
		}
	}
}

// copyBuildContext copies the repository into dst as docker build would
// send it: without what deploy/Dockerfile.dockerignore leaves out. A build
// in dst then fails as the image build would if the ignore file drops
// something the binary needs (an embedded file, a package).
func copyBuildContext(t *testing.T, dst string) {
	t.Helper()
	rules := readDockerignore(t, "Dockerfile.dockerignore")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if ignored(rules, filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		default:
			return nil // docker sends symlinks as symlinks; the repository has none
		}
	})
	if err != nil {
		t.Fatalf("copy the build context: %v", err)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
