package main

import (
	"fmt"
	"net/url"
	"strings"
)

func init() {
	serveEnv["canonical-base"] = "CONTIGO_CANONICAL_BASE"
}

// parseCanonicalBase checks --canonical-base: an absolute http(s) URL
// without query or fragment; the trailing slash is dropped.
func parseCanonicalBase(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--canonical-base %q: want an absolute http(s) URL such as https://minsalud.example.gov.co", s)
	}
	return strings.TrimRight(s, "/"), nil
}
