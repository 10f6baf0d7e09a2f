package foxglove

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/jpeg"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer starts a server on a free loopback port and closes it when
// the test ends.
func startServer(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	c := NewConfig()
	c.Listen = "127.0.0.1:0"
	if edit != nil {
		edit(c)
	}
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// kittiFrame is KITTI object 000000's velodyne scan as an [N,4] frame.
func kittiFrame(t testing.TB) *ds3d.Frame {
	t.Helper()
	b, err := os.ReadFile(sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f := ds3d.NewLidarFrame(len(b) / 16)
	copy(f.Data, b)
	return f
}

func testBoxes() []ds3d.Box3D {
	return []ds3d.Box3D{
		{CX: 8.41, CY: -1.57, CZ: -0.82, DX: 3.2, DY: 1.66, DZ: 1.47, Yaw: 0.01, ClassID: 0, Label: "Car", Score: 0.93, TrackID: 7},
		{CX: 22.7, CY: 6.1, CZ: -0.6, DX: 0.8, DY: 0.6, DZ: 1.73, Yaw: -1.2, ClassID: 1, Label: "Pedestrian", Score: 0.61, Color: [4]uint8{255, 0, 0, 255}, TrackID: -1},
		{CX: -5.25, CY: 3.5, CZ: -1, DX: 1.76, DY: 0.6, DZ: 1.73, Yaw: 3.1, ClassID: 2, Label: "Cyclist", Score: 0.4, TrackID: -1},
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type nodeCloud struct {
	FrameID   string    `json:"frame_id"`
	Sec       int32     `json:"sec"`
	Nanosec   uint32    `json:"nanosec"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	PointStep int       `json:"point_step"`
	Fields    []string  `json:"fields"`
	Count     int       `json:"count"`
	First     []float64 `json:"first"`
	Last      []float64 `json:"last"`
	XYZI      string    `json:"xyzi_b64"`
	Pose      []float64 `json:"pose"`
}

type nodeMarker struct {
	FrameID     string     `json:"frame_id"`
	NS          string     `json:"ns"`
	ID          int32      `json:"id"`
	Type        int32      `json:"type"`
	Action      int32      `json:"action"`
	Position    [3]float64 `json:"position"`
	Orientation [4]float64 `json:"orientation"`
	Scale       [3]float64 `json:"scale"`
	Color       [4]float64 `json:"color"`
	Lifetime    [2]int64   `json:"lifetime"`
}

type nodeImage struct {
	Sec     int32  `json:"sec"`
	Nanosec uint32 `json:"nanosec"`
	FrameID string `json:"frame_id"`
	Format  string `json:"format"`
	Data    string `json:"data_b64"`
}

type nodeTransform struct {
	Parent      string     `json:"parent"`
	Child       string     `json:"child"`
	Translation [3]float64 `json:"translation"`
	Rotation    [4]float64 `json:"rotation"`
}

type nodeDetection struct {
	FrameID string     `json:"frame_id"`
	ID      string     `json:"id"`
	ClassID string     `json:"class_id"`
	Score   float64    `json:"score"`
	Center  [3]float64 `json:"center"`
	Size    [3]float64 `json:"size"`
}

type nodeLine struct {
	Detections []nodeDetection `json:"detections"`
	Image      *nodeImage      `json:"image"`
	Transforms []nodeTransform `json:"transforms"`
	Subscribed []string        `json:"subscribed"`
	Status     *struct{}       `json:"status"`
	Topic      string          `json:"topic"`
	Schema     string          `json:"schema"`
	ReceiveNs  string          `json:"receive_ns"`
	Cloud      *nodeCloud      `json:"cloud"`
	Markers    []nodeMarker    `json:"markers"`
}

// addBoxes is a test filter that puts testBoxes(), testImage() and
// testExtrinsics in every datamap.
type addBoxes struct{}

func (addBoxes) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	in.Set(ds3d.KeyLidar3DBboxRawData, testBoxes())
	in.SetFrame(ds3d.KeyColorFrame, testImage())
	in.Set(ds3d.KeyLidarToCamExtrinsic, testExtrinsics)
	in.Set(ds3d.KeyEgoPose, testEgo)
	return emit(in)
}

// testExtrinsics maps lidar points (x forward, y left, z up) into a camera
// (x right, y down, z forward) mounted 0.3 m ahead, 0.2 m left, 0.1 m up.
var testExtrinsics = ds3d.Mat4{
	0, -1, 0, 0.2,
	0, 0, -1, 0.1,
	1, 0, 0, -0.3,
	0, 0, 0, 1,
}

// testEgo places the ego 12.5 m east and 3.25 m south of the world
// origin, turned 0.7 rad about z (upright: rotation about z only).
var testEgo = ds3d.Mat4{
	0.7648421872844885, -0.644217687237691, 0, 12.5,
	0.644217687237691, 0.7648421872844885, 0, -3.25,
	0, 0, 1, 0.5,
	0, 0, 0, 1,
}

// testImage is a 64×48 RGB gradient: red grows to the right, green down.
func testImage() *ds3d.Frame {
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 64, 48, 0)
	if err != nil {
		panic(err)
	}
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			f.Data[3*(64*y+x)], f.Data[3*(64*y+x)+1], f.Data[3*(64*y+x)+2] = uint8(4*x), uint8(5*y), 128
		}
	}
	return f
}

type addBoxesConfig struct{}

func init() {
	ds3d.Register(ds3d.KindFilter, "foxglove_test_boxes", "Adds three fixed boxes (foxglove_ws tests).",
		func() *addBoxesConfig { return &addBoxesConfig{} },
		func(*addBoxesConfig, *ds3d.Env) (any, error) { return addBoxes{}, nil })
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runPipeline runs lidar_file_loader (KITTI 000000 in a loop at 10 Hz) →
// foxglove_test_boxes → foxglove_ws on addr until the returned stop is
// called; extra holds more foxglove_ws config lines.
func runPipeline(t *testing.T, addr string, extra ...string) (stop func()) {
	t.Helper()
	bin := sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin")
	doc := fmt.Sprintf(`
[pipeline]
name = "foxglove_ws test"
realtime = true

[[component]]
name = "lidar"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "boxes"
[component.config]
files = [%q]
rate_hz = 10
file_loop = true

[[component]]
name = "boxes"
type = "ds3d::datafilter"
impl = "foxglove_test_boxes"
link_to = "ws"

[[component]]
name = "ws"
type = "ds3d::datarender"
impl = "foxglove_ws"
[component.config]
listen = %q
box_lifetime = "1.5s"
detections_topic = "/ds3d/detections"
%s
`, bin, addr, strings.Join(extra, "\n"))
	p, err := config.Parse("foxglove.toml", t.TempDir(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	// The server listens once Start has run.
	waitFor(t, "the server", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("pipeline: %v", err)
		}
	}
}

// TestFoxgloveClientDecodes runs a pipeline that serves a real KITTI scan
// and three boxes to the FoxgloveClient of @foxglove/ws-protocol, which
// decodes them with @foxglove/rosmsg2-serialization from the ros2msg
// schemas the server advertised: every point must come back bit-equal and
// every box as sent.
func TestFoxgloveClientDecodes(t *testing.T) {
	node := testenv.Node(t, "testdata/npm")
	f := kittiFrame(t)
	boxes := testBoxes()
	addr := freePort(t)
	stop := runPipeline(t, addr)
	defer stop()

	got := nodeClient(t, node, addr, 1, "/ds3d/points", "/ds3d/boxes", "/ds3d/image/compressed", "/tf_static", "/ds3d/detections")
	markers, img, tfs, dets := got["/ds3d/boxes"].Markers, got["/ds3d/image/compressed"].Image, got["/tf_static"].Transforms, got["/ds3d/detections"].Detections
	if got["/ds3d/points"].Cloud == nil || markers == nil {
		t.Fatalf("client printed no cloud or no markers: %v", got)
	}
	if c := got["/ds3d/points"].Cloud; c.Width != c.Count || c.Height != 1 {
		t.Errorf("cloud: width %d height %d, want %d×1", c.Width, c.Height, c.Count)
	}
	checkCloud(t, "/ds3d/points", got["/ds3d/points"], f)

	if len(markers) != len(boxes)+1 {
		t.Fatalf("%d markers, want DELETEALL + %d boxes", len(markers), len(boxes))
	}
	if markers[0].Action != 3 {
		t.Errorf("first marker action %d, want DELETEALL (3)", markers[0].Action)
	}
	for i, b := range boxes {
		mk := markers[i+1]
		if mk.Type != 1 || mk.Action != 0 || mk.ID != int32(i) || mk.NS != ros2.MarkerNamespace || mk.FrameID != "lidar" {
			t.Errorf("box %d: marker type %d action %d id %d ns %q frame %q", i, mk.Type, mk.Action, mk.ID, mk.NS, mk.FrameID)
		}
		want := [6]float32{b.CX, b.CY, b.CZ, b.DX, b.DY, b.DZ}
		got := [6]float64{mk.Position[0], mk.Position[1], mk.Position[2], mk.Scale[0], mk.Scale[1], mk.Scale[2]}
		for k := range want {
			if float64(want[k]) != got[k] {
				t.Errorf("box %d: value %d = %v, want %v", i, k, got[k], want[k])
			}
		}
		// An upright box turns about z only: q = (0, 0, sin(yaw/2), cos(yaw/2)).
		q := mk.Orientation
		if math.Abs(q[0]) > 1e-12 || math.Abs(q[1]) > 1e-12 || math.Abs(2*math.Atan2(q[2], q[3])-float64(b.Yaw)) > 1e-9 {
			t.Errorf("box %d: orientation %v is not a turn of %v about z", i, q, b.Yaw)
		}
		if mk.Lifetime != [2]int64{1, 500_000_000} {
			t.Errorf("box %d: lifetime %v, want 1.5 s", i, mk.Lifetime)
		}
	}
	if c := markers[2].Color; c != [4]float64{1, 0, 0, 1} {
		t.Errorf("box 1 colour %v, want its own red", c)
	}
	if len(dets) != len(boxes) {
		t.Fatalf("%d detections, want %d", len(dets), len(boxes))
	}
	for i, b := range boxes {
		d := dets[i]
		wantID := "" // untracked
		if b.TrackID >= 0 {
			wantID = strconv.FormatInt(b.TrackID, 10)
		}
		if d.ClassID != b.Label || float32(d.Score) != b.Score || d.ID != wantID || d.FrameID != "lidar" {
			t.Errorf("detection %d: %+v, want class %q score %v id %q", i, d, b.Label, b.Score, wantID)
		}
		if d.Center != [3]float64{float64(b.CX), float64(b.CY), float64(b.CZ)} || d.Size != [3]float64{float64(b.DX), float64(b.DY), float64(b.DZ)} {
			t.Errorf("detection %d: centre %v size %v", i, d.Center, d.Size)
		}
	}
	checkImage(t, img)
	checkTF(t, tfs)
}

// checkImage decodes the JPEG the client received and compares it with
// the gradient sent, allowing for JPEG's loss.
func checkImage(t *testing.T, img *nodeImage) {
	t.Helper()
	if img == nil || img.Format != "jpeg" || img.FrameID != "camera" {
		t.Fatalf("image %+v: want a jpeg in frame camera", img)
	}
	b, err := base64.StdEncoding.DecodeString(img.Data)
	if err != nil {
		t.Fatal(err)
	}
	im, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if im.Bounds().Dx() != 64 || im.Bounds().Dy() != 48 {
		t.Fatalf("image %v, want 64×48", im.Bounds())
	}
	want := testImage()
	var worst float64
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			r, g, b, _ := im.At(x, y).RGBA()
			for k, v := range [3]uint32{r >> 8, g >> 8, b >> 8} {
				worst = max(worst, math.Abs(float64(v)-float64(want.Data[3*(64*y+x)+k])))
			}
		}
	}
	if worst > 24 {
		t.Errorf("decoded image is off the gradient by up to %v levels", worst)
	}
}

// checkTF: the transform from lidar to camera, composed with the
// extrinsics (camera ← lidar), must give the identity.
func checkTF(t *testing.T, tfs []nodeTransform) {
	t.Helper()
	if len(tfs) != 1 || tfs[0].Parent != "lidar" || tfs[0].Child != "camera" {
		t.Fatalf("transforms %+v: want one, lidar → camera", tfs)
	}
	q, tr := tfs[0].Rotation, tfs[0].Translation
	x, y, z, w := q[0], q[1], q[2], q[3]
	pose := [12]float64{ // p_lidar = R·p_cam + t
		1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w), tr[0],
		2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w), tr[1],
		2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y), tr[2],
	}
	m := testExtrinsics
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			v := pose[4*i+3] * m[12+j]
			for k := 0; k < 3; k++ {
				v += pose[4*i+k] * m[4*k+j]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(v-want) > 1e-12 {
				t.Errorf("pose·extrinsics [%d][%d] = %v, want %v (pose %v)", i, j, v, want, pose)
			}
		}
	}
}
