package msgbroker

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// exampleCommands are the commands of docs/MESSAGING.md ("Cloud to
// device"), one of each kind.
var exampleCommands = []string{
	`{"version":1,"id":"cfg-1","command":"set","component":"tracker","config":{"iou_threshold":0.4,"max_age":3}}`,
	`{"version":1,"command":"record_start","component":"rec","id":"evt-7","before_s":5,"duration_s":10}`,
	`{"version":1,"command":"record_stop","component":"rec","id":"evt-7"}`,
	`{"version":1,"command":"swap_model","component":"infer","id":"m-2","path":"pointpillars-v2.onnx","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`,
}

func TestDecodeCommand(t *testing.T) {
	c, err := DecodeCommand([]byte(exampleCommands[0]))
	if err != nil {
		t.Fatal(err)
	}
	// Integers come out as int64 and other numbers as float64, as TOML
	// decodes them (the config binder's input).
	want := &Command{Version: 1, ID: "cfg-1", Command: "set", Component: "tracker", Config: map[string]any{"iou_threshold": 0.4, "max_age": int64(3)}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	c, err = DecodeCommand([]byte(exampleCommands[1]))
	if err != nil {
		t.Fatal(err)
	}
	if seconds(c.BeforeS) != 5*time.Second || seconds(c.DurationS) != 10*time.Second || c.ID != "evt-7" {
		t.Fatalf("record_start %+v", c)
	}
	for _, s := range exampleCommands[2:] {
		if _, err := DecodeCommand([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, tc := range []struct{ body, id, want string }{
		{`{not json`, "", "not a command object"},
		{`[1,2]`, "", "not a command object"},
		{``, "", "not a command object: EOF"},
		{`{"version":2,"id":"a","command":"set","component":"x","config":{"k":1}}`, "a", "version 2: this device reads version 1"},
		{`{"id":"a","command":"set","component":"x","config":{"k":1}}`, "a", "version 0"},
		{`{"version":1,"command":"set","component":"x","config":{"k":1}}`, "", "no id"},
		{`{"version":1,"id":"a","command":"reboot","component":"x"}`, "a", `unknown command "reboot"`},
		{`{"version":1,"id":"a","component":"x"}`, "a", "no command"},
		{`{"version":1,"id":"a","command":"set","config":{"k":1}}`, "a", "no component"},
		{`{"version":1,"id":"a","command":"set","component":"x"}`, "a", "config names no key"},
		{`{"version":1,"id":"a","command":"set","component":"x","config":{}}`, "a", "config names no key"},
		{`{"version":1,"id":"a","command":"set","component":"x","config":{"k":1},"path":"m.onnx"}`, "a", "set takes no path"},
		{`{"version":1,"id":"a","command":"set","component":"x","config":{"k":1},"extra":1}`, "a", `unknown field "extra"`},
		{`{"version":1,"id":"a","command":"record_start","component":"r","duration_s":-1}`, "a", "duration_s -1 is not in [0, 86400]"},
		{`{"version":1,"id":"a","command":"record_start","component":"r","duration_s":"5"}`, "a", "cannot unmarshal string"},
		{`{"version":1,"id":"a","command":"record_start","component":"r","duration_s":1,"before_s":-2}`, "a", "before_s -2 is not in [0, 3600]"},
		{`{"version":1,"id":"a","command":"record_stop","component":"r","duration_s":1}`, "a", "record_stop takes no duration_s"},
		{`{"version":1,"id":"a","command":"swap_model","component":"i"}`, "a", "swap_model: no path"},
		{`{"version":1,"id":"a","command":"swap_model","component":"i","path":"m","sha256":"abc"}`, "a", "not 64 hex digits"},
		{`{"version":1,"id":"a","command":"swap_model","component":"i","path":"m","config":{"k":1}}`, "a", "swap_model takes no config"},
		{`{"version":1,"id":7,"command":"set","component":"x","config":{"k":1}}`, "", "cannot unmarshal number"},
		{`{"version":1,"id":"a","command":"set","component":"x","config":{"k":1}} {}`, "a", "more than one JSON value"},
		{`{"version":1,"id":"` + strings.Repeat("x", 129) + `","command":"record_stop","component":"r"}`, "", "id of 129 bytes"},
	} {
		_, err := DecodeCommand([]byte(tc.body))
		var ce *CommandError
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.body, err, tc.want)
			continue
		}
		if !asCommandError(err, &ce) || (ce.ID != tc.id && !(tc.id == "" && len(ce.ID) > maxIDLen)) {
			t.Errorf("%s: id %q, want %q", tc.body, ce.ID, tc.id)
		}
	}
}

func asCommandError(err error, ce **CommandError) bool {
	c, ok := err.(*CommandError)
	*ce = c
	return ok
}

// FuzzDecodeCommand: any body decodes or is refused without a panic, and a
// decoded command encodes and decodes to itself.
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range exampleCommands {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"version":1,"id":"a","command":"set","component":"x","config":{"a":[1,2.5,"s",{"b":true}]}}`))
	f.Add([]byte(`{"version":1,"id":"\u00e9","command":"record_start","component":"r","duration_s":1e-9}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeCommand(body)
		if err != nil {
			if _, ok := err.(*CommandError); !ok {
				t.Fatalf("error %T %v is not a *CommandError", err, err)
			}
			return
		}
		if err := c.check(); err != nil {
			t.Fatalf("decoded command fails its check: %v", err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		d, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", b, err)
		}
		if !reflect.DeepEqual(c, d) {
			t.Fatalf("round trip %+v → %s → %+v", c, b, d)
		}
	})
}

// TestDispatch sends commands to a running pipeline (test_source →
// counting_sink) through the same ds3d.Pipeline the component gets.
func TestDispatch(t *testing.T) {
	g := startCounting(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := func(s string) error {
		t.Helper()
		c, err := DecodeCommand([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return Dispatch(ctx, g, c)
	}
	if err := cmd(`{"version":1,"id":"1","command":"set","component":"sink","config":{"delay":"3ms"}}`); err != nil {
		t.Fatal(err)
	}
	if d := g.Config("sink").(*builtin.CountConfig).Delay; d != 3*time.Millisecond {
		t.Fatalf("delay %v after set", d)
	}
	for s, want := range map[string]string{
		`{"version":1,"id":"2","command":"set","component":"sink","config":{"expect":4}}`:               "cannot change while the pipeline runs",
		`{"version":1,"id":"3","command":"set","component":"sink","config":{"delay":"-1s"}}`:            "delay",
		`{"version":1,"id":"4","command":"set","component":"nope","config":{"delay":"1ms"}}`:            `no component "nope"`,
		`{"version":1,"id":"5","command":"swap_model","component":"sink","path":"m.onnx"}`:              "cannot swap models",
		`{"version":1,"id":"6","command":"record_start","component":"sink","duration_s":1}`:             "does not record",
		`{"version":1,"id":"7","command":"record_stop","component":"nope"}`:                             `no component "nope"`,
		`{"version":1,"id":"8","command":"set","component":"src","config":{"rate_hz":1.0}}`:             "has no runtime-updatable keys",
		`{"version":1,"id":"9","command":"swap_model","component":"src","path":"../../etc/passwd"}`:     "cannot swap models",
		`{"version":1,"id":"10","command":"set","component":"sink","config":{"delay":"1ms","nokey":1}}`: `has no key "nokey"`,
		`{"version":1,"id":"11","command":"record_stop","component":"sink"}`:                            "does not record",
		`{"version":1,"id":"12","command":"set","component":"sink","config":{"delay":{"nested":true}}}`: "delay",
	} {
		if err := cmd(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", s, err, want)
		}
	}
	if d := g.Config("sink").(*builtin.CountConfig).Delay; d != 3*time.Millisecond {
		t.Fatalf("delay %v after refused sets", d)
	}
	if err := Dispatch(ctx, nil, &Command{Command: CmdSet}); err == nil {
		t.Error("dispatch without a pipeline")
	}
}

// TestSourceConfig: the source's own rules.
func TestSourceConfig(t *testing.T) {
	for keys, want := range map[string]string{
		`protocol = "mqtt"` + "\n" + `reply_topic = "a/+"`:         "reply_topic",
		`protocol = "nats"` + "\n" + `reply_topic = "a.*"`:         "topic",
		`protocol = "nats"` + "\n" + "nats = { jetstream = true }": "nats.jetstream",
		`protocol = "nats"` + "\n" + `topic = "a..b"`:              "topic",
		`topic = "ds3d/#/x"`: "# must be the whole last level",
		`topic = "ds3d/a+"`:  "+ must be a whole level",
		`max_payload = 10`:   "max_payload",
		"reconnect_min = \"2s\"\nreconnect_max = \"1s\"":                                   "reconnect_max",
		`protocol = "stomp"`:                                                               "protocol",
		`protocol = "kafka"`:                                                               "topic",
		"protocol = \"kafka\"\ntopic = \"a.b\"\nreply_topic = \"r/s\"":                     "reply_topic",
		"protocol = \"amqp\"\namqp = { exchange = \"\" }":                                  "amqp.exchange",
		"protocol = \"amqp\"\ntopic = \"ds3d.*.commands\"\nreply_topic = \"r\"":            "",
		"protocol = \"kafka\"\ntopic = \"ds3d.commands\"\nreply_topic = \"ds3d.replies\"":  "",
		"mqtt = { password_file = \"p.toml\" }":                                            "mqtt.password_file",
		`topic = ""`:                                                                       "topic",
		`protocol = "mqtt"` + "\n" + `topic = "ds3d/+/commands"` + "\nreply_topic = \"r\"": "",
	} {
		dir := t.TempDir()
		doc := `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "cmds"
[[component]]
name = "cmds"
type = "ds3d::datafilter"
impl = "msgbroker_source"
link_to = "sink"
[component.config]
` + keys + `
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
`
		_, err := config.Parse(filepath.Join(dir, "p.toml"), dir, []byte(doc))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", keys, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", keys, err, want)
		}
	}
}

// startCounting runs test_source → counting_sink at 200 Hz until the
// test ends (Drain), for commands to act on.
func startCounting(t *testing.T) *pipeline.Graph {
	t.Helper()
	dir := t.TempDir()
	doc := `
[pipeline]
realtime = true
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "sink"
[component.config]
count = 0          # forever: the test drains it
rate_hz = 200.0

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
`
	p, err := config.Parse(filepath.Join(dir, "p.toml"), dir, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	t.Cleanup(func() {
		g.Drain()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return g
}

// TestSourceCounts: the command path without a broker (the subscription's
// deliver and the command goroutine's handle, called directly): an
// over-long message is refused unread, a full queue drops, a repeated
// (command, component, id) is applied once, and every message is counted
// exactly once.
func TestSourceCounts(t *testing.T) {
	g := startCounting(t)
	cfg := DefaultSourceConfig()
	cfg.QueueLen, cfg.MaxPayload, cfg.Dedup = 2, 200, 2
	s, err := NewSource(cfg, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer s.cancel()
	set := func(id, delay string) []byte {
		return []byte(`{"version":1,"id":"` + id + `","command":"set","component":"sink","config":{"delay":"` + delay + `"}}`)
	}
	s.deliver(append(set("big", "1ms"), bytes.Repeat([]byte(" "), 200)...), "")
	s.deliver(set("a", "1ms"), "")
	s.deliver(set("b", "2ms"), "")
	s.deliver(set("c", "3ms"), "") // the queue holds 2
	for len(s.queue) > 0 {
		s.handle(<-s.queue)
	}
	if d := g.Config("sink").(*builtin.CountConfig).Delay; d != 2*time.Millisecond {
		t.Fatalf("delay %v, want b's 2ms", d)
	}
	// a again: a duplicate within the window of 2 (a, b)…
	s.handle(inbound{body: set("a", "4ms")})
	// …but after two more ids it has left the window and applies.
	s.handle(inbound{body: set("d", "5ms")})
	s.handle(inbound{body: set("e", "6ms")})
	s.handle(inbound{body: set("a", "7ms")})
	// A record_stop with the id of a record_start is another command.
	s.handle(inbound{body: []byte(`{"version":1,"id":"a","command":"record_stop","component":"sink"}`)})
	if d := g.Config("sink").(*builtin.CountConfig).Delay; d != 7*time.Millisecond {
		t.Fatalf("delay %v, want the second a's 7ms", d)
	}
	want := SourceStats{Received: 4, Applied: 5, Refused: 2, Duplicates: 1, Dropped: 1}
	if st := s.Stats(); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

// TestSourceStartBrokerDown: a broker that is not there does not fail
// Start (the source retries in the background) and Close ends the retries
// at once; goleak (TestMain) checks that nothing is left.
func TestSourceStartBrokerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	for _, proto := range []string{"mqtt", "redis", "nats", "kafka", "amqp"} {
		cfg := DefaultSourceConfig()
		cfg.Protocol, cfg.Connect = proto, 300*time.Millisecond
		cfg.MQTT.Broker, cfg.Redis.Addr, cfg.NATS.Servers = "tcp://"+addr, addr, []string{"nats://" + addr}
		cfg.Kafka.Brokers, cfg.AMQP.Addr = []string{addr}, addr
		if proto == "kafka" {
			cfg.Topic = "ds3d.commands"
		}
		if err := ds3d.CheckConfig(cfg); err != nil {
			t.Fatal(err)
		}
		s, err := NewSource(cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := s.Start(context.Background()); err != nil {
			t.Errorf("%s: Start: %v", proto, err)
		}
		time.Sleep(100 * time.Millisecond)
		t0 := time.Now()
		s.Close()
		if d := time.Since(t0); d > time.Second {
			t.Errorf("%s: Close took %v", proto, d)
		}
		t.Logf("%s: Start %v", proto, t0.Sub(start).Round(time.Millisecond))
	}
}

// TestCommandSchemaAgrees: docs/schema/ds3d-command-1.0.schema.json, as
// Python's jsonschema (Debian python3-jsonschema) applies it, accepts
// exactly the JSON bodies DecodeCommand accepts.
func TestCommandSchemaAgrees(t *testing.T) {
	bodies := append([]string(nil), exampleCommands...)
	bodies = append(bodies,
		`{"version":1,"id":"a","command":"record_start","component":"r"}`,
		`{"version":1,"id":"a","command":"record_start","component":"r","duration_s":0}`,
		`{"version":1,"id":"a","command":"swap_model","component":"i","path":"m.onnx","sha256":"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}`,
		`{"version":2,"id":"a","command":"set","component":"x","config":{"k":1}}`,
		`{"id":"a","command":"set","component":"x","config":{"k":1}}`,
		`{"version":1,"command":"set","component":"x","config":{"k":1}}`,
		`{"version":1,"id":"","command":"set","component":"x","config":{"k":1}}`,
		`{"version":1,"id":"a","command":"reboot","component":"x"}`,
		`{"version":1,"id":"a","command":"set","config":{"k":1}}`,
		`{"version":1,"id":"a","command":"set","component":"x"}`,
		`{"version":1,"id":"a","command":"set","component":"x","config":{}}`,
		`{"version":1,"id":"a","command":"set","component":"x","config":{"k":1},"path":"m.onnx"}`,
		`{"version":1,"id":"a","command":"set","component":"x","config":{"k":1},"extra":1}`,
		`{"version":1,"id":"a","command":"record_start","component":"r","duration_s":-1}`,
		`{"version":1,"id":"a","command":"record_start","component":"r","duration_s":"5"}`,
		`{"version":1,"id":"a","command":"record_start","component":"r","before_s":3601}`,
		`{"version":1,"id":"a","command":"record_stop","component":"r","duration_s":1}`,
		`{"version":1,"id":"a","command":"swap_model","component":"i"}`,
		`{"version":1,"id":"a","command":"swap_model","component":"i","path":"m","sha256":"abc"}`,
		`{"version":1,"id":"a","command":"swap_model","component":"i","path":"m","config":{"k":1}}`,
		`{"version":1,"id":7,"command":"set","component":"x","config":{"k":1}}`,
		`{"version":1,"id":"`+strings.Repeat("x", 128)+`","command":"record_stop","component":"r"}`,
		`{"version":1,"id":"`+strings.Repeat("x", 129)+`","command":"record_stop","component":"r"}`,
		`[1,2]`,
	)
	dir := t.TempDir()
	var files []string
	for i, b := range bodies {
		p := filepath.Join(dir, strconv.Itoa(i)+".json")
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for p in sys.argv[2:]:
    print("ok" if v.is_valid(json.load(open(p))) else "refused")
`
	out := testenv.RunPython(t, []string{"jsonschema"}, append([]string{"-c", script, "../../docs/schema/ds3d-command-1.0.schema.json"}, files...)...)
	verdicts := strings.Fields(string(out))
	if len(verdicts) != len(bodies) {
		t.Fatalf("python judged %d bodies, want %d:\n%s", len(verdicts), len(bodies), out)
	}
	accepted := 0
	for i, b := range bodies {
		_, err := DecodeCommand([]byte(b))
		if (err == nil) != (verdicts[i] == "ok") {
			t.Errorf("%s: schema %s, DecodeCommand %v", b, verdicts[i], err)
		}
		if err == nil {
			accepted++
		}
	}
	if accepted != 8 {
		t.Errorf("%d bodies accepted, want the 4 examples and 4 more", accepted)
	}
}
