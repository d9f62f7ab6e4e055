package main

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A POST whose body trickles in (one byte every 50 ms of a 1,000-byte body,
// which would take 50 s) is cut off at the read deadline: the server
// answers or closes the connection while the client is still sending. A
// client that stops after its headers is cut off too.
func TestSlowBodyCutOff(t *testing.T) {
	o := limitOptions{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "body too slow", http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	hs := newHTTPServer(h, o, slog.New(slog.NewTextHandler(io.Discard, nil)), slog.LevelWarn)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- line
	}()
	sent := 0
	for sent < 1000 {
		select {
		case line := <-answered:
			if strings.Contains(line, "204") {
				t.Fatalf("the slow body was accepted: %q", line)
			}
			t.Logf("cut off after %d of 1000 bytes: %q", sent, strings.TrimSpace(line))
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := conn.Write([]byte("x")); err != nil {
			t.Logf("connection closed after %d of 1000 bytes: %v", sent, err)
			return
		}
		sent++
	}
	t.Fatalf("the whole slow body (%d bytes) was read: no body deadline", sent)
}

// The deadline and rate limit flags parse, with their defaults.
func TestParseServeLimits(t *testing.T) {
	env := func(string) string { return "" }
	cfg, err := parseServe(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.ReadTimeout != defaultReadTimeout || cfg.Limits.ReadHeaderTimeout != defaultReadHeaderTimeout || cfg.Limits.Rates.PerToken != 0 || cfg.Limits.Rates.AuthFailures != 20 {
		t.Errorf("defaults %+v", cfg.Limits)
	}
	cfg, err = parseServe([]string{"--rate-limit", "5", "--rate-burst", "10", "--trusted-proxies", "10.0.0.0/8", "--read-timeout", "2m"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.Rates.PerToken != 5 || cfg.Limits.Rates.Burst != 10 || len(cfg.Limits.TrustedProxies) != 1 || cfg.Limits.ReadTimeout != 2*time.Minute {
		t.Errorf("got %+v", cfg.Limits)
	}
	_, err = parseServe([]string{"--rate-limit", "-1", "--trusted-proxies", "nonsense", "--auth-failures", "0"}, env, io.Discard)
	for _, want := range []string{"--rate-limit", "--trusted-proxies", "--auth-failures"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}
