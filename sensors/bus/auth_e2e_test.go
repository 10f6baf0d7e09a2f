//go:build linux

package bus

import (
	"bytes"
	"context"
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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// writeCA writes a test CA (ca.pem) and a server certificate for 127.0.0.1
// signed by it (server.pem, server.key) into a new folder.
func writeCA(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	caKey := key()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ds3d bus test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.pem", "CERTIFICATE", caDER)
	k := key()
	c := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, c, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	write("server.pem", "CERTIFICATE", der)
	write("server.key", "PRIVATE KEY", kder)
	return dir
}

// startNATS runs the real nats-server (built from the module by
// testenv.NATSServer) with a config file holding an authorization block
// (user ds3d, password s3cret), a tls block with the CA folder's server
// certificate, and JetStream; it is killed at cleanup.
func startNATS(t *testing.T, caDir string) int {
	t.Helper()
	bin := testenv.NATSServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf(`listen: 127.0.0.1:%d
authorization { user: ds3d, password: s3cret }
tls { cert_file: %q, key_file: %q }
jetstream { store_dir: %q }
`, port, filepath.Join(caDir, "server.pem"), filepath.Join(caDir, "server.key"), filepath.Join(dir, "js"))
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			c.Close()
			return port
		}
		select {
		case <-exited:
			t.Fatalf("nats-server exited at start:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server does not listen on %d after 20 s", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EBusRefused: against a real nats-server that wants user ds3d with
// password s3cret over TLS, bus_subscribe's Start (and Dial, which
// bus_publish shares) fails at once with an error naming the server and
// the refusal: a wrong password says "login refused" and the user; a
// ca_file of another CA says "server certificate rejected" and the file.
// The right password and CA start the subscriber.
func TestE2EBusRefused(t *testing.T) {
	testenv.E2E(t)
	good, other := writeCA(t), writeCA(t)
	port := startNATS(t, good)
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	os.WriteFile(right, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	url := fmt.Sprintf("tls://127.0.0.1:%d", port)
	cfg := func(pw, ca string) *SubscribeConfig {
		c := DefaultSubscribeConfig()
		c.URL, c.User, c.PasswordFile = url, "ds3d", ds3d.Path(pw)
		c.TLS.CAFile = ds3d.Path(filepath.Join(ca, "ca.pem"))
		c.Connect = 3 * time.Second
		c.Stream = "AUTHTEST"
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  *SubscribeConfig
		want []string
	}{
		{"wrong password", cfg(wrong, good), []string{url, `as user "ds3d"`, "login refused", "Authorization Violation"}},
		{"wrong CA", cfg(right, other), []string{url, "server certificate rejected", filepath.Join(other, "ca.pem"), "x509"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSubscriber(tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			err = s.Start(context.Background())
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("Start took %v to fail: the refusal should not wait for connect_timeout", d)
			}
			t.Log(err)
		})
	}
	s, err := NewSubscriber(cfg(right, good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("the right password and CA: %v", err)
	}
	s.Close()
}
