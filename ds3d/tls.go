package ds3d

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSConfig is the [tls] table of a component that connects to a server
// (the broker sinks and sources, the bus): one spec, so every network
// component reads the same keys and gives the same errors. Mutual TLS when
// a client certificate is given; TLS 1.2 at least.
type TLSConfig struct {
	Enabled            bool `toml:"enabled" doc:"connect over TLS (also implied by a TLS URL scheme or any TLS file)"`
	CAFile             Path `toml:"ca_file" path:"exists" doc:"PEM file of the CA certificates that verify the server; empty uses the system's roots"`
	CertFile           Path `toml:"cert_file" path:"exists" doc:"PEM client certificate for mutual TLS (with key_file)"`
	KeyFile            Path `toml:"key_file" path:"exists" doc:"PEM private key of cert_file"`
	InsecureSkipVerify bool `toml:"insecure_skip_verify" doc:"accept any server certificate (tests only: it defeats TLS's protection)"`
}

// On reports whether any key asks for TLS.
func (t *TLSConfig) On() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.InsecureSkipVerify
}

// Validate checks that a client certificate comes with its key; prefix is
// the table's place in the config ("mqtt.") for the error's key.
func (t *TLSConfig) Validate(prefix string) error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return ConfigErrorf(prefix+"tls.cert_file", "cert_file and key_file go together (mutual TLS needs both)")
	}
	return nil
}

// Config builds the crypto/tls configuration; serverName is the host the
// server's certificate must name (empty: the client library fills it in
// from the address it dials).
func (t *TLSConfig) Config(serverName string) (*tls.Config, error) {
	c := &tls.Config{ServerName: serverName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(string(t.CAFile))
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(string(t.CertFile), string(t.KeyFile))
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file %s, tls.key_file %s: %w", t.CertFile, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
