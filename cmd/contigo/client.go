package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"contigo/records"
)

func init() {
	commands["client"] = command{summary: "a backend-service client's key and signed assertion (SMART Backend Services)", run: runClient}
}

const clientUsage = `Usage: contigo client key --out FILE [--kid ID]
       contigo client assertion --client-id ID --key FILE --aud TOKEN_URL [--kid ID] [--ttl 4m]

For a ministry's system that obtains tokens with SMART Backend Services
(README, Tokens):

  key        writes a new EC P-384 private key (PEM, mode 0600) to FILE and
             prints the public JSON Web Key Set to register at /auth/clients
  assertion  prints a client assertion (ES384 JWT, iss = sub = client id,
             aud = the token endpoint, a new jti, exp at most 5 minutes)
             signed with the key, for POST /auth/token`

// runClient implements "contigo client".
func runClient(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, clientUsage)
		return 2
	}
	switch args[0] {
	case "key":
		return runClientKey(args[1:], stdout, stderr)
	case "assertion":
		return runClientAssertion(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, clientUsage)
		return 0
	}
	fmt.Fprintf(stderr, "contigo client: unknown subcommand %q\n%s\n", args[0], clientUsage)
	return 2
}

func runClientKey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contigo client key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "file for the private key (required; never overwritten)")
	kid := fs.String("kid", "", "key id (default: a new random id)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "contigo client key: --out is required")
		return 2
	}
	if *kid == "" {
		*kid = records.NewID()
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		fmt.Fprintf(stderr, "contigo client key: %v\n", err)
		return 1
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		fmt.Fprintf(stderr, "contigo client key: %v\n", err)
		return 1
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "contigo client key: %v\n", err)
		return 1
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"kid": *kid}, Bytes: der})
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(*out)
		fmt.Fprintf(stderr, "contigo client key: %v\n", err)
		return 1
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: *kid, Algorithm: "ES384", Use: "sig"}}})
	if err != nil {
		fmt.Fprintf(stderr, "contigo client key: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(b))
	return 0
}

// loadClientKey reads a PEM private key (PKCS#8, EC or RSA) and its kid header.
func loadClientKey(path string) (crypto.Signer, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("client key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, "", fmt.Errorf("client key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		if ek, eerr := x509.ParseECPrivateKey(blk.Bytes); eerr == nil {
			return ek, blk.Headers["kid"], nil
		}
		if rk, rerr := x509.ParsePKCS1PrivateKey(blk.Bytes); rerr == nil {
			return rk, blk.Headers["kid"], nil
		}
		return nil, "", fmt.Errorf("client key %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, "", fmt.Errorf("client key %s: not a signing key", path)
	}
	return s, blk.Headers["kid"], nil
}

func runClientAssertion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("contigo client assertion", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("client-id", "", "the registered client id (required)")
	keyFile := fs.String("key", "", "the client's private key, PEM (required)")
	aud := fs.String("aud", "", "the token endpoint URL, exactly as the node names it in /.well-known/smart-configuration (required)")
	kid := fs.String("kid", "", "key id (default: the kid header of the PEM written by \"contigo client key\")")
	ttl := fs.Duration("ttl", 4*time.Minute, "how long the assertion is valid (at most 5m)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *id == "" || *keyFile == "" || *aud == "" || *ttl <= 0 || *ttl > 5*time.Minute {
		fmt.Fprintln(stderr, "contigo client assertion: --client-id, --key and --aud are required; --ttl in (0, 5m]")
		return 2
	}
	key, pemKid, err := loadClientKey(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "contigo client assertion: %v\n", err)
		return 1
	}
	var method jwt.SigningMethod
	switch key.(type) {
	case *ecdsa.PrivateKey:
		method = jwt.SigningMethodES384
	case *rsa.PrivateKey:
		method = jwt.SigningMethodRS384
	default:
		fmt.Fprintln(stderr, "contigo client assertion: want an EC P-384 or RSA key")
		return 1
	}
	now := time.Now()
	t := jwt.NewWithClaims(method, jwt.RegisteredClaims{Issuer: *id, Subject: *id, Audience: jwt.ClaimStrings{*aud},
		ID: records.NewID(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(*ttl))})
	if k := cmpOrStr(*kid, pemKid); k != "" {
		t.Header["kid"] = k
	}
	s, err := t.SignedString(key)
	if err != nil {
		fmt.Fprintf(stderr, "contigo client assertion: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, s)
	return 0
}

func cmpOrStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
