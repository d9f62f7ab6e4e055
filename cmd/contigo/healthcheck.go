package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

func init() {
	commands["healthcheck"] = command{summary: "probe a running node's /readyz (for container HEALTHCHECK)", run: runHealthcheck}
}

// runHealthcheck implements "contigo healthcheck": GET the URL, exit 0 on a
// 2xx answer and 1 otherwise. The container image has no shell or curl, so
// its HEALTHCHECK runs this.
func runHealthcheck(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contigo healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "http://127.0.0.1:8080/readyz", "URL to probe (http or https)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: contigo healthcheck [--url URL] [--timeout 3s]\n\nExits 0 if URL answers 2xx within the timeout, 1 otherwise.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || fs.NArg() > 0 || *timeout <= 0 {
		fmt.Fprintf(stderr, "contigo healthcheck: want --url http(s)://host:port/path and a positive --timeout\n")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		fmt.Fprintf(stderr, "contigo healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "contigo healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "contigo healthcheck: %s answered %s\n", u.Redacted(), resp.Status)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %s\n", resp.Status)
	return 0
}
