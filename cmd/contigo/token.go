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
	if len(args) > 0 && args[0] == "newkey" {
		return runTokenNewKey(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("contigo token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "role: health-worker, ministry, nutrition-lead or admin (required)")
	countries := fs.String("country", "", "comma-separated ISO 3166-1 alpha-2 codes the token reaches, e.g. CO,EC (required)")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	subject := fs.String("subject", "", "who holds the token, written to audit entries (default <role>-cli)")
	dataDir := fs.String("data-dir", envOr("CONTIGO_DATA_DIR", "./data"), "data directory holding signing.key (env CONTIGO_DATA_DIR)")
	keyFile := fs.String("signing-key", envOr("CONTIGO_SIGNING_KEY", ""), "signing key file (env CONTIGO_SIGNING_KEY; default <data-dir>/signing.key)")
	keysDir := fs.String("signing-keys-dir", envOr("CONTIGO_SIGNING_KEYS_DIR", ""), "directory of token keys, as serve's (env CONTIGO_SIGNING_KEYS_DIR): the newest *.key signs")
	jti := fs.String("jti", "", "the token id, the handle to revoke it by (default a random id)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: contigo token --role ROLE --country CC[,CC] [--ttl 12h] [--subject NAME] [--jti ID] [--data-dir DIR | --signing-keys-dir DIR]\n       contigo token newkey FILE\n\nPrints a signed bearer token (HS256 JWT, with the key id in its header) for\nthis node. The signing key is created if it does not exist yet, in the same\nfile serve uses. The node refuses tokens that live longer than its\n--max-token-lifetime (default 12h). \"newkey FILE\" writes a new random key\n(mode 0600) for rotation (README, Tokens).\n\nFlags:")
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
	cl.ID = *jti
	keys, err := loadTokenKeys(*keysDir, keyPath(*keyFile, *dataDir))
	if err != nil {
		fmt.Fprintf(stderr, "contigo token: %v\n", err)
		return 1
	}
	tok, err := api.SignToken(keys.Sign, cl)
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

// runTokenNewKey implements "contigo token newkey FILE".
func runTokenNewKey(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "Usage: contigo token newkey FILE\n\nWrites a new random token signing key to FILE (mode 0600; never overwrites)\nand prints its key id. Name it <date>.next in the keys directory first,\nthen rename it to <date>.key (README, Tokens).")
		return 2
	}
	key, err := writeNewKey(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "contigo token newkey: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, api.KeyID(key))
	return 0
}
