package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"contigo/api"
	"contigo/records"
)

func init() {
	commands["token"] = command{summary: "print a signed bearer token for this node", run: runToken}
}

// runToken implements "contigo token": it prints a bearer token signed with
// the node's key (created if absent, as serve would).
func runToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contigo token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "role: health-worker, ministry, nutrition-lead or admin (required)")
	countries := fs.String("country", "", "comma-separated ISO 3166-1 alpha-2 codes the token reaches, e.g. CO,EC (required)")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	subject := fs.String("subject", "", "who holds the token, written to audit entries (default <role>-cli)")
	dataDir := fs.String("data-dir", envOr("CONTIGO_DATA_DIR", "./data"), "data directory holding signing.key (env CONTIGO_DATA_DIR)")
	keyFile := fs.String("signing-key", envOr("CONTIGO_SIGNING_KEY", ""), "signing key file (env CONTIGO_SIGNING_KEY; default <data-dir>/signing.key)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: contigo token --role ROLE --country CC[,CC] [--ttl 12h] [--subject NAME] [--data-dir DIR]\n\nPrints a signed bearer token (HS256 JWT) for this node. The signing key is\ncreated if it does not exist yet, in the same file serve uses.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cl, err := tokenClaims(*role, *countries, *subject, *ttl, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "contigo token: %v\n", err)
		return 2
	}
	key, _, err := loadOrCreateKey(keyPath(*keyFile, *dataDir))
	if err != nil {
		fmt.Fprintf(stderr, "contigo token: %v\n", err)
		return 1
	}
	tok, err := api.SignToken(key, cl)
	if err != nil {
		fmt.Fprintf(stderr, "contigo token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// tokenClaims validates the flags of "contigo token" into claims.
func tokenClaims(role, countries, subject string, ttl time.Duration, now time.Time) (api.Claims, error) {
	var errs []error
	r, err := api.ParseRole(role)
	if err != nil {
		errs = append(errs, err)
	}
	var ccs []string
	for s := range strings.SplitSeq(countries, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		cc, err := records.ParseCountry(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--country %q: %w", s, err))
			continue
		}
		ccs = append(ccs, string(cc))
	}
	if len(ccs) == 0 {
		errs = append(errs, errors.New("--country: name at least one country"))
	}
	if ttl <= 0 {
		errs = append(errs, errors.New("--ttl must be positive"))
	}
	if subject == "" {
		subject = role + "-cli"
	}
	if err := errors.Join(errs...); err != nil {
		return api.Claims{}, err
	}
	return api.Claims{
		Subject:   subject,
		Role:      r,
		Countries: ccs,
		IssuedAt:  now.Unix(),
		ExpiresAt: now.Add(ttl).Unix(),
	}, nil
}
