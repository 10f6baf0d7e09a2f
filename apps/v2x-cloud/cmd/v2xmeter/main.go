// Command v2xmeter measures the V2X cloud demo end to end (demo-cluster.sh
// runs it). It has two modes:
//
//	v2xmeter ports N
//	v2xmeter waitjs -nats URL [-stream NAME [-consumer NAME -waiting N]] -timeout 60s
//	v2xmeter watch -nats URL -subject V2X_RSU.dm.* -o sent.tsv
//	v2xmeter report -sent sent.tsv -mqtt mqtt.log -expect N
//
// ports prints N free loopback TCP ports; waitjs waits until a JetStream
// (cluster) answers account requests, that is has a meta leader, with
// -stream until that stream exists, and with -consumer until that durable
// consumer has N pull requests waiting at the server (its subscribers are
// ready).
// watch holds a core NATS subscription on the roadside stream's subjects:
// it sees every datamap the roadside units publish (JetStream stores them,
// and a plain subscriber on the same subjects gets a copy without taking
// anything from the workers' durable consumer) and writes the source id,
// frame number (the bus headers) and the local receipt time of each, until
// SIGINT or SIGTERM. report joins that file with mosquitto_sub's log
// (-F '%U %p': receipt time, then the detection3d JSON payload) on (source
// id, frame number) and prints frames sent, payloads received, loss,
// throughput and latency. Latency of a frame is the MQTT receipt time minus
// the time its roadside datamap appeared on the bus; both clocks are this
// machine's, so on several machines the figures carry their clock offset.
// report exits 1 when a frame is lost or fewer than -expect were sent.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: v2xmeter watch|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ports":
		err = ports(os.Args[2:])
	case "waitjs":
		err = waitJS(os.Args[2:])
	case "watch":
		err = watch(os.Args[2:])
	case "report":
		var ok bool
		ok, err = report(os.Args[2:], os.Stdout)
		if err == nil && !ok {
			os.Exit(1)
		}
	default:
		err = fmt.Errorf("unknown mode %q: want ports, waitjs, watch or report", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "v2xmeter:", err)
		os.Exit(2)
	}
}

// Headers bus_publish sets (sensors/bus); repeated here so that the meter
// depends on the wire format only, as any consumer would.
const (
	hdrSource = "Ds3d-Source"
	hdrFrame  = "Ds3d-Frame"
)

func ports(args []string) error {
	if len(args) != 1 {
		return errors.New("ports: want the number of ports")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 64 {
		return fmt.Errorf("ports: %q: want 1 to 64", args[0])
	}
	// All listeners stay open until every port is chosen, so the N differ.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	for i, l := range ls {
		if i > 0 {
			fmt.Print(" ")
		}
		fmt.Print(l.Addr().(*net.TCPAddr).Port)
	}
	fmt.Println()
	return nil
}

func waitJS(args []string) error {
	fs := flag.NewFlagSet("waitjs", flag.ContinueOnError)
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS server URLs, comma-separated")
	stream := fs.String("stream", "", "also wait until this stream exists")
	consumer := fs.String("consumer", "", "with -stream: also wait until this durable consumer has -waiting pull requests parked at the server")
	waiting := fs.Int("waiting", 1, "pull requests the -consumer must have waiting")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	var last error
	for time.Now().Before(deadline) {
		nc, err := nats.Connect(*url, nats.Name("v2xmeter waitjs"), nats.Timeout(time.Second))
		if err == nil {
			var js jetstream.JetStream
			if js, err = jetstream.New(nc); err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err = js.AccountInfo(ctx)
				var st jetstream.Stream
				if err == nil && *stream != "" {
					st, err = js.Stream(ctx, *stream)
				}
				if err == nil && st != nil && *consumer != "" {
					var c jetstream.Consumer
					if c, err = st.Consumer(ctx, *consumer); err == nil {
						ci := c.CachedInfo()
						if ci.NumWaiting < *waiting {
							err = fmt.Errorf("consumer %s: %d pull requests waiting, want %d", *consumer, ci.NumWaiting, *waiting)
						}
					}
				}
				cancel()
			}
			nc.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("waitjs: no JetStream at %s within %s: %w", *url, *timeout, last)
}

func watch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS server URLs, comma-separated")
	subject := fs.String("subject", "V2X_RSU.dm.*", "subjects of the roadside datamaps")
	out := fs.String("o", "sent.tsv", "file of source, frame and receipt time (Unix ns) per datamap")
	ready := fs.String("ready", "", "file created once the subscription is in place")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	nc, err := nats.Connect(*url, nats.Name("v2xmeter"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect %s: %w", *url, err)
	}
	// The bodies (point clouds) are not needed, but a core subscription
	// gets them; a large pending limit keeps a slow write from dropping
	// receipts. The handler runs on one goroutine per subscription, and
	// Drain waits for it, so w needs no lock.
	sub, err := nc.Subscribe(*subject, func(m *nats.Msg) {
		fmt.Fprintf(w, "%s\t%s\t%d\n", m.Header.Get(hdrSource), m.Header.Get(hdrFrame), time.Now().UnixNano())
	})
	if err != nil {
		nc.Close()
		return fmt.Errorf("subscribe %s: %w", *subject, err)
	}
	if err := sub.SetPendingLimits(1<<16, 8<<30); err != nil {
		nc.Close()
		return err
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return err
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, nil, 0o644); err != nil {
			nc.Close()
			return err
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	dropped, _ := sub.Dropped()
	if err := sub.Drain(); err == nil {
		for i := 0; i < 100 && sub.IsValid(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	nc.Close()
	if dropped > 0 {
		fmt.Fprintf(os.Stderr, "v2xmeter: %d receipts dropped by the subscription\n", dropped)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

type frameID struct{ source, frame int64 }

// Result is what report prints.
type Result struct {
	Expect, Sent          int
	Received, Unique, Dup int
	Unknown               int // payloads of frames the watcher never saw sent
	Lost                  int
	Span                  time.Duration
	P50, P99, Max         time.Duration
}

func report(args []string, out io.Writer) (bool, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	sentPath := fs.String("sent", "sent.tsv", "watch's output")
	mqttPath := fs.String("mqtt", "mqtt.log", "mosquitto_sub -F '%U %p' output")
	expect := fs.Int("expect", 0, "frames the roadside units were to send; fewer sent is a failure")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	sent, err := readSent(*sentPath)
	if err != nil {
		return false, err
	}
	recv, n, err := readMQTT(*mqttPath)
	if err != nil {
		return false, err
	}
	r := summarize(*expect, sent, recv, n)
	fmt.Fprintf(out, "frames sent        %d (expected %d)\n", r.Sent, r.Expect)
	fmt.Fprintf(out, "payloads received  %d (%d frames, %d duplicates, %d of frames not seen sent)\n", r.Received, r.Unique, r.Dup, r.Unknown)
	fmt.Fprintf(out, "loss               %d\n", r.Lost)
	if r.Span > 0 {
		fmt.Fprintf(out, "throughput         %.1f datamaps/s end to end (%d frames in %.2f s, first bus publish to last MQTT receipt)\n",
			float64(r.Unique)/r.Span.Seconds(), r.Unique, r.Span.Seconds())
	}
	fmt.Fprintf(out, "latency            p50 %.1f ms, p99 %.1f ms, max %.1f ms (roadside bus publish to MQTT receipt)\n",
		ms(r.P50), ms(r.P99), ms(r.Max))
	ok := r.Lost == 0 && r.Sent >= r.Expect && r.Sent > 0
	if !ok {
		fmt.Fprintln(out, "RESULT             FAIL")
	} else {
		fmt.Fprintln(out, "RESULT             ok")
	}
	return ok, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize joins sends and receipts. Loss counts frames sent whose payload
// never arrived, plus frames expected but never sent.
func summarize(expect int, sent map[frameID]int64, recv map[frameID]int64, received int) Result {
	r := Result{Expect: expect, Sent: len(sent), Received: received, Unique: len(recv), Dup: received - len(recv)}
	var lat []time.Duration
	var first, last int64
	for id, t := range sent {
		if first == 0 || t < first {
			first = t
		}
		rt, ok := recv[id]
		if !ok {
			r.Lost++
			continue
		}
		lat = append(lat, time.Duration(rt-t))
	}
	for id, t := range recv {
		if _, ok := sent[id]; !ok {
			r.Unknown++
		}
		last = max(last, t)
	}
	if expect > len(sent) {
		r.Lost += expect - len(sent)
	}
	if first > 0 && last > first {
		r.Span = time.Duration(last - first)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50 = quantile(lat, 0.50)
		r.P99 = quantile(lat, 0.99)
		r.Max = lat[len(lat)-1]
	}
	return r
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(s []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// readSent keeps each frame's first sighting (a republished datamap shows
// up twice).
func readSent(path string) (map[frameID]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[frameID]int64{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 3 {
			return nil, fmt.Errorf("%s:%d: want source, frame and time", path, line)
		}
		src, e1 := strconv.ParseInt(fs[0], 10, 64)
		fn, e2 := strconv.ParseInt(fs[1], 10, 64)
		t, e3 := strconv.ParseInt(fs[2], 10, 64)
		if err := errors.Join(e1, e2, e3); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		id := frameID{src, fn}
		if _, ok := m[id]; !ok {
			m[id] = t
		}
	}
	return m, sc.Err()
}

// readMQTT reads "SECONDS.NANOSECONDS PAYLOAD" lines and keeps each
// frame's first receipt; it also returns the number of payloads.
func readMQTT(path string) (map[frameID]int64, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	m := map[frameID]int64{}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if sc.Text() == "Timed out" { // mosquitto_sub's -W message
			continue
		}
		ts, payload, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			return nil, 0, fmt.Errorf("%s:%d: want a receipt time and a payload", path, line)
		}
		t, err := parseUnix(ts)
		if err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		var p struct {
			SourceID    *int64 `json:"source_id"`
			FrameNumber *int64 `json:"frame_number"`
		}
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			return nil, 0, fmt.Errorf("%s:%d: payload: %w", path, line, err)
		}
		if p.SourceID == nil || p.FrameNumber == nil {
			return nil, 0, fmt.Errorf("%s:%d: payload without source_id or frame_number", path, line)
		}
		n++
		id := frameID{*p.SourceID, *p.FrameNumber}
		if _, ok := m[id]; !ok {
			m[id] = t
		}
	}
	return m, n, sc.Err()
}

// parseUnix reads mosquitto_sub's %U: seconds, a dot and nine digits of
// nanoseconds.
func parseUnix(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	a, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("receipt time %q: %w", s, err)
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		ns, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("receipt time %q: %w", s, err)
		}
	}
	return a*1e9 + ns, nil
}
