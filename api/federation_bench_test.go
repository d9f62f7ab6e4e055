package api

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"contigo/records"
	"contigo/records/federation"
)

// benchCall sends a user request to n without validating the answer
// (the tests do), failing b on another status.
func benchCall(b *testing.B, n *fedNodeT, method, path, body string, want int) {
	req, err := http.NewRequest(method, n.user.URL+path, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+n.hw)
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	res, err := userClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		b.Fatalf("%s %s: %d: %s", method, path, res.StatusCode, got)
	}
}

// BenchmarkFederatedLookup measures finding a child registered in CO by
// identifier: on CO's node alone (single-node), and from EC with
// _federated=true across 3 and 8 nodes (each its own database, mutual TLS
// on loopback, audit entries on both sides), and across 3 with one peer
// dead: with the circuit breaker (open after 5 failures) and without.
// Also a federated $match across 3.
func BenchmarkFederatedLookup(b *testing.B) {
	const ident = "urn:ve:cedula|V-777"
	lookup := "/fhir/Patient?identifier=" + ident
	eight := []records.Country{"AR", "BO", "BR", "CL", "CO", "EC", "PE", "VE"}
	setup := func(b *testing.B, opts fedOptions, ccs ...records.Country) map[records.Country]*fedNodeT {
		nodes := startFederation(b, opts, ccs...)
		co := nodes["CO"]
		pid := must(b, co.do("POST", "/fhir/Patient", co.hw, childJSON("María José", "García Pérez", "2024-03-05", "V-777")), 201).JSON(b)["id"].(string)
		must(b, co.do("POST", "/fhir/Consent", co.hw, consentJSON(pid, "active", "permit")), 201)
		return nodes
	}
	run := func(b *testing.B, n *fedNodeT, method, path, body string) {
		benchCall(b, n, method, path, body, http.StatusOK) // warm the connections
		b.ReportAllocs()
		for b.Loop() {
			benchCall(b, n, method, path, body, http.StatusOK)
		}
	}
	b.Run("single-node", func(b *testing.B) {
		nodes := setup(b, fedOptions{}, "CO")
		run(b, nodes["CO"], "GET", lookup, "")
	})
	b.Run("federated-3", func(b *testing.B) {
		nodes := setup(b, fedOptions{}, "CO", "EC", "PE")
		run(b, nodes["EC"], "GET", lookup+"&_federated=true", "")
	})
	b.Run("federated-8", func(b *testing.B) {
		nodes := setup(b, fedOptions{}, eight...)
		run(b, nodes["EC"], "GET", lookup+"&_federated=true", "")
	})
	b.Run("federated-3-dead-peer-breaker", func(b *testing.B) {
		nodes := setup(b, fedOptions{}, "CO", "EC", "PE")
		nodes["PE"].peer.Close()
		run(b, nodes["EC"], "GET", lookup+"&_federated=true", "")
	})
	b.Run("federated-3-dead-peer-no-breaker", func(b *testing.B) {
		nodes := setup(b, fedOptions{breakers: federation.NewBreakers(1<<30, 0, nil)}, "CO", "EC", "PE")
		nodes["PE"].peer.Close()
		run(b, nodes["EC"], "GET", lookup+"&_federated=true", "")
	})
	b.Run("match-federated-3", func(b *testing.B) {
		nodes := setup(b, fedOptions{}, "CO", "EC", "PE")
		run(b, nodes["EC"], "POST", "/fhir/Patient/$match?_federated=true", matchParams(childJSON("Maria", "Garcia Perez", "2024-03-05", ""), false))
	})
}
