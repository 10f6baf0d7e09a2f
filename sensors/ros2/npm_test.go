package ros2_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// The npm reference (testdata/npm/ref.js) serializes sample messages with
// @foxglove/rosmsg2-serialization from the built-in definitions and reads
// back the bytes ds3d-go writes.

type npmSample struct {
	Type   string          `json:"type"`
	Name   string          `json:"name"`
	Hex    string          `json:"hex"`
	Value  map[string]any  `json:"value"`
	Expect json.RawMessage `json:"expect"`
	bytes  []byte
}

var npmCache struct {
	sync.Mutex
	samples []npmSample
}

// npmDefs writes every built-in definition to a JSON file for ref.js.
func npmDefs(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(npmDefMap(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "defs.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// npmDefMap maps every built-in type to its definition.
func npmDefMap(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, typ := range ros2.Definitions() {
		text, ok := ros2.Definition(typ)
		if !ok {
			t.Fatalf("Definition(%s) missing though Definitions lists it", typ)
		}
		m[typ] = text
	}
	return m
}

func npmRun(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	dir, err := filepath.Abs("testdata/npm")
	if err != nil {
		t.Fatal(err)
	}
	node := testenv.Node(t, dir)
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "ref.js")}, args...)...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return testenv.Output(t, cmd)
}

// npmSamples returns ref.js's sample messages (run once per test binary).
func npmSamples(t *testing.T) []npmSample {
	t.Helper()
	npmCache.Lock()
	defer npmCache.Unlock()
	if npmCache.samples != nil {
		return npmCache.samples
	}
	kitti := sampledata.Shared(t, "kitti-object")
	out := npmRun(t, nil, "samples", npmDefs(t), kitti)
	var s []npmSample
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("ref.js samples: %v", err)
	}
	for i := range s {
		b, err := hex.DecodeString(s[i].Hex)
		if err != nil {
			t.Fatal(err)
		}
		s[i].bytes = b
	}
	npmCache.samples = s
	return s
}

func samplesOf(t *testing.T, typ string) []npmSample {
	var out []npmSample
	for _, s := range npmSamples(t) {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatalf("ref.js wrote no %s sample", typ)
	}
	return out
}

// npmServer is one `ref.js serve` process shared by the tests: starting
// node per message costs more than the tests themselves.
var npmServer struct {
	sync.Mutex
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer // not the test binary's own, which go test waits on
	err    error
}

// npmDecode has ref.js read messages ds3d-go wrote.
func npmDecode(t *testing.T, typ string, msgs ...[]byte) []map[string]any {
	t.Helper()
	npmServer.Lock()
	defer npmServer.Unlock()
	if npmServer.in == nil && npmServer.err == nil {
		dir, err := filepath.Abs("testdata/npm")
		if err != nil {
			t.Fatal(err)
		}
		node := testenv.Node(t, dir)
		cmd := exec.Command(node, filepath.Join(dir, "ref.js"), "serve", "-")
		cmd.Dir = dir
		cmd.Stderr = &npmServer.stderr
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			npmServer.err = err
		} else {
			npmServer.in, npmServer.out = in, bufio.NewReaderSize(out, 1<<20)
			defs, _ := json.Marshal(npmDefMap(t))
			if _, err := in.Write(append(defs, '\n')); err != nil {
				npmServer.err = err
			}
		}
	}
	if npmServer.err != nil {
		t.Fatalf("reference ref.js serve could not start: %v", npmServer.err)
	}
	vals := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		req, _ := json.Marshal(map[string]string{"type": typ, "hex": hex.EncodeToString(m)})
		if _, err := npmServer.in.Write(append(req, '\n')); err != nil {
			t.Fatalf("reference ref.js serve: %v", err)
		}
		line, err := npmServer.out.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reference ref.js serve: %v\n%s", err, npmServer.stderr.String())
		}
		var res struct {
			Value map[string]any `json:"value"`
			Error string         `json:"error"`
		}
		if err := json.Unmarshal(line, &res); err != nil || res.Error != "" {
			t.Fatalf("reference could not read our %s: %v %s", typ, err, res.Error)
		}
		vals[i] = res.Value
	}
	return vals
}

// JSON accessors.

func jget(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func jnum(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string: // non-finite, or a bigint
		var f float64
		fmt.Sscan(x, &f)
		if x == "NaN" {
			return math.NaN()
		}
		return f
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

func jbytes(v any) []byte {
	s, _ := jget(v, "$b64").(string)
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

func jfloats(v any) []float64 {
	a, _ := v.([]any)
	out := make([]float64, len(a))
	for i, x := range a {
		out[i] = jnum(x)
	}
	return out
}

func jvec(v any, keys ...string) []float64 {
	out := make([]float64, len(keys))
	for i, k := range keys {
		out[i] = jnum(jget(v, k))
	}
	return out
}

func jheader(v any) ros2.Header {
	return ros2.Header{Sec: int32(jnum(jget(v, "stamp", "sec"))), Nanosec: uint32(jnum(jget(v, "stamp", "nanosec"))), FrameID: jget(v, "frame_id").(string)}
}

// genericEqual compares a value of the schema-driven decoder with the
// reference's JSON, field for field.
func genericEqual(got ros2.Value, want any, where string) error {
	switch g := got.(type) {
	case *ros2.Message:
		w, ok := want.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: message, reference has %T", where, want)
		}
		if len(g.Fields) != len(w) {
			return fmt.Errorf("%s: %d fields, reference %d", where, len(g.Fields), len(w))
		}
		for _, f := range g.Fields {
			wv, ok := w[f.Name]
			if !ok {
				return fmt.Errorf("%s.%s: not in the reference", where, f.Name)
			}
			if err := genericEqual(f.Value, wv, where+"."+f.Name); err != nil {
				return err
			}
		}
		return nil
	case []byte:
		if wb := jbytes(want); !bytes.Equal(g, wb) {
			if wa, ok := want.([]any); ok { // a fixed uint8 array
				return genericEqual(toAny(g), wa, where)
			}
			return fmt.Errorf("%s: bytes differ (%d vs %d)", where, len(g), len(wb))
		}
		return nil
	case []any:
		w, ok := want.([]any)
		if !ok || len(w) != len(g) {
			return fmt.Errorf("%s: %d elements, reference %v", where, len(g), want)
		}
		for i := range g {
			if err := genericEqual(g[i], w[i], fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
		return nil
	case string:
		if g != want {
			return fmt.Errorf("%s: %q, reference %v", where, g, want)
		}
		return nil
	case bool:
		if g != want {
			return fmt.Errorf("%s: %v, reference %v", where, g, want)
		}
		return nil
	case int64:
		if float64(g) != jnum(want) {
			return fmt.Errorf("%s: %d, reference %v", where, g, want)
		}
		return nil
	case uint64:
		if float64(g) != jnum(want) {
			return fmt.Errorf("%s: %d, reference %v", where, g, want)
		}
		return nil
	case float64:
		if w := jnum(want); g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
			return fmt.Errorf("%s: %v, reference %v", where, g, want)
		}
		return nil
	}
	return fmt.Errorf("%s: unexpected %T", where, got)
}

func toAny(b []byte) []any {
	out := make([]any, len(b))
	for i, v := range b {
		out[i] = uint64(v)
	}
	return out
}

// TestNpmGeneric: every sample the reference writes decodes with the
// schema-driven decoder of the built-in definition to the reference's
// values, in both byte orders.
func TestNpmGeneric(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range npmSamples(t) {
		sc, err := ros2.BuiltinSchema(s.Type)
		if err != nil {
			t.Fatal(err)
		}
		m, err := sc.Decode(s.bytes)
		if err != nil {
			t.Errorf("%s %s: %v", s.Type, s.Name, err)
			continue
		}
		if err := genericEqual(m, s.Value, s.Type+" "+s.Name); err != nil {
			t.Error(err)
		}
		if n, err := sc.Skip(s.bytes); err != nil || n != len(s.bytes) {
			t.Errorf("%s %s: Skip used %d of %d bytes (%v)", s.Type, s.Name, n, len(s.bytes), err)
		}
		seen[s.Type] = true
	}
	var missing []string
	for _, typ := range []string{"std_msgs/msg/String", "rcl_interfaces/msg/Log", "sensor_msgs/msg/PointCloud2", "sensor_msgs/msg/Image",
		"sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/CameraInfo", "tf2_msgs/msg/TFMessage", "nav_msgs/msg/Odometry",
		"vision_msgs/msg/Detection3DArray", "vision_msgs/msg/Detection2DArray", "visualization_msgs/msg/MarkerArray"} {
		if !seen[typ] {
			missing = append(missing, typ)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no reference sample of %v", missing)
	}
}

// roundTrip checks that ds3d-go's encoding of a decoded sample is the
// reference's bytes and reads back, in the reference, as its values.
func roundTrip(t *testing.T, s npmSample, ours []byte) {
	t.Helper()
	le := s.bytes[1] == 1
	if le && !bytes.Equal(ours, s.bytes) {
		t.Errorf("%s %s: our encoding differs from the reference's (%d vs %d bytes)", s.Type, s.Name, len(ours), len(s.bytes))
	}
	back := npmDecode(t, s.Type, ours)[0]
	if !reflect.DeepEqual(back, s.Value) {
		a, _ := json.Marshal(back)
		b, _ := json.Marshal(s.Value)
		t.Errorf("%s %s: the reference reads our bytes as\n%.600s\nwant\n%.600s", s.Type, s.Name, a, b)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
