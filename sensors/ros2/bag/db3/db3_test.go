package db3_test

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/foxglove/mcap/go/mcap"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
	_ "github.com/ds3d-go/ds3d-go/sensors/ros2/bag/db3"
)

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

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// twinDefinitions serves the ros2msg schemas rosbag2 stored in the MCAP
// recordings (Options.Definitions), so that the .db3 twins of those
// recordings decode the types they store no (or a placeholder) definition
// for, test_msgs included.
func twinDefinitions(t *testing.T) func(string) (string, bool) {
	t.Helper()
	defs := map[string]string{}
	for _, rel := range []string{"talker/talker.mcap", "cdr_test/cdr_test_0.mcap", "wbag/wbag_0.mcap"} {
		fh, err := os.Open(sampledata.Shared(t, "ros2-bags/"+rel))
		if err != nil {
			t.Fatal(err)
		}
		r, err := mcap.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		info, err := r.Info()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range info.Schemas {
			defs[s.Name] = string(s.Data)
		}
		fh.Close()
	}
	return func(typ string) (string, bool) {
		d, ok := defs[typ]
		return d, ok
	}
}

type rec struct {
	topic, typ string
	log        uint64
	data       []byte
	value      string
}

func readAll(t *testing.T, path string, opts bag.Options) (*bag.Bag, []rec) {
	t.Helper()
	b, err := bag.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []rec
	var lastFile string
	var last uint64
	err = b.Messages(opts, func(m *bag.Message) error {
		if m.File != lastFile {
			lastFile, last = m.File, 0
		}
		if m.LogTime < last {
			return m.Errorf("log time %d after %d in one file", m.LogTime, last)
		}
		last = m.LogTime
		v, err := m.Decode()
		if err != nil {
			return err
		}
		s, _ := m.Schema()
		used, err := s.Skip(m.Data)
		if err != nil || len(m.Data)-used > 7 {
			return m.Errorf("schema walk used %d of %d bytes (%v)", used, len(m.Data), err)
		}
		out = append(out, rec{m.Topic, m.Type, m.LogTime, bytes.Clone(m.Data), render(v)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, out
}

// render writes a decoded value out in full (nested messages included).
func render(v any) string {
	switch x := v.(type) {
	case *ros2.Message:
		var b strings.Builder
		b.WriteString(x.Type + "{")
		for _, f := range x.Fields {
			b.WriteString(f.Name + ":" + render(f.Value) + " ")
		}
		return b.String() + "}"
	case []any:
		var b strings.Builder
		b.WriteString("[")
		for _, e := range x {
			b.WriteString(render(e) + " ")
		}
		return b.String() + "]"
	case float64:
		return fmt.Sprintf("%x", x) // exact, NaN included
	default:
		return fmt.Sprintf("%#v", x)
	}
}

// TestDB3Twins: rosbag2 stored the talker, wbag (split over five files)
// and cdr_test recordings in both storages. Every message of the .db3
// bags decodes and equals its MCAP twin message for message (topic, type,
// time, bytes and decoded value); counts equal metadata.yaml.
func TestDB3Twins(t *testing.T) {
	defs := twinDefinitions(t)
	for _, name := range []string{"talker", "wbag", "cdr_test"} {
		t.Run(name, func(t *testing.T) { compareTwins(t, name, defs) })
	}
}

// TestDB3BuiltinDefinitions: talker.db3 stores placeholder definitions
// ("uint8 level" for rcl_interfaces/msg/Log); they do not fit its messages,
// so the reader takes the built-in definitions of sensors/ros2, and every
// message still equals its MCAP twin decoded through the schema rosbag2
// stored there.
func TestDB3BuiltinDefinitions(t *testing.T) {
	compareTwins(t, "talker", nil)
}

func compareTwins(t *testing.T, name string, defs func(string) (string, bool)) {
	root := sampledata.Shared(t, "ros2-bags")
	b, got := readAll(t, filepath.Join(root, "sqlite3", name), bag.Options{Definitions: defs})
	_, want := readAll(t, filepath.Join(root, name), bag.Options{})
	if b.Storage != "sqlite3" {
		t.Errorf("storage %q", b.Storage)
	}
	md := b.Metadata.Info
	if uint64(len(got)) != md.MessageCount {
		t.Errorf("%d messages, metadata.yaml says %d", len(got), md.MessageCount)
	}
	counts := map[string]uint64{}
	for _, r := range got {
		counts[r.topic]++
	}
	for _, tp := range md.Topics {
		if counts[tp.Topic.Name] != tp.MessageCount {
			t.Errorf("%s: %d messages, metadata.yaml says %d", tp.Topic.Name, counts[tp.Topic.Name], tp.MessageCount)
		}
	}
	// Within equal timestamps the storages may order differently.
	order := func(a, b rec) int {
		return cmp.Or(cmp.Compare(a.log, b.log), strings.Compare(a.topic, b.topic), bytes.Compare(a.data, b.data))
	}
	slices.SortStableFunc(got, order)
	slices.SortStableFunc(want, order)
	if len(got) != len(want) {
		t.Fatalf("%d messages, MCAP twin has %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.topic != w.topic || g.log != w.log || !bytes.Equal(g.data, w.data) || g.value != w.value || g.typ != w.typ {
			t.Fatalf("message %d: db3 %s %s %d %s, MCAP %s %s %d %s", i, g.topic, g.typ, g.log, g.value, w.topic, w.typ, w.log, w.value)
		}
	}
}

// TestDB3Split: the split .db3 bag is read file after file in
// metadata.yaml's order, each in timestamp order; a bare .db3 opens too,
// and topic and time filters select the same messages as on the MCAP twin.
func TestDB3Split(t *testing.T) {
	root := sampledata.Shared(t, "ros2-bags")
	b, err := bag.Open(filepath.Join(root, "sqlite3/wbag"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Files) != 5 {
		t.Fatalf("%d files", len(b.Files))
	}
	file := 0
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		k := indexOf(b.Files, m.File)
		if k < file {
			return m.Errorf("file %d after file %d", k, file)
		}
		file = k
		return nil
	})
	if err != nil || file != 4 {
		t.Fatalf("last file %d, err %v", file, err)
	}
	opts := bag.Options{Topics: []string{"AAA", "CCC"}, StartNanos: 2700, EndNanos: 2900, Definitions: twinDefinitions(t)}
	_, got := readAll(t, filepath.Join(root, "sqlite3/wbag"), opts)
	_, want := readAll(t, filepath.Join(root, "wbag"), opts)
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("filtered: %d messages, MCAP twin %d", len(got), len(want))
	}
	for _, r := range got {
		if (r.topic != "AAA" && r.topic != "CCC") || r.log < 2700 || r.log >= 2900 {
			t.Fatalf("filter let through %s at %d", r.topic, r.log)
		}
	}
	if !bag.IsBag(filepath.Join(root, "sqlite3/talker/talker.db3")) || !bag.IsBag(filepath.Join(root, "sqlite3/talker")) {
		t.Error("IsBag refuses a .db3 bag")
	}
	// A bare .db3, in a folder whose name needs escaping in a SQLite URI.
	raw, err := os.ReadFile(filepath.Join(root, "sqlite3/talker/talker.db3"))
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(t.TempDir(), "a b#c?d%20")
	must(t, os.Mkdir(odd, 0o755))
	must(t, os.WriteFile(filepath.Join(odd, "talker.db3"), raw, 0o444))
	info, err := bag.Inspect(filepath.Join(odd, "talker.db3"), true)
	if err != nil {
		t.Fatal(err)
	}
	if info.Storage != "sqlite3" || info.Messages != 20 || len(info.Topics) != 2 {
		t.Errorf("inspect bare .db3: %+v", info)
	}
}

// makeDB3 writes a .db3 file in rosbag2's older layout (no definitions).
func makeDB3(t *testing.T, path string, typ string, msgs ...[]byte) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE topics(id INTEGER PRIMARY KEY,name TEXT NOT NULL,type TEXT NOT NULL,serialization_format TEXT NOT NULL,offered_qos_profiles TEXT NOT NULL)`,
		`CREATE TABLE messages(id INTEGER PRIMARY KEY,topic_id INTEGER NOT NULL,timestamp INTEGER NOT NULL, data BLOB NOT NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO topics VALUES (1, '/x', ?, 'cdr', '')`, typ); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if _, err := db.Exec(`INSERT INTO messages(topic_id, timestamp, data) VALUES (1, ?, ?)`, 100-i, m); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDB3Errors: a type whose definition is nowhere is listed but says so
// on Decode; corrupt and foreign files give errors naming the file.
func TestDB3Errors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "unknown.db3")
	makeDB3(t, p, "my_pkg/msg/Thing", cdrString("a"), cdrString("b"))
	b, err := bag.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	var times []uint64
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		times = append(times, m.LogTime)
		_, err := m.Decode()
		if err == nil || !strings.Contains(err.Error(), "definition of my_pkg/msg/Thing is unknown") ||
			!strings.Contains(err.Error(), "older .db3 files") || !strings.Contains(err.Error(), p) {
			return fmt.Errorf("decode error %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(times, []uint64{99, 100}) {
		t.Errorf("times %v, want timestamp order [99 100]", times)
	}
	info, err := bag.Inspect(p, false)
	if err != nil || info.Messages != 2 || info.Topics[0].Type != "my_pkg/msg/Thing" {
		t.Errorf("listing without definitions: %+v, %v", info, err)
	}

	src, err := os.ReadFile(sampledata.Shared(t, "ros2-bags/sqlite3/talker/talker.db3"))
	if err != nil {
		t.Fatal(err)
	}
	garbled := bytes.Clone(src)
	for i := 4096; i < len(garbled); i += 7 { // every page after the first
		garbled[i] ^= 0x5a
	}
	bad := map[string][]byte{
		"empty.db3":     {},
		"text.db3":      []byte("this is not a database at all, just some text\n"),
		"truncated.db3": src[:len(src)/3],
		"header.db3":    src[:100],
		"garbled.db3":   garbled,
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
	// A SQLite file that is no bag.
	other := filepath.Join(dir, "other.db3")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t(x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := bag.Inspect(other, false); err == nil || !strings.Contains(err.Error(), "not a rosbag2 SQLite3 file") {
		t.Errorf("foreign SQLite file: %v", err)
	}
}
