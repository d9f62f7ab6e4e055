package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
)

func init() {
	serveEnv["cors-origins"] = "CONTIGO_CORS_ORIGINS"
}

// corsFlag registers --cors-origins on fs and returns a function that
// reads and checks it after parsing: the origins allowed to call the API
// from a browser, each scheme://host[:port] or "*"; none sends no CORS
// header.
func corsFlag(fs *flag.FlagSet) func() ([]string, error) {
	v := fs.String("cors-origins", "", `comma-separated origins of browser apps allowed to call the API (e.g. https://app.example.org), or "*"; empty sends no CORS headers`)
	return func() ([]string, error) { return parseOrigins(*v) }
}

// parseOrigins splits a comma-separated list of origins and checks each.
func parseOrigins(s string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(s, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
				return nil, fmt.Errorf("--cors-origins %q: want scheme://host[:port] or *", o)
			}
			o = u.Scheme + "://" + u.Host
		}
		out = append(out, o)
	}
	return out, nil
}
