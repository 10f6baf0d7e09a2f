package bus

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestDialUnreachable: a server that is not there is an error naming it,
// within connect_timeout, so the pipeline does not start.
func TestDialUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c := DefaultConnConfig()
	c.URL = "nats://127.0.0.1:" + strconv.Itoa(port)
	c.Connect = time.Second
	start := time.Now()
	conn, err := Dial(&c, "test", nil)
	if err == nil {
		conn.Close()
		t.Fatal("connected to a port nobody listens on")
	}
	if !strings.Contains(err.Error(), c.URL) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v, want one naming %s within the timeout", err, time.Since(start), c.URL)
	}
}

func TestConnValidate(t *testing.T) {
	for _, c := range []struct {
		edit func(*ConnConfig)
		key  string
	}{
		{func(c *ConnConfig) { c.PasswordFile = "pw" }, "password_file"},
		{func(c *ConnConfig) { c.User, c.CredsFile = "u", "creds" }, "creds_file"},
		{func(c *ConnConfig) { c.TLS.CertFile = "c.pem" }, "tls.cert_file"},
		{func(c *ConnConfig) { c.URL = "localhost:4222" }, "url"},
	} {
		cfg := DefaultConnConfig()
		c.edit(&cfg)
		err := cfg.Validate()
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("want a config error on %s, got %v", c.key, err)
		}
	}
	s := DefaultStreamConfig()
	s.Stream = "a.b"
	if err := s.Validate(); err == nil {
		t.Error("stream name with a dot accepted")
	}
}
