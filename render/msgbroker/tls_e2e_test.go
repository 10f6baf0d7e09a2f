//go:build linux

package msgbroker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// writeCA writes a self-signed CA, a server certificate it signs for
// 127.0.0.1 and a client certificate it signs into dir: ca.pem,
// server.pem, server.key, client.pem, client.key.
func writeCA(t *testing.T, dir string) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey, cliKey := key(), key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ds3d test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	cli := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "ds3d test client"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	cliDER, err := x509.CreateCertificate(rand.Reader, cli, ca, &cliKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cliKeyDER, err := x509.MarshalPKCS8PrivateKey(cliKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", srvDER)
	write("server.key", "PRIVATE KEY", keyDER)
	write("client.pem", "CERTIFICATE", cliDER)
	write("client.key", "PRIVATE KEY", cliKeyDER)
}

// TestE2ETLS: mosquitto and redis-server behind TLS with a test CA. The
// sink that trusts the CA sends; one that trusts another CA does not
// start, with an error naming the broker and the certificate problem.
func TestE2ETLS(t *testing.T) {
	testenv.E2E(t)
	good, other := t.TempDir(), t.TempDir()
	writeCA(t, good)
	writeCA(t, other)
	cases := []struct {
		proto string
		start func() (keys func(ca string) string)
	}{
		{"mqtt", func() func(string) string {
			srv := mosquitto(t, "cafile "+good+"/ca.pem", "certfile "+good+"/server.pem", "keyfile "+good+"/server.key")
			return func(ca string) string {
				return fmt.Sprintf("protocol = \"mqtt\"\n[component.config.mqtt]\nbroker = \"ssl://127.0.0.1:%d\"\n[component.config.mqtt.tls]\nca_file = %q", srv.port, ca)
			}
		}},
		{"redis", func() func(string) string {
			bin := testenv.Tool(t, "redis-server", "apt-get install redis-server")
			port := freePort(t)
			// The TLS port alone; startServer's readiness check is a TCP connect.
			startServer(t, port, bin, "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
				"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--tls-cert-file", good+"/server.pem",
				"--tls-key-file", good+"/server.key", "--tls-ca-cert-file", good+"/ca.pem", "--tls-auth-clients", "no")
			return func(ca string) string {
				return fmt.Sprintf("protocol = \"redis\"\n[component.config.redis]\naddr = \"127.0.0.1:%d\"\n[component.config.redis.tls]\nca_file = %q", port, ca)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.proto, func(t *testing.T) {
			keys := c.start()
			r := startTestSource(t, 3, 20, keys(good+"/ca.pem"))
			if err := r.wait(t); err != nil {
				t.Fatalf("the right CA: %v\n%s", err, r.log())
			}
			if st := r.sink.Stats(); st.Sent != 3 {
				t.Errorf("the right CA: %+v", st)
			}
			r = startTestSource(t, 3, 20, keys(other+"/ca.pem"))
			err := r.wait(t)
			if err == nil || !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("another CA: want an error naming the broker and the certificate, got %v\n%s", err, r.log())
			}
			t.Logf("another CA: %v", err)
		})
	}
}

// TestE2EMutualTLS: mosquitto with require_certificate and redis-server
// with tls-auth-clients yes, both trusting one test CA. A client
// certificate of that CA sends; none, or one of another CA, stops the
// pipeline at start with an error naming the broker and the refusal.
func TestE2EMutualTLS(t *testing.T) {
	testenv.E2E(t)
	good, other := t.TempDir(), t.TempDir()
	writeCA(t, good)
	writeCA(t, other)
	cases := []struct {
		proto string
		start func() (keys func(client string) string)
	}{
		{"mqtt", func() func(string) string {
			srv := mosquitto(t, "cafile "+good+"/ca.pem", "certfile "+good+"/server.pem", "keyfile "+good+"/server.key",
				"require_certificate true")
			return func(client string) string {
				return fmt.Sprintf("protocol = \"mqtt\"\nconnect_timeout = \"2s\"\n[component.config.mqtt]\nbroker = \"ssl://127.0.0.1:%d\"\n[component.config.mqtt.tls]\nca_file = %q\n%s",
					srv.port, good+"/ca.pem", client)
			}
		}},
		{"redis", func() func(string) string {
			bin := testenv.Tool(t, "redis-server", "apt-get install redis-server")
			port := freePort(t)
			startServer(t, port, bin, "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
				"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--tls-cert-file", good+"/server.pem",
				"--tls-key-file", good+"/server.key", "--tls-ca-cert-file", good+"/ca.pem", "--tls-auth-clients", "yes")
			return func(client string) string {
				return fmt.Sprintf("protocol = \"redis\"\nconnect_timeout = \"2s\"\n[component.config.redis]\naddr = \"127.0.0.1:%d\"\n[component.config.redis.tls]\nca_file = %q\n%s",
					port, good+"/ca.pem", client)
			}
		}},
	}
	clientKeys := func(dir string) string {
		return fmt.Sprintf("cert_file = %q\nkey_file = %q", dir+"/client.pem", dir+"/client.key")
	}
	for _, c := range cases {
		t.Run(c.proto, func(t *testing.T) {
			keys := c.start()
			r := startTestSource(t, 3, 20, keys(clientKeys(good)))
			if err := r.wait(t); err != nil {
				t.Fatalf("the CA's client certificate: %v\n%s", err, r.log())
			}
			if st := r.sink.Stats(); st.Sent != 3 {
				t.Errorf("the CA's client certificate: %+v", st)
			}
			for name, client := range map[string]string{"no client certificate": "", "another CA's client certificate": clientKeys(other)} {
				t0 := time.Now()
				r := startTestSource(t, 20, 20, keys(client))
				err := r.wait(t)
				if err == nil || !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "client certificate") {
					t.Errorf("%s: want an error naming the broker and the client certificate, got %v\n%s", name, err, r.log())
				}
				if err != nil && r.sink.Stats().Sent != 0 {
					t.Errorf("%s: sent %d", name, r.sink.Stats().Sent)
				}
				t.Logf("%s (%v): %v", name, time.Since(t0).Round(time.Millisecond), err)
			}
		})
	}
}
