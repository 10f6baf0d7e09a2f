package foxglove

import (
	"bufio"
	"bytes"
	"context"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const kittiBin = "kitti-object/training/velodyne/000000.bin"

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// referenceServer starts server.mjs (the FoxgloveServer of
// @foxglove/ws-protocol) on addr and returns a function that kills it.
func referenceServer(t *testing.T, node, addr, bin string, hz int, image ...string) (kill func()) {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(node, append([]string{"server.mjs", port, bin, "/kitti/points", strconv.Itoa(hz), "0"}, image...)...)
	cmd.Dir = "testdata/npm"
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("reference server: %q %v\n%s", line, err, stderr.String())
	}
	go io.Copy(io.Discard, out)
	killed := false
	kill = func() {
		if !killed {
			killed = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(kill)
	return kill
}

func startSource(t *testing.T, addr string, edit func(*SourceConfig)) *Source {
	t.Helper()
	c := NewSourceConfig()
	c.URL = "ws://" + addr
	c.PointsTopic = "/kitti/points"
	c.ReconnectMin = 50 * time.Millisecond
	c.ReconnectMax = 200 * time.Millisecond
	if edit != nil {
		edit(c)
	}
	s, err := NewSource(c, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testWriter sends the source's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// nextFrame returns the next datamap's points and timestamp.
func nextFrame(t *testing.T, s *Source) ([]byte, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	f, err := m.Frame(ds3d.KeyLidarXYZI)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := m.Timestamp()
	return bytes.Clone(f.Data[:f.Points()*16]), ts
}

// TestSourceFromFoxgloveServer: clouds that the reference FoxgloveServer
// encodes with @foxglove/rosmsg2-serialization arrive bit-equal to the KITTI
// file with their header stamps, and the source reconnects when the server
// restarts.
func TestSourceFromFoxgloveServer(t *testing.T) {
	node := testenv.Node(t, "testdata/npm")
	bin := sampledata.Shared(t, kittiBin)
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	kill := referenceServer(t, node, addr, bin, 20)
	s := startSource(t, addr, nil)
	var last int64
	for i := 0; i < 3; i++ {
		got, ts := nextFrame(t, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("cloud %d: %d bytes differ from the %d-byte KITTI file", i, len(got), len(want))
		}
		if ts < 1_700_000_000e9 || ts%100_000_000 != 0 || ts <= last {
			t.Errorf("cloud %d: timestamp %d, want 1.7e18 + k×100 ms, increasing", i, ts)
		}
		last = ts
	}
	kill()
	referenceServer(t, node, addr, bin, 20)
	// Clouds queued before the loss come first; the new server's count
	// starts again at 1 700 000 000 s.
	var got []byte
	ts := last
	for ts >= last {
		got, ts = nextFrame(t, s)
		if !bytes.Equal(got, want) {
			t.Fatal("cloud differs")
		}
	}
	st := s.Stats()
	t.Logf("after the restart: timestamp %d, stats %+v", ts, st)
	// A server killed mid-stream has once (a loaded CI run) left one
	// message that did not decode (a MessageData with an empty payload);
	// the source skips and counts it, which is its job. More than one
	// would be a bug of ours.
	if st.Connects < 2 || st.Reconnects < 1 || st.Bad > 1 {
		t.Errorf("stats %+v: want a second connection after a reconnect, at most the one message cut by the kill", st)
	}
}

// TestSourceCountsMissed: a pipeline that stops asking loses the oldest
// clouds, counted, and gets the latest when it asks again.
func TestSourceCountsMissed(t *testing.T) {
	node := testenv.Node(t, "testdata/npm")
	bin := sampledata.Shared(t, kittiBin)
	addr := freeAddr(t)
	referenceServer(t, node, addr, bin, 20)
	s := startSource(t, addr, func(c *SourceConfig) { c.QueueLength = 2 })
	nextFrame(t, s)
	time.Sleep(time.Second)
	_, ts := nextFrame(t, s)
	st := s.Stats()
	if st.Missed < 5 || s.Dropped() != st.Missed {
		t.Errorf("stats %+v after a 1 s stall at 20 Hz with a queue of 2: want ≥ 5 missed", st)
	}
	if st.Received < st.Missed+2 {
		t.Errorf("received %d < missed %d + 2 delivered", st.Received, st.Missed)
	}
	if ts < 1_700_000_000e9+1e9 {
		t.Errorf("after the stall got stamp %d: want a cloud from after it", ts)
	}
}

func TestSourceConfig(t *testing.T) {
	for _, url := range []string{"http://x:1", "127.0.0.1:8765", "ws://"} {
		c := NewSourceConfig()
		c.URL = url
		if _, err := NewSource(c, nil); err == nil {
			t.Errorf("url %q accepted", url)
		}
	}
}

// TestSourceNoServer: with nothing listening the source keeps trying,
// backing off, and Close still ends it.
func TestSourceNoServer(t *testing.T) {
	s := startSource(t, freeAddr(t), nil)
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Reconnects < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no reconnect attempts")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s.Stats().Connects != 0 {
		t.Error("connected to nothing")
	}
}

// TestSourceCamera: with image, camera-info and tf topics, each cloud's
// datamap carries the latest image (the PNG file's pixels), KITTI's
// intrinsics and the velodyne→camera extrinsics from /tf_static.
func TestSourceCamera(t *testing.T) {
	node := testenv.Node(t, "testdata/npm")
	bin := sampledata.Shared(t, kittiBin)
	pngPath := sampledata.Shared(t, "kitti-object/training/image_2/000000.png")
	addr := freeAddr(t)
	referenceServer(t, node, addr, bin, 10, pngPath)
	s := startSource(t, addr, func(c *SourceConfig) {
		c.ImageTopic, c.CameraInfoTopic, c.TFTopics = "/kitti/image/compressed", "/kitti/camera_info", []string{"/tf_static"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var m *ds3d.DataMap
	for {
		var err error
		if m, err = s.Next(ctx); err != nil {
			t.Fatal(err)
		}
		if m.Has(ds3d.KeyColorFrame) && m.Has(ds3d.KeyCamIntrinsicMatrix) && m.Has(ds3d.KeyLidarToCamExtrinsic) {
			break
		}
		m.Release()
	}
	defer m.Release()

	img, err := m.Frame(ds3d.KeyColorFrame)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := ref.Bounds()
	if img.Type != ds3d.FrameColorRGB || img.Plane.Width != b.Dx() || img.Plane.Height != b.Dy() {
		t.Fatalf("image %s %dx%d, want RGB %dx%d", img.Type, img.Plane.Width, img.Plane.Height, b.Dx(), b.Dy())
	}
	for y := 0; y < b.Dy(); y += 7 {
		for x := 0; x < b.Dx(); x += 5 {
			r, g, bl, _ := ref.At(x, y).RGBA()
			o := y*img.Plane.Pitch + 3*x
			if img.Data[o] != uint8(r>>8) || img.Data[o+1] != uint8(g>>8) || img.Data[o+2] != uint8(bl>>8) {
				t.Fatalf("pixel (%d,%d) = %v, want %d %d %d", x, y, img.Data[o:o+3], r>>8, g>>8, bl>>8)
			}
		}
	}

	in, err := ds3d.Get[ds3d.Intrinsics](m, ds3d.KeyCamIntrinsicMatrix)
	if err != nil {
		t.Fatal(err)
	}
	if in.Fx != 721.5377 || in.Fy != 721.5377 || in.Cx != 609.5593 || in.Cy != 172.854 || in.Width != 1242 || in.Height != 375 {
		t.Errorf("intrinsics %+v", in)
	}

	ext, err := ds3d.Get[ds3d.Mat4](m, ds3d.KeyLidarToCamExtrinsic)
	if err != nil {
		t.Fatal(err)
	}
	// The camera sits 0.27 m ahead of the velodyne and 0.08 m below it,
	// looking forward (x right, y down, z ahead): a point 10 m ahead, 2 m
	// left and 1 m up is 9.73 m in front of it, 2 m to its left (x −2) and
	// 1.08 m above it (y −1.08).
	for _, c := range []struct{ lidar, cam [3]float64 }{
		{[3]float64{10, 0, 0}, [3]float64{0, -0.08, 9.73}},
		{[3]float64{10, 2, 1}, [3]float64{-2, -1.08, 9.73}},
	} {
		for i := 0; i < 3; i++ {
			got := ext[4*i]*c.lidar[0] + ext[4*i+1]*c.lidar[1] + ext[4*i+2]*c.lidar[2] + ext[4*i+3]
			if math.Abs(got-c.cam[i]) > 1e-9 {
				t.Errorf("lidar %v → camera[%d] = %v, want %v", c.lidar, i, got, c.cam[i])
			}
		}
	}
}

// fakeServer is a minimal protocol server: it advertises channels and, on
// subscription, sends payload to every subscriber once.
func fakeServer(t *testing.T, channels []Channel, payload []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx := r.Context()
		wsjson.Write(ctx, conn, ServerInfo{Op: "serverInfo", Name: "fake", Capabilities: []string{}})
		wsjson.Write(ctx, conn, Advertise{Op: "advertise", Channels: channels})
		for {
			var m ClientMessage
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			for _, sub := range m.Subscriptions {
				conn.Write(ctx, websocket.MessageBinary, append(AppendMessageDataHeader(nil, sub.ID, 1), payload...))
			}
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestSourceBadInput: a cloud that does not decode is skipped and
// counted; a topic of another type ends the connection, which is retried.
func TestSourceBadInput(t *testing.T) {
	addr := fakeServer(t, []Channel{{ID: 3, Topic: "/kitti/points", Encoding: "cdr", SchemaName: "sensor_msgs/msg/PointCloud2", SchemaEncoding: "ros2msg"}},
		[]byte{0, 1, 0, 0, 1, 2, 3}) // a CDR header and three bytes: truncated
	s := startSource(t, addr, nil)
	waitForStat(t, "a bad message", func() bool { return s.Stats().Received == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if m, err := s.Next(ctx); err == nil {
		m.Release()
		t.Fatal("a truncated cloud made a datamap")
	}
	if st := s.Stats(); st.Bad != 1 {
		t.Errorf("stats %+v: want 1 bad", st)
	}

	addr = fakeServer(t, []Channel{{ID: 3, Topic: "/kitti/points", Encoding: "cdr", SchemaName: "std_msgs/msg/String", SchemaEncoding: "ros2msg"}}, nil)
	s = startSource(t, addr, nil)
	waitForStat(t, "reconnects", func() bool { return s.Stats().Connects >= 2 })
	if st := s.Stats(); st.Received != 0 {
		t.Errorf("stats %+v: nothing should be received from a String topic", st)
	}
}

func waitForStat(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
