package federation

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"contigo/records"
)

// countryURIPrefix starts the URI SANs that name the countries a node's
// certificate speaks for: "urn:contigo:country:CO".
const countryURIPrefix = "urn:contigo:country:"

// ServerTLSConfig returns the TLS configuration of a node's federation
// listener: it presents certFile/keyFile and requires every client to
// present a certificate signed by the federation CA in caFile. It fails if
// a file cannot be read or holds no usable certificate or key.
func ServerTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	ca, cert, key, err := readPEMFiles(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server tls: %w", err)
	}
	return ServerTLSConfigPEM(ca, cert, key)
}

// ServerTLSConfigPEM is ServerTLSConfig with the PEM contents instead of
// file names.
func ServerTLSConfigPEM(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	pool, pair, err := parsePEM(caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("server tls: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}, nil
}

// ClientTLSConfig returns the TLS configuration for calling a peer: it
// presents certFile/keyFile and accepts only a server certificate signed
// by the federation CA in caFile, for the host dialled. It fails if a file
// cannot be read or holds no usable certificate or key.
func ClientTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	ca, cert, key, err := readPEMFiles(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("client tls: %w", err)
	}
	return ClientTLSConfigPEM(ca, cert, key)
}

// ClientTLSConfigPEM is ClientTLSConfig with the PEM contents instead of
// file names.
func ClientTLSConfigPEM(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	pool, pair, err := parsePEM(caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("client tls: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
	}, nil
}

// CertCountries returns the countries a node certificate speaks for: its
// URI SANs "urn:contigo:country:XX". A certificate without any speaks for
// no country, so a peer presenting it may read nothing.
func CertCountries(cert *x509.Certificate) []records.Country {
	if cert == nil {
		return nil
	}
	var out []records.Country
	for _, u := range cert.URIs {
		if s, ok := strings.CutPrefix(u.String(), countryURIPrefix); ok {
			if cc, err := records.ParseCountry(s); err == nil {
				out = append(out, cc)
			}
		}
	}
	return out
}

// PeerCountries returns the countries of the verified client certificate
// of a TLS connection; nil if the client presented none (which a server
// built by ServerTLSConfig never accepts).
func PeerCountries(state *tls.ConnectionState) []records.Country {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return nil
	}
	return CertCountries(state.VerifiedChains[0][0])
}

func countryURI(cc records.Country) *url.URL {
	u, _ := url.Parse(countryURIPrefix + string(cc)) // cannot fail: a fixed prefix and two letters
	return u
}

func readPEMFiles(caFile, certFile, keyFile string) (ca, cert, key []byte, err error) {
	read := func(what, name string) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		if b, err = os.ReadFile(name); err != nil {
			err = fmt.Errorf("read %s: %w", what, err)
		}
		return b
	}
	ca, cert, key = read("ca", caFile), read("certificate", certFile), read("key", keyFile)
	return ca, cert, key, err
}

func parsePEM(caPEM, certPEM, keyPEM []byte) (*x509.CertPool, tls.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, fmt.Errorf("ca: no PEM certificate found")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("certificate and key: %w", err)
	}
	return pool, pair, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// LoadSigner reads a PEM private key (PKCS#8, SEC 1 EC or PKCS#1 RSA) to
// sign Caller assertions with: the same key as the node's certificate.
// It fails if the file cannot be read or holds no supported key.
func LoadSigner(keyFile string) (crypto.Signer, error) {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("load signer: %w", err)
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("load signer %s: no private key found", keyFile)
		}
		var key any
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load signer %s: %w", keyFile, err)
		}
		if s, ok := key.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("load signer %s: key cannot sign", keyFile)
	}
}
