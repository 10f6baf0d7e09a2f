//go:build linux

package msgbroker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// The spool's outage tests of restart_e2e_test.go (300 frames at 50 Hz, a
// queue of 5, the broker away for 2.5 s) for Kafka, NATS JetStream and
// AMQP: with the spool nothing is dropped and the consumer has every
// frame; without it the frames it misses equal the sink's Dropped.

// kafkaDrain reads every record of topic from its start: until a poll of
// a second brings nothing.
func kafkaDrain(t *testing.T, addrs []string, topic string) [][]byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out [][]byte
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r.Value); n++ })
		if n == 0 && len(out) > 0 {
			return out
		}
	}
	t.Fatalf("the topic was still delivering after 30 s (%d records)", len(out))
	return nil
}

// TestE2EKafkaOutage: the in-process kfake cluster is closed for 2.5 s of
// the run and started again on the same port and data folder (kfake keeps
// what it acknowledged with SyncWrites), as Kafka's restart would.
func TestE2EKafkaOutage(t *testing.T) {
	testenv.E2E(t)
	for _, spool := range []bool{true, false} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			c := kafkaCluster(t)
			addr := c.ListenAddrs()[0]
			_, portStr, _ := strings.Cut(addr, ":")
			port, _ := strconv.Atoi(portStr)
			data := t.TempDir()
			c.Close()
			c = kafkaCluster(t, kfake.Ports(port), kfake.DataDir(data), kfake.SyncWrites())
			r := startTestSource(t, spoolFrames, spoolRate, fmt.Sprintf(`protocol = "kafka"
topic = "ds3d.{sensor}"
send_timeout = "1s"
%s[component.config.kafka]
brokers = [%q]`, outageKeys(spool, t.TempDir()), addr))
			restartTiming(t, r, spoolFrames, spoolRate, func() {
				c.Close()
				time.Sleep(spoolOutage)
				c = kafkaCluster(t, kfake.Ports(port), kfake.DataDir(data), kfake.SyncWrites())
			})
			st := r.sink.Stats()
			got, dups := frameSet(t, kafkaDrain(t, []string{addr}, "ds3d.0"))
			checkOutage(t, spool, st, got)
			t.Logf("%d frames in %v, cluster away %v: %+v; %d distinct frames in the topic, %d duplicates", spoolFrames, r.elapsed, spoolOutage, st, len(got), dups)
		})
	}
}

// TestE2ENATSOutage: nats-server with a JetStream file store
// (sync_interval: always) killed (SIGKILL) for 2.5 s of the run and
// started again on the same port and store; the stream is read back whole.
func TestE2ENATSOutage(t *testing.T) {
	testenv.E2E(t)
	for _, spool := range []bool{true, false} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			port, store := freePort(t), t.TempDir()
			srv := natsServerOn(t, port, store, ", sync_interval: always")
			url := fmt.Sprintf("nats://127.0.0.1:%d", port)
			nc := natsConnect(t, url)
			js, _ := jetstream.New(nc)
			if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "DS3D", Subjects: []string{"ds3d.>"},
				Storage: jetstream.FileStorage}); err != nil {
				t.Fatal(err)
			}
			nc.Close()
			r := startTestSource(t, spoolFrames, spoolRate, fmt.Sprintf(`protocol = "nats"
topic = "ds3d.{sensor}"
send_timeout = "1s"
%s[component.config.nats]
servers = [%q]
jetstream = true
stream = "DS3D"`, outageKeys(spool, t.TempDir()), url))
			restartTiming(t, r, spoolFrames, spoolRate, func() {
				srv.stop(syscall.SIGKILL)
				time.Sleep(spoolOutage)
				srv.start()
			})
			st := r.sink.Stats()
			nc = natsConnect(t, url)
			js, _ = jetstream.New(nc)
			stream, err := js.Stream(context.Background(), "DS3D")
			if err != nil {
				t.Fatal(err)
			}
			cons, err := stream.OrderedConsumer(context.Background(), jetstream.OrderedConsumerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			info, _ := stream.Info(context.Background())
			var payloads [][]byte
			if n := int(info.State.Msgs); n > 0 {
				batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				for m := range batch.Messages() {
					payloads = append(payloads, m.Data())
				}
			}
			got, dups := frameSet(t, payloads)
			checkOutage(t, spool, st, got)
			t.Logf("%d frames in %v, server away %v: %+v; %d messages in the stream (%d distinct frames, %d duplicates)", spoolFrames, r.elapsed, spoolOutage, st, len(payloads), len(got), dups)
		})
	}
}

// TestE2EAMQPOutage: rabbitmq-server's application is stopped
// (rabbitmqctl stop_app: the listener closes and every connection with it,
// the Erlang node stays, so the restart takes seconds, not the node's
// boot) and started again after 2.5 s. Each rabbitmqctl call starts an
// Erlang VM of its own (a second, or several on a loaded machine), so the
// run is 750 frames (15 s) and the outage starts after 50 frames were
// sent, for the broker to be back well before the end. The consumer's queue is durable and the
// messages persistent, so what the broker confirmed survives.
func TestE2EAMQPOutage(t *testing.T) {
	testenv.E2E(t)
	const frames = 750
	t0 := time.Now()
	rb := startRabbit(t, nil)
	t.Logf("rabbitmq-server up in %v", time.Since(t0))
	url := rb.url("guest", "guest")
	for _, spool := range []bool{true, false} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			amqpQueue(t, url, "ds3d-e2e-outage", "ds3d.#")
			r := startTestSource(t, frames, spoolRate, fmt.Sprintf(`protocol = "amqp"
topic = "ds3d.{sensor}"
send_timeout = "1s"
%s[component.config.amqp]
addr = "127.0.0.1:%d"`, outageKeys(spool, t.TempDir()), rb.port))
			waitUntil(t, 30*time.Second, "50 frames sent", func() bool { return r.sink.Stats().Sent >= 50 })
			rb.rabbitmqctl("stop_app")
			t1 := time.Now()
			time.Sleep(spoolOutage)
			rb.rabbitmqctl("start_app")
			away := time.Since(t1)
			backAt := time.Since(r.began)
			if err := r.wait(t); err != nil {
				t.Fatalf("pipeline: %v\n%s", err, r.log())
			}
			if nominal := time.Duration(frames / spoolRate * float64(time.Second)); r.elapsed > nominal+2*time.Second {
				t.Errorf("the run took %v for %d frames at %g Hz (%v): the pipeline stalled on the broker", r.elapsed, frames, spoolRate, nominal)
			}
			if backAt > r.elapsed {
				t.Fatalf("the broker was back only after the run (%v, run %v)", backAt, r.elapsed)
			}
			st := r.sink.Stats()
			var payloads [][]byte
			for _, d := range amqpDrain(t, url, "ds3d-e2e-outage") {
				payloads = append(payloads, d.Body)
			}
			got, dups := frameSet(t, payloads)
			checkOutageN(t, spool, st, got, frames)
			t.Logf("%d frames in %v, broker away about %v (back %v into the run): %+v; %d distinct frames in the queue, %d duplicates",
				frames, r.elapsed, away.Round(100*time.Millisecond), backAt.Round(100*time.Millisecond), st, len(got), dups)
		})
	}
}
