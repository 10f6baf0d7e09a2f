package bag_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

func msgDef(t testing.TB, typ string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "msg", strings.ReplaceAll(typ, "/", "_")+".msg"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cdrPointCloud2 lays out a sensor_msgs/msg/PointCloud2 of x, y, z,
// intensity float32 points by the CDR rules (little endian, each primitive
// aligned to its size from the end of the 4-byte encapsulation header).
func cdrPointCloud2(dst []byte, stampNs int64, frame string, points []byte) []byte {
	b := append(dst[:0], 0, 1, 0, 0)
	align := func(n int) {
		for (len(b)-4)%n != 0 {
			b = append(b, 0)
		}
	}
	u32 := func(v uint32) { align(4); b = binary.LittleEndian.AppendUint32(b, v) }
	str := func(s string) { u32(uint32(len(s) + 1)); b = append(b, s...); b = append(b, 0) }
	u32(uint32(stampNs / 1e9))
	u32(uint32(stampNs % 1e9))
	str(frame)
	n := uint32(len(points) / 16)
	u32(1)
	u32(n)
	u32(4)
	for k, name := range []string{"x", "y", "z", "intensity"} {
		str(name)
		u32(uint32(4 * k))
		b = append(b, 7) // FLOAT32
		u32(1)
	}
	b = append(b, 0) // little endian
	u32(16)
	u32(16 * n)
	u32(uint32(len(points)))
	b = append(b, points...)
	return append(b, 1) // is_dense
}

// kittiClouds are two point sets of the bundled KITTI frame 000000: all
// its 115384 points, and its first 40000 (two clouds that differ in size
// and content).
func kittiClouds(t testing.TB) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(sampledata.Sample(t, "kitti/velodyne/000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{raw, raw[:40000*16]}
}

// writeKITTIBag writes two KITTI clouds and three strings with Writer.
func writeKITTIBag(t *testing.T, dir string, opts bag.WriterOptions) [][]byte {
	t.Helper()
	w, err := bag.Create(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	velo, err := w.AddTopic("/kitti/velo", ros2.PointCloud2Type, msgDef(t, ros2.PointCloud2Type))
	must(t, err)
	chat, err := w.AddTopic("/chatter", "std_msgs/msg/String", "string data\n")
	must(t, err)
	clouds := kittiClouds(t)
	const t0 = 1_317_000_000_000_000_000
	for i, raw := range clouds {
		ts := int64(t0 + i*100_000_000)
		must(t, w.Write(velo, ts, ts-1000, cdrPointCloud2(nil, ts, "velo_link", raw)))
	}
	for i := range 3 {
		// Earlier than the clouds on purpose: readers order by log time.
		ts := int64(t0 - 50_000_000 + i*10_000_000)
		must(t, w.Write(chat, ts, ts, cdrString(fmt.Sprintf("hello %d", i))))
	}
	must(t, w.Close())
	return clouds
}

// TestWriterRoundTrip: a bag written by Writer reads back with this
// package's reader message for message (points bit for bit), and its
// metadata.yaml parses and has the keys, in the order, of the version-8
// metadata.yaml that rosbag2 itself wrote (bag_with_topics_and_service_events).
func TestWriterRoundTrip(t *testing.T) {
	for _, comp := range []string{"none", "lz4", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "kitti_bag")
			clouds := writeKITTIBag(t, dir, bag.WriterOptions{Compression: comp, ChunkSize: 1 << 20})
			b, err := bag.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Files) != 1 || filepath.Base(b.Files[0]) != "kitti_bag_0.mcap" {
				t.Fatalf("files %v", b.Files)
			}
			var topics []string
			var last uint64
			k := 0
			err = b.Messages(bag.Options{}, func(m *bag.Message) error {
				if m.LogTime < last {
					return m.Errorf("not in log-time order")
				}
				last = m.LogTime
				topics = append(topics, m.Topic)
				v, err := m.Decode()
				if err != nil {
					return err
				}
				if m.Topic == "/kitti/velo" {
					f, _, err := ros2.DecodePointCloud2Frame(m.Data, nil)
					if err != nil {
						return m.Errorf("%w", err)
					}
					if !bytes.Equal(f.Data[:f.Bytes()], clouds[k]) {
						return m.Errorf("points differ from the .bin")
					}
					if m.PublishTime != m.LogTime-1000 {
						return m.Errorf("publish time %d", m.PublishTime)
					}
					k++
				} else if s := v.Get("data"); !strings.HasPrefix(s.(string), "hello ") {
					return m.Errorf("data %q", s)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := "/chatter /chatter /chatter /kitti/velo /kitti/velo"; strings.Join(topics, " ") != want {
				t.Errorf("order %v, want %s", topics, want)
			}
			md := b.Metadata.Info
			if md.Version != bag.MetadataVersion || md.MessageCount != 5 || md.StorageIdentifier != "mcap" {
				t.Errorf("metadata %+v", md)
			}
			if md.StartingTime.Nanos != 1_317_000_000_000_000_000-50_000_000 || md.Duration.Nanoseconds != 150_000_000 {
				t.Errorf("start %d duration %d", md.StartingTime.Nanos, md.Duration.Nanoseconds)
			}
			ours, err := os.ReadFile(filepath.Join(dir, "metadata.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := os.ReadFile(sampledata.Shared(t, "ros2-bags/bag_with_topics_and_service_events/metadata.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if a, b := yamlKeys(t, ours), yamlKeys(t, theirs); !reflect.DeepEqual(a, b) {
				t.Errorf("metadata.yaml keys\n%v\nwant (rosbag2's version 8)\n%v", a, b)
			}
		})
	}
}

// yamlKeys lists a YAML document's mapping keys as paths, in document
// order, each sequence's items folded into one.
func yamlKeys(t *testing.T, doc []byte) []string {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := path + "." + n.Content[i].Value
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(&n, "")
	return out
}

// TestWriterSplit: MaxFileBytes splits the bag into _0, _1, … files that
// metadata.yaml lists with their own counts and times; reading the bag
// gives every message once.
func TestWriterSplit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "split")
	w, err := bag.Create(dir, bag.WriterOptions{Compression: "lz4", ChunkSize: 4096, MaxFileBytes: 20_000, CustomData: map[string]string{"robot": "kitti car", "run": "7"}, ROSDistro: "jazzy"})
	must(t, err)
	a, err := w.AddTopic("/a", "std_msgs/msg/String", "string data")
	must(t, err)
	const n = 2000
	for i := range n {
		must(t, w.Write(a, int64(1000+i), 0, cdrString(fmt.Sprintf("message %05d %s", i, strings.Repeat("x", i%50)))))
		if i == n/2 {
			b, err := w.AddTopic("/b", "my_pkg/msg/Nope", "")
			if err == nil || !strings.Contains(err.Error(), "no built-in definition") || !strings.Contains(err.Error(), dir) {
				t.Errorf("AddTopic without a definition: %v %v", b, err)
			}
			b, err = w.AddTopic("/b", "std_msgs/msg/String", "string data")
			must(t, err)
			must(t, w.Write(b, 5000, 0, cdrString("late topic")))
		}
	}
	must(t, w.Close())
	bg, err := bag.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	md := bg.Metadata.Info
	if len(bg.Files) < 3 {
		t.Fatalf("%d files", len(bg.Files))
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "metadata.yaml"))
	var full struct {
		Info struct {
			Files []struct {
				Path  string `yaml:"path"`
				Start struct {
					Nanos int64 `yaml:"nanoseconds_since_epoch"`
				} `yaml:"starting_time"`
				Count uint64 `yaml:"message_count"`
			} `yaml:"files"`
			CustomData map[string]string `yaml:"custom_data"`
			ROSDistro  string            `yaml:"ros_distro"`
		} `yaml:"rosbag2_bagfile_information"`
	}
	must(t, yaml.Unmarshal(raw, &full))
	var sum uint64
	for i, f := range full.Info.Files {
		if f.Path != fmt.Sprintf("split_%d.mcap", i) || md.RelativeFilePaths[i] != f.Path {
			t.Errorf("file %d: %s", i, f.Path)
		}
		sum += f.Count
	}
	if sum != n+1 || md.MessageCount != n+1 {
		t.Errorf("per-file counts sum to %d, total %d, want %d", sum, md.MessageCount, n+1)
	}
	if full.Info.CustomData["robot"] != "kitti car" || full.Info.ROSDistro != "jazzy" {
		t.Errorf("custom_data %v ros_distro %q", full.Info.CustomData, full.Info.ROSDistro)
	}
	seen := map[string]bool{}
	err = bg.Messages(bag.Options{}, func(m *bag.Message) error {
		v, err := m.Decode()
		if err != nil {
			return err
		}
		s := v.Get("data").(string)
		if seen[s] {
			return m.Errorf("%q read twice", s)
		}
		seen[s] = true
		f := full.Info.Files[indexOf(bg.Files, m.File)]
		if int64(m.LogTime) < f.Start.Nanos {
			return m.Errorf("log time %d before its file's starting_time %d", m.LogTime, f.Start.Nanos)
		}
		return nil
	})
	if err != nil || len(seen) != n+1 {
		t.Fatalf("%d distinct messages, err %v", len(seen), err)
	}
}

// TestWriterErrors: misuse gives errors that name the bag.
func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "x"), nil, 0o644))
	if _, err := bag.Create(dir, bag.WriterOptions{}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("non-empty folder: %v", err)
	}
	p := filepath.Join(t.TempDir(), "b")
	if _, err := bag.Create(p, bag.WriterOptions{Compression: "gzip"}); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("compression: %v", err)
	}
	w, err := bag.Create(p, bag.WriterOptions{})
	must(t, err)
	id, err := w.AddTopic("/s", "std_msgs/msg/String", "string data")
	must(t, err)
	// A standard type needs no definition text: sensors/ros2 has it.
	if _, err := w.AddTopic("/camera_info", "sensor_msgs/msg/CameraInfo", ""); err != nil {
		t.Errorf("built-in definition: %v", err)
	}
	for name, err := range map[string]error{
		"duplicate":   second(w.AddTopic("/s", "std_msgs/msg/String", "string data")),
		"bad def":     second(w.AddTopic("/t", "my/msg/T", "Missing thing")),
		"other def":   second(w.AddTopic("/u", "std_msgs/msg/String", "string other")),
		"unknown id":  w.Write(id+5, 1, 1, nil),
		"negative ts": w.Write(id, -1, 0, nil),
	} {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v does not name the bag", name, err)
		}
	}
	must(t, w.Close())
	if err := w.Write(id, 1, 1, cdrString("late")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("write after close: %v", err)
	}
	// An empty bag is still a bag rosbag2 can open.
	b, err := bag.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if md := b.Metadata.Info; md.MessageCount != 0 || md.StartingTime.Nanos != 1<<63-1 {
		t.Errorf("empty bag metadata %+v", md)
	}
}

func second[T any](_ T, err error) error { return err }

// TestNPMReadsOurBag: the MCAP authors' indexed reader (@mcap/core, CRCs
// checked) and Foxglove's CDR reader read Writer's lz4 and zstd bags:
// profile, schemas, channels, statistics and every message's times and
// values (each cloud's data by sha256 of the .bin) as written.
func TestNPMReadsOurBag(t *testing.T) {
	node := testenv.Node(t, filepath.Join("testdata", "npm"))
	for _, comp := range []string{"lz4", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ours")
			clouds := writeKITTIBag(t, dir, bag.WriterOptions{Compression: comp, ChunkSize: 64 << 10})
			out := testenv.Output(t, exec.Command(node, filepath.Join("testdata", "npm", "bag.mjs"), "read", filepath.Join(dir, "ours_0.mcap")))
			var got struct {
				Profile    string
				Statistics struct {
					MessageCount         string
					MessageStartTime     string
					MessageEndTime       string
					ChannelMessageCounts map[string]string
					ChunkCount           int
				}
				Chunks  []struct{ Compression string }
				Schemas []struct {
					ID             int
					Name, Encoding string
				}
				Channels []struct {
					ID              int
					Topic           string
					SchemaID        int
					MessageEncoding string
					Metadata        map[string]string
				}
				Metadata []struct {
					Name     string
					Metadata map[string]string
				}
				Messages []struct {
					Topic, Type, LogTime, PublishTime, Sha256 string
					Sequence                                  int
					Value                                     map[string]any
				}
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			st := got.Statistics
			if got.Profile != "ros2" || st.MessageCount != "5" || st.MessageStartTime != "1316999999950000000" || st.MessageEndTime != "1317000000100000000" {
				t.Errorf("header/statistics: %s %+v", got.Profile, st)
			}
			if len(got.Chunks) < 2 || got.Chunks[0].Compression != comp || st.ChunkCount != len(got.Chunks) {
				t.Errorf("chunks %+v (statistics say %d)", got.Chunks, st.ChunkCount)
			}
			if len(got.Schemas) != 2 || got.Schemas[0].Name != ros2.PointCloud2Type || got.Schemas[0].Encoding != "ros2msg" {
				t.Errorf("schemas %+v", got.Schemas)
			}
			for _, c := range got.Channels {
				if c.MessageEncoding != "cdr" || !strings.Contains(c.Metadata["offered_qos_profiles"], "reliability: 1") {
					t.Errorf("channel %+v", c)
				}
			}
			if len(got.Metadata) != 1 || got.Metadata[0].Name != "rosbag2" || !strings.Contains(got.Metadata[0].Metadata["serialized_metadata"], "message_count: 5") {
				t.Errorf("rosbag2 metadata record %+v", got.Metadata)
			}
			var topics []string
			k := 0
			for _, m := range got.Messages {
				topics = append(topics, m.Topic)
				if m.Topic == "/kitti/velo" {
					sum := sha256.Sum256(clouds[k])
					h := m.Value["header"].(map[string]any)
					ts := fmt.Sprintf("%.0f%09.0f", h["stamp"].(map[string]any)["sec"], h["stamp"].(map[string]any)["nanosec"])
					if m.Sha256 != hex.EncodeToString(sum[:]) || m.Value["width"] != float64(len(clouds[k])/16) || ts != m.LogTime || h["frame_id"] != "velo_link" {
						t.Errorf("cloud %d: %s width %v stamp %s", k, m.Sha256, m.Value["width"], ts)
					}
					k++
				} else if !strings.HasPrefix(m.Value["data"].(string), "hello ") || m.LogTime != m.PublishTime {
					t.Errorf("string message %+v", m)
				}
			}
			if want := "/chatter /chatter /chatter /kitti/velo /kitti/velo"; strings.Join(topics, " ") != want {
				t.Errorf("order %v, want %s", topics, want)
			}
		})
	}
}

// TestReadNPMBag: bags written by @mcap/core with Foxglove's CDR writer
// (chunked lz4 and zstd) read here: the clouds equal the KITTI .bin (all of
// it, then its first 40000 points) bit for bit, and CameraInfo and TFMessage decode through the schemas that writer
// stored to the values it serialised.
func TestReadNPMBag(t *testing.T) {
	node := testenv.Node(t, filepath.Join("testdata", "npm"))
	clouds := kittiClouds(t)
	bin0 := sampledata.Sample(t, "kitti/velodyne/000000.bin")
	bin1 := filepath.Join(t.TempDir(), "first40000.bin")
	must(t, os.WriteFile(bin1, clouds[1], 0o644))
	for _, comp := range []string{"lz4", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "npm.mcap")
			out := testenv.Output(t, exec.Command(node, filepath.Join("testdata", "npm", "bag.mjs"), "write", path, comp, bin0, bin1))
			var wrote struct {
				Messages []struct {
					Topic, LogTime, PublishTime string
					Value                       any
				}
			}
			if err := json.Unmarshal(out, &wrote); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			b, err := bag.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			k, i := 0, 0
			err = b.Messages(bag.Options{}, func(m *bag.Message) error {
				want := wrote.Messages[i]
				i++
				if m.Topic != want.Topic || fmt.Sprint(m.LogTime) != want.LogTime || fmt.Sprint(m.PublishTime) != want.PublishTime {
					return m.Errorf("topic/times %s %d %d, npm wrote %+v", m.Topic, m.LogTime, m.PublishTime, want)
				}
				v, err := m.Decode()
				if err != nil {
					return err
				}
				if m.Type == ros2.PointCloud2Type {
					f, _, err := ros2.DecodePointCloud2Frame(m.Data, nil)
					if err != nil {
						return m.Errorf("%w", err)
					}
					if !bytes.Equal(f.Data[:f.Bytes()], clouds[k]) {
						return m.Errorf("points differ from the .bin")
					}
					k++
					return nil
				}
				gotJSON, err := json.Marshal(plain(v))
				if err != nil {
					return err
				}
				var got any
				must(t, json.Unmarshal(gotJSON, &got))
				if !reflect.DeepEqual(got, want.Value) {
					return m.Errorf("decoded\n%s\nnpm wrote\n%v", gotJSON, want.Value)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if k != 2 || i != len(wrote.Messages) {
				t.Fatalf("%d clouds, %d of %d messages", k, i, len(wrote.Messages))
			}
		})
	}
}

// plain turns a decoded message into maps, slices and numbers as JSON
// would hold them.
func plain(v any) any {
	switch x := v.(type) {
	case *ros2.Message:
		m := map[string]any{}
		for _, f := range x.Fields {
			m[f.Name] = plain(f.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case []byte:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = float64(e)
		}
		return out
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

// TestWriterAllocs: writing a message allocates nothing in steady state
// (chunks of many small messages; a chunk flush costs the library's own
// few allocations for its indexes, spread over the chunk).
func TestWriterAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	for _, comp := range []string{"none", "lz4", "zstd"} {
		w, err := bag.Create(filepath.Join(t.TempDir(), "a"), bag.WriterOptions{Compression: comp})
		must(t, err)
		id, err := w.AddTopic("/s", "std_msgs/msg/String", "string data")
		must(t, err)
		data := cdrString(strings.Repeat("payload ", 20))
		ts := int64(0)
		write := func() {
			ts++
			if err := w.Write(id, ts, ts, data); err != nil {
				t.Fatal(err)
			}
		}
		for range 20000 {
			write()
		}
		if a := testing.AllocsPerRun(20000, write); a > 0.01 {
			t.Errorf("%s: %.3f allocations per message", comp, a)
		}
		must(t, w.Close())
	}
}

// BenchmarkWriteKITTI writes KITTI frame 000000 (115384 points, a 1.85 MB
// PointCloud2), one message per op, into a bag of uncompressed, lz4 or
// zstd chunks: go test -run=^$ -bench=WriteKITTI ./sensors/ros2/bag/
// (BenchmarkLZ4CLI is liblz4's command on the same bytes, BenchmarkLZ4Frame
// the lz4 frame writer alone).
func BenchmarkWriteKITTI(b *testing.B) {
	for _, comp := range []string{"none", "lz4", "zstd"} {
		b.Run(comp, func(b *testing.B) {
			msg := cdrPointCloud2(nil, 1, "velo_link", kittiClouds(b)[0])
			w, err := bag.Create(filepath.Join(b.TempDir(), "bench"), bag.WriterOptions{Compression: comp, MaxFileBytes: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			id, err := w.AddTopic("/kitti/velo", ros2.PointCloud2Type, msgDef(b, ros2.PointCloud2Type))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := w.Write(id, int64(i), int64(i), msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
