// Package servetest runs the contigo binary as a real process for tests of
// other packages (fhirclient, deploy): build it once per test, start
// "contigo serve" on a free loopback port, and stop it at cleanup.
package servetest

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build builds the contigo binary into a temporary directory of t and
// returns its path.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "contigo")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "contigo/cmd/contigo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Start runs bin with args (which must include "serve", "--log-format json"
// and an --addr such as 127.0.0.1:0) and env added to the test's, waits at
// most two minutes until it logs that it listens, and returns that
// address. It fails the test if the process exits first; the process is
// killed when the test ends.
func Start(t testing.TB, bin string, args, env []string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		logs    strings.Builder
		waitErr error
	)
	logged := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	addrc, done := make(chan string, 1), make(chan struct{}) // done: closed when the process has exited
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.Write(sc.Bytes())
			logs.WriteByte('\n')
			mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				select {
				case addrc <- line.Addr:
				default:
				}
			}
		}
		err := cmd.Wait()
		mu.Lock()
		waitErr = err
		mu.Unlock()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	select {
	case addr := <-addrc:
		return addr
	case <-done:
		mu.Lock()
		err := waitErr
		mu.Unlock()
		t.Fatalf("serve exited before listening: %v\n%s", err, logged())
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not listen within 2 minutes\n%s", logged())
	}
	return ""
}
