//go:build linux

package bus

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/bus"
)

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// proc is a child process whose output the test keeps.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startProc(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	var w io.Writer = p.out
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func waitPort(t *testing.T, port int, p *proc) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %s", p.name, p.out.String())
		default:
		}
	}
	t.Fatalf("%s does not listen on %d: %s", p.name, port, p.out.String())
}

// workerEnv names the config a re-executed test binary runs as a worker.
const workerEnv = "DS3D_BUS_WORKER_CONFIG"

// TestBusWorkerProcess is not a test of its own: TestE2EClusterKill runs
// the test binary with it selected and workerEnv set, making the process a
// worker that runs the pipeline in that config until it is killed.
func TestBusWorkerProcess(t *testing.T) {
	path := os.Getenv(workerEnv)
	if path == "" {
		t.Skip("worker process of TestE2EClusterKill only")
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g := buildPipelineLog(t, string(doc), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestE2EClusterKill runs the bus on a 3-node JetStream cluster of real
// nats-server processes on loopback: a producer pipeline publishes 600
// datamaps (replicas 3), three worker processes share them through one
// durable consumer and publish their results to a second stream, and a
// collector consumes those with dedup. Mid-run one worker and one NATS
// server are killed with SIGKILL. Every frame's result must reach the
// collector exactly once; the run's latency percentiles are logged.
func TestE2EClusterKill(t *testing.T) {
	testenv.E2E(t)
	const frames = 600
	bin := testenv.NATSServer(t)
	ports := freePorts(t, 6)
	client, cluster := ports[:3], ports[3:]
	var routes []string
	for _, p := range cluster {
		routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	var servers []*proc
	for i := range 3 {
		s := startProc(t, fmt.Sprintf("nats-%d", i), nil, bin,
			"-a", "127.0.0.1", "-p", strconv.Itoa(client[i]), "-n", fmt.Sprintf("n%d", i),
			"-js", "-sd", t.TempDir(), "--cluster_name", "ds3d",
			"--cluster", routes[i], "--routes", strings.Join(routes, ","))
		servers = append(servers, s)
	}
	for i, s := range servers {
		waitPort(t, client[i], s)
	}
	var urls []string
	for _, p := range client {
		urls = append(urls, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	url := strings.Join(urls, ",")
	conn := func(stream string) string {
		return fmt.Sprintf("url = %q\nstream = %q\nreplicas = 3\nconnect_timeout = \"20s\"\n", url, stream)
	}

	// Wait for the cluster to elect a meta leader: creating a stream
	// before that fails.
	ready := false
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && !ready; time.Sleep(200 * time.Millisecond) {
		sc := bus.DefaultSubscribeConfig()
		sc.URL, sc.Stream, sc.Replicas, sc.Durable = url, "OUT", 3, "collector"
		sc.Dedup, sc.MaxPending, sc.AckWait = 4096, 64, 5*time.Second
		s, err := bus.NewSubscriber(sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			continue
		}
		// The input stream too, once, before the processes that use it
		// start (they only check that it exists).
		sc.Stream, sc.Durable = "IN", "probe"
		in, err := bus.NewSubscriber(sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Start(context.Background()); err != nil {
			t.Fatalf("stream IN: %v", err)
		}
		in.Close()
		ready = true
		defer s.Close()
		runCluster(t, s, servers, url, conn, frames)
	}
	if !ready {
		t.Fatalf("the cluster did not accept a stream within 30 s:\n%s", servers[0].out.String())
	}
}

func runCluster(t *testing.T, coll *bus.Subscriber, servers []*proc, url string, conn func(string) string, frames int) {
	dir := t.TempDir()
	worker := filepath.Join(dir, "worker.toml")
	if err := os.WriteFile(worker, []byte(fmt.Sprintf(`
[[component]]
name = "in"
type = "ds3d::dataloader"
impl = "bus_subscribe"
link_to = "out"
[component.config]
%s
durable = "workers"
ack_wait = "2s"
max_ack_pending = 4

[[component]]
name = "out"
type = "ds3d::datarender"
impl = "bus_publish"
[component.config]
%s
ack_timeout = "2s"
retries = 20
block_timeout = "30s"
`, conn("IN"), conn("OUT"))), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var workers []*proc
	for i := range 3 {
		workers = append(workers, startProc(t, fmt.Sprintf("worker-%d", i), []string{workerEnv + "=" + worker}, self,
			"-test.run", "^TestBusWorkerProcess$", "-test.v"))
	}

	// Start the clock only when all three workers wait for work: on a
	// loaded machine starting them takes seconds, which is not the bus's
	// latency.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var waiting int
		if c, err := js.Consumer(ctx, "IN", "workers"); err == nil {
			if info, err := c.Info(ctx); err == nil {
				waiting = info.NumWaiting
			}
		}
		cancel()
		if waiting >= 3 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the workers are not waiting for work after 60 s (%d pull requests)", waiting)
		}
	}

	producer := buildPipeline(t, fmt.Sprintf(`
[pipeline]
realtime = true

[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "out"
[component.config]
count = %d
rate_hz = 30.0
points = 20000

[[component]]
name = "out"
type = "ds3d::datarender"
impl = "bus_publish"
[component.config]
%s
ack_timeout = "2s"
retries = 20
block_timeout = "30s"
`, frames, conn("IN")))
	prodDone := runAsync(producer)

	counts := map[int64]int{}
	var lat []time.Duration
	killedWorker, killedServer := false, false
	deadline := time.Now().Add(90 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for len(counts) < frames {
		m, err := coll.Next(ctx)
		if err != nil {
			var missing []int64
			for i := range int64(frames) {
				if counts[i] == 0 {
					missing = append(missing, i)
				}
			}
			t.Errorf("collector: %v after %d frames; missing %v; collector %+v; producer %+v",
				err, len(counts), missing[:min(len(missing), 20)], coll.Stats(), producer.Component("out").(*Publisher).Stats())
			for _, w := range workers {
				t.Logf("%s:\n%s", w.name, w.out.String())
			}
			t.FailNow()
		}
		fn, err := m.Int64(ds3d.KeyFrameNumber)
		if err != nil {
			t.Fatal(err)
		}
		if origin, err := m.Int64(bus.KeyOrigin); err == nil {
			lat = append(lat, time.Duration(time.Now().UnixNano()-origin))
		}
		counts[fn]++
		m.Release()
		if len(counts) == frames/3 && !killedWorker {
			killedWorker = true
			workers[0].kill()
			t.Logf("killed worker-0 (SIGKILL) after %d frames", len(counts))
		}
		if len(counts) == frames/2 && !killedServer {
			killedServer = true
			servers[1].kill()
			t.Logf("killed nats-1 (SIGKILL) after %d frames", len(counts))
		}
	}
	waitRun(t, "producer", prodDone)
	// A duplicate that slipped past dedup would come after the last new
	// frame: listen a little longer.
	tail, cancelTail := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancelTail()
	for {
		m, err := coll.Next(tail)
		if err != nil {
			break
		}
		fn, _ := m.Int64(ds3d.KeyFrameNumber)
		counts[fn]++
		m.Release()
	}
	for fn, n := range counts {
		if fn < 0 || fn >= int64(frames) || n != 1 {
			t.Errorf("frame %d reached the collector %d times", fn, n)
		}
	}
	st := coll.Stats()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(int(p*float64(len(lat))), len(lat)-1)] }
	t.Logf("%d frames exactly once; collector received %d, dropped %d duplicates; latency p50 %v p99 %v max %v",
		len(counts), st.Received, st.Duplicates, pct(0.5), pct(0.99), lat[len(lat)-1])
	ps := producer.Component("out").(*Publisher).Stats()
	t.Logf("producer: %+v", ps)
}
