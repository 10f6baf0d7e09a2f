package bag_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foxglove/mcap/go/mcap"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// TestRealBags reads rosbag2's own recorded bags: every message decodes
// through the schema stored in the file and uses all its bytes (up to the
// trailing alignment padding), and the counts equal metadata.yaml's.
func TestRealBags(t *testing.T) {
	root := sampledata.Shared(t, "ros2-bags")
	for _, name := range []string{"cdr_test", "talker", "wbag", "bag_with_topics_and_service_events", "test_bag_for_seek"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			b, err := bag.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]uint64{}
			var n uint64
			err = b.Messages(bag.Options{}, func(m *bag.Message) error {
				if _, err := m.Decode(); err != nil {
					return err
				}
				s, _ := m.Schema()
				used, err := s.Skip(m.Data)
				if err != nil {
					return m.Errorf("skip: %w", err)
				}
				if pad := len(m.Data) - used; pad < 0 || pad > 7 {
					return m.Errorf("schema walk used %d of %d bytes", used, len(m.Data))
				}
				counts[m.Topic]++
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			md := b.Metadata.Info
			if n != md.MessageCount {
				t.Errorf("read %d messages, metadata.yaml says %d", n, md.MessageCount)
			}
			for _, tp := range md.Topics {
				if counts[tp.Topic.Name] != tp.MessageCount {
					t.Errorf("%s: read %d messages, metadata.yaml says %d", tp.Topic.Name, counts[tp.Topic.Name], tp.MessageCount)
				}
			}
		})
	}
}

// TestCDRValues checks decoded values of rosbag2's cdr_test bag against
// what its test recorder wrote (test_msgs BasicTypes and Arrays fixtures).
func TestCDRValues(t *testing.T) {
	b, err := bag.Open(sampledata.Shared(t, "ros2-bags/cdr_test"))
	if err != nil {
		t.Fatal(err)
	}
	var basic []*ros2.Message
	err = b.Messages(bag.Options{Topics: []string{"/test_topic"}}, func(m *bag.Message) error {
		v, err := m.Decode()
		basic = append(basic, v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(basic) != 3 {
		t.Fatalf("%d BasicTypes messages, want 3", len(basic))
	}
	for _, m := range basic {
		if m.Type != "test_msgs/BasicTypes" || len(m.Fields) != 13 {
			t.Fatalf("decoded %s with %d fields, want test_msgs/BasicTypes with 13", m.Type, len(m.Fields))
		}
		// Every value is of its declared kind, and the float fields are finite.
		if _, ok := m.Get("bool_value").(bool); !ok {
			t.Errorf("bool_value = %#v", m.Get("bool_value"))
		}
		if f, ok := m.Get("float64_value").(float64); !ok || math.IsNaN(f) {
			t.Errorf("float64_value = %#v", m.Get("float64_value"))
		}
		if _, ok := m.Get("int64_value").(int64); !ok {
			t.Errorf("int64_value = %#v", m.Get("int64_value"))
		}
	}
}

// TestSplitBagOrder: wbag is split over five files; the reader follows
// metadata.yaml's relative_file_paths and never goes back to an earlier file.
func TestSplitBagOrder(t *testing.T) {
	b, err := bag.Open(sampledata.Shared(t, "ros2-bags/wbag"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Files) != 5 {
		t.Fatalf("%d files, want 5", len(b.Files))
	}
	for i, f := range b.Files {
		if want := "wbag_" + string(rune('0'+i)) + ".mcap"; filepath.Base(f) != want {
			t.Errorf("file %d is %s, want %s", i, f, want)
		}
	}
	file, last, idx := 0, uint64(0), 0
	seen := map[string]int{}
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		k := indexOf(b.Files, m.File)
		if k < file {
			return m.Errorf("file %d read after file %d", k, file)
		}
		if k > file {
			file, last = k, 0
		}
		if m.LogTime < last {
			return m.Errorf("log time %d before %d within one file", m.LogTime, last)
		}
		if m.Index != idx {
			return m.Errorf("index %d, want %d", m.Index, idx)
		}
		last = m.LogTime
		idx++
		seen[m.File]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5 {
		t.Errorf("messages came from %d files, want 5", len(seen))
	}
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// TestRefused: bags a reader must not misdecode.
func TestRefused(t *testing.T) {
	root := sampledata.Shared(t, "ros2-bags")
	for _, c := range []struct{ path, want string }{
		{"wrong_rmw_test", `serialization_format "wrong_format" is not CDR`},
		{"no-such-bag", "no such file"},
	} {
		_, err := bag.Open(filepath.Join(root, c.path))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.path, err, c.want)
		}
	}
}

// TestBareMCAP reads a bag's .mcap without its metadata.yaml.
func TestBareMCAP(t *testing.T) {
	info, err := bag.Inspect(sampledata.Shared(t, "ros2-bags/talker/talker.mcap"), true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, tp := range info.Topics {
		got[tp.Name+" "+tp.Type] = tp.Messages
	}
	if got["/topic std_msgs/msg/String"] != 10 || got["/rosout rcl_interfaces/msg/Log"] != 10 {
		t.Errorf("topics %v", got)
	}
}

// TestPointCloud2KITTI: an independent writer (testdata/pointcloud2_bag.py,
// the MCAP records and CDR laid out by hand from the specs with numpy)
// turns KITTI's 000000.bin into PointCloud2 messages of four layouts; the
// frames decoded here equal numpy's values bit for bit, and the first (the
// KITTI layout) equals the .bin itself.
func TestPointCloud2KITTI(t *testing.T) {
	bin := sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin")
	out := filepath.Join(t.TempDir(), "kitti.mcap")
	testenv.RunPython(t, []string{"numpy"}, filepath.Join("..", "testdata", "pointcloud2_bag.py"), bin, out)
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bag.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		if m.Type != ros2.PointCloud2Type || m.Topic != "/kitti/velo" {
			return m.Errorf("unexpected type/topic")
		}
		if _, err := m.Decode(); err != nil { // the schema-driven path agrees on the layout
			return err
		}
		// numpy wrote each layout's x, y, z, intensity columns.
		pc, err := ros2.DecodePointCloud2(m.Data)
		if err != nil {
			return m.Errorf("%w", err)
		}
		f, err := pc.ToFrameColumns(nil, []string{"x", "y", "z", "intensity"})
		if err != nil {
			return m.Errorf("%w", err)
		}
		want, err := os.ReadFile(out + "." + string(rune('0'+k)) + ".f32")
		if err != nil {
			return err
		}
		if !bytes.Equal(f.Data[:f.Bytes()], want) {
			return m.Errorf("layout %d (%d fields, step %d): frame differs from numpy's (%d vs %d bytes)", k, len(pc.Fields), pc.PointStep, f.Bytes(), len(want))
		}
		if k == 0 && !bytes.Equal(f.Data[:f.Bytes()], raw) {
			return m.Errorf("frame differs from the .bin")
		}
		if f.Points()*16 != len(want) {
			return m.Errorf("%d points", f.Points())
		}
		k++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if k != 4 {
		t.Fatalf("%d messages, want 4", k)
	}
	info, err := bag.Inspect(out, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Topics) != 1 || len(info.Topics[0].PointFields) != 4 || info.Topics[0].Width != 115384 {
		t.Errorf("inspect: %+v", info.Topics)
	}
}

// TestChunkedCompressed writes chunked MCAP files with each compression
// through the MCAP library's writer and reads them back, indexed, in
// log-time order.
func TestChunkedCompressed(t *testing.T) {
	for _, comp := range []mcap.CompressionFormat{mcap.CompressionNone, mcap.CompressionLZ4, mcap.CompressionZSTD} {
		name := string(comp)
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.mcap")
			fh, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w, err := mcap.NewWriter(fh, &mcap.WriterOptions{Chunked: true, ChunkSize: 200, Compression: comp, IncludeCRC: true})
			if err != nil {
				t.Fatal(err)
			}
			must(t, w.WriteHeader(&mcap.Header{Profile: "ros2"}))
			must(t, w.WriteSchema(&mcap.Schema{ID: 1, Name: "std_msgs/msg/String", Encoding: "ros2msg", Data: []byte("string data\n")}))
			must(t, w.WriteChannel(&mcap.Channel{ID: 1, SchemaID: 1, Topic: "/s", MessageEncoding: "cdr"}))
			const n = 50
			for i := range n {
				// Out of log-time order on purpose: the indexed reader sorts.
				ts := uint64((i*7)%n) * 1000
				must(t, w.WriteMessage(&mcap.Message{ChannelID: 1, Sequence: uint32(i), LogTime: ts, PublishTime: ts, Data: cdrString("msg " + strings.Repeat("x", i))}))
			}
			must(t, w.Close())
			must(t, fh.Close())
			b, err := bag.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			var last uint64
			cnt := 0
			err = b.Messages(bag.Options{}, func(m *bag.Message) error {
				v, err := m.Decode()
				if err != nil {
					return err
				}
				if s := v.Get("data").(string); !strings.HasPrefix(s, "msg ") {
					return m.Errorf("data %q", s)
				}
				if m.LogTime < last {
					return m.Errorf("not in log-time order")
				}
				last = m.LogTime
				cnt++
				return nil
			})
			if err != nil || cnt != n {
				t.Fatalf("%d messages, err %v", cnt, err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func cdrString(s string) []byte {
	b := []byte{0, 1, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)+1))
	b = append(b, s...)
	return append(b, 0)
}

// TestBadFiles: truncated files and bad magic give errors naming the file.
func TestBadFiles(t *testing.T) {
	src, err := os.ReadFile(sampledata.Shared(t, "ros2-bags/talker/talker.mcap"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := map[string][]byte{
		"empty.mcap":     {},
		"magic.mcap":     append([]byte("NOTMCAP!"), src[8:]...),
		"truncated.mcap": src[:len(src)/2],
		"short.mcap":     src[:20],
		"tail.mcap":      src[:len(src)-3],
	}
	for name, data := range bad {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, data, 0o644))
		_, err := bag.Inspect(p, true)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	// metadata.yaml problems.
	for name, md := range map[string]string{
		"version": "rosbag2_bagfile_information:\n  version: 12\n  storage_identifier: mcap\n  relative_file_paths: [a.mcap]\n",
		"nofiles": "rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: mcap\n",
		"escape":  "rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: mcap\n  relative_file_paths: [../x.mcap]\n",
		"missing": "rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: mcap\n  relative_file_paths: [gone.mcap]\n",
		"yaml":    "rosbag2_bagfile_information: [\n",
	} {
		d := filepath.Join(dir, name)
		must(t, os.Mkdir(d, 0o755))
		must(t, os.WriteFile(filepath.Join(d, "metadata.yaml"), []byte(md), 0o644))
		if _, err := bag.Open(d); err == nil || !strings.Contains(err.Error(), "metadata.yaml") {
			t.Errorf("%s: error %v, want one naming metadata.yaml", name, err)
		}
	}
}

// TestSeekByTime: test_bag_for_seek holds five messages at 1.0, 1.1, …,
// 1.4 s; a [1.1 s, 1.3 s) window yields two of them.
func TestSeekByTime(t *testing.T) {
	b, err := bag.Open(sampledata.Shared(t, "ros2-bags/test_bag_for_seek"))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	err = b.Messages(bag.Options{StartNanos: 1_100_000_000, EndNanos: 1_300_000_000}, func(m *bag.Message) error {
		got = append(got, m.LogTime)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 1_100_000_000 || got[1] != 1_200_000_000 {
		t.Errorf("log times %v, want [1.1e9 1.2e9]", got)
	}
}
