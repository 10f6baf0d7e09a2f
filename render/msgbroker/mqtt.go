package msgbroker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// mqttURL checks a broker URL and says whether it asks for TLS.
func mqttURL(s string) (string, bool, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", false, fmt.Errorf("%q: %v", s, err)
	}
	if u.Port() == "" || u.Hostname() == "" {
		return "", false, fmt.Errorf("%q: want scheme://host:port", s)
	}
	switch u.Scheme {
	case "tcp", "mqtt":
		return "tcp://" + u.Host, false, nil
	case "ssl", "tls", "mqtts":
		return "ssl://" + u.Host, true, nil
	}
	return "", false, fmt.Errorf("%q: scheme %q: want tcp, mqtt, ssl, tls or mqtts", s, u.Scheme)
}

// mqttAdapter publishes with paho. Paho's own reconnection is off: the
// sender owns reconnecting, so that backoff, counting and logging are the
// same for every protocol.
type mqttAdapter struct {
	cfg    *Config
	opts   *mqtt.ClientOptions
	name   string
	client mqtt.Client
	conn   mqtt.Token // the last connect attempt, which may outlive its context
}

func newMQTT(cfg *Config) (*mqttAdapter, error) {
	c := &cfg.MQTT
	broker, useTLS, err := mqttURL(c.Broker)
	if err != nil {
		return nil, ds3d.ConfigErrorf("mqtt.broker", "%v", err)
	}
	pw, err := readPassword("mqtt.password_file", c.PasswordFile)
	if err != nil {
		return nil, err
	}
	id := c.ClientID
	if id == "" {
		id = "ds3d-" + randomID()
	}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).
		SetAutoReconnect(false).SetConnectRetry(false).SetCleanSession(true).
		SetConnectTimeout(cfg.Connect).SetWriteTimeout(cfg.SendTO).SetOrderMatters(true).
		SetKeepAlive(30 * time.Second).SetPingTimeout(cfg.SendTO)
	name := "mqtt " + broker
	if c.Username != "" {
		o.SetUsername(c.Username).SetPassword(pw)
		name += fmt.Sprintf(" as user %q", c.Username)
	}
	if useTLS || c.TLS.On() {
		if !useTLS {
			return nil, ds3d.ConfigErrorf("mqtt.broker", "%q: the tls keys ask for TLS: use ssl://", c.Broker)
		}
		u, _ := url.Parse(broker)
		tc, err := c.TLS.Config(u.Hostname())
		if err != nil {
			return nil, fmt.Errorf("mqtt.%w", err)
		}
		o.SetTLSConfig(tc)
	}
	return &mqttAdapter{cfg: cfg, opts: o, name: name}, nil
}

func (a *mqttAdapter) String() string { return a.name }

func (a *mqttAdapter) connect(ctx context.Context) error {
	a.close()
	a.client = mqtt.NewClient(a.opts)
	a.conn = a.client.Connect()
	if err := wait(ctx, a.conn); err != nil {
		switch {
		case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) || errors.Is(err, packets.ErrorRefusedNotAuthorised):
			return &authError{fmt.Errorf("%s: login refused: %w", a.name, err)}
		case badCert(err):
			return &authError{fmt.Errorf("%s: server certificate rejected: %w", a.name, err)}
		}
		return fmt.Errorf("%s: %w", a.name, err)
	}
	return nil
}

// badCert reports whether TLS refused the server's certificate: retrying
// cannot help.
func badCert(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

func (a *mqttAdapter) publish(_ context.Context, m *message) func(context.Context) error {
	t := a.client.Publish(m.topic, byte(a.cfg.MQTT.QoS), a.cfg.MQTT.Retain, m.buf)
	return func(ctx context.Context) error { return wait(ctx, t) }
}

func (a *mqttAdapter) window() int { return a.cfg.MQTT.MaxInFlight }

// wait waits for a paho token, bounded by ctx.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close disconnects. A connect attempt that outlived its context ends
// within paho's connect timeout (the same connect_timeout), and is waited
// for, so that no paho goroutine outlives the sink.
func (a *mqttAdapter) close() {
	if a.client == nil {
		return
	}
	if a.conn != nil {
		<-a.conn.Done()
	}
	if a.client.IsConnectionOpen() {
		a.client.Disconnect(0)
	}
	a.client, a.conn = nil, nil
}
