package bag_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foxglove/mcap/go/mcap"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// chunkAt returns the offset of a file's first chunk and where its
// (compressed) records begin, read from the summary by the MCAP library.
func chunkAt(t *testing.T, path string) (chunk, records int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := mcap.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.Info()
	if err != nil || len(info.ChunkIndexes) == 0 {
		t.Fatalf("%s: no chunk index (%v)", path, err)
	}
	ci := info.ChunkIndexes[0]
	// opcode, length, start, end, uncompressed size, CRC, compression, records length
	return int(ci.ChunkStartOffset), int(ci.ChunkStartOffset) + 1 + 8 + 8 + 8 + 8 + 4 + 4 + len(ci.Compression) + 8
}

// TestChunkCRC: a byte flipped inside a chunk's records is caught (by the
// chunk CRC, or by the decompressor of a compressed chunk) with an error
// naming the file and the chunk's offset, before any of its messages is
// handed out: in rosbag2's own zstd-chunked talker.mcap and in an
// uncompressed chunk, where only the CRC can tell.
func TestChunkCRC(t *testing.T) {
	dir := t.TempDir()
	real := sampledata.Shared(t, "ros2-bags/talker/talker.mcap")
	ours := filepath.Join(dir, "plain")
	w, err := bag.Create(ours, bag.WriterOptions{Compression: "none"})
	must(t, err)
	id, err := w.AddTopic("/s", "std_msgs/msg/String", "string data")
	must(t, err)
	for i := range 100 {
		must(t, w.Write(id, int64(i), int64(i), cdrString(fmt.Sprintf("message %d", i))))
	}
	must(t, w.Close())
	for name, src := range map[string]string{"talker": real, "uncompressed": filepath.Join(ours, "plain_0.mcap")} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		chunk, rec := chunkAt(t, src)
		for _, at := range []int{rec + 40, rec + 700} {
			bad := bytes.Clone(data)
			bad[at] ^= 0x20
			p := filepath.Join(dir, fmt.Sprintf("%s_%d.mcap", name, at))
			must(t, os.WriteFile(p, bad, 0o644))
			b, err := bag.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			err = b.Messages(bag.Options{}, func(*bag.Message) error { n++; return nil })
			want := fmt.Sprintf("chunk at offset %d", chunk)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), want) || n != 0 {
				t.Errorf("%s, byte %d flipped: %d messages, error %v; want one naming the file and %q", name, at, n, err, want)
			}
			if name == "uncompressed" && !strings.Contains(fmt.Sprint(err), "CRC mismatch") {
				t.Errorf("uncompressed chunk: %v, want a CRC mismatch", err)
			}
			// SkipCRC trusts the file: whatever goes wrong then is no CRC's.
			if name == "uncompressed" {
				err := b.Messages(bag.Options{SkipCRC: true}, func(*bag.Message) error { return nil })
				if strings.Contains(fmt.Sprint(err), "CRC mismatch") {
					t.Errorf("SkipCRC: %v", err)
				}
			}
		}
	}
}

// TestMissingSchema: a channel that names a schema the file does not hold,
// and one without a schema, give errors naming the file and the channel.
func TestMissingSchema(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "noschema.mcap")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := mcap.NewWriter(fh, &mcap.WriterOptions{Chunked: true, Compression: mcap.CompressionNone})
	must(t, err)
	must(t, w.WriteHeader(&mcap.Header{Profile: "ros2"}))
	must(t, w.WriteSchema(&mcap.Schema{ID: 1, Name: "std_msgs/msg/String", Encoding: "ros2msg", Data: []byte("string data")}))
	must(t, w.WriteChannel(&mcap.Channel{ID: 1, SchemaID: 1, Topic: "/missing_schema", MessageEncoding: "cdr"}))
	must(t, w.WriteChannel(&mcap.Channel{ID: 2, SchemaID: 0, Topic: "/no_schema", MessageEncoding: "cdr"}))
	must(t, w.WriteMessage(&mcap.Message{ChannelID: 1, LogTime: 1, Data: cdrString("a")}))
	must(t, w.WriteMessage(&mcap.Message{ChannelID: 2, LogTime: 2, Data: cdrString("b")}))
	must(t, w.Close())
	must(t, fh.Close())
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Point every copy of channel 1 (data section and summary) at schema 7.
	topic := []byte("/missing_schema")
	pat := append([]byte{1, 0, 1, 0}, binary.LittleEndian.AppendUint32(nil, uint32(len(topic)))...)
	pat = append(pat, topic...)
	repl := bytes.Clone(pat)
	repl[2] = 7
	if bytes.Count(data, pat) == 0 {
		t.Fatal("channel record not found")
	}
	must(t, os.WriteFile(p, bytes.ReplaceAll(data, pat, repl), 0o644))

	_, err = bag.Inspect(p, true)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v does not name the file", err)
	}
	if !strings.Contains(err.Error(), "/missing_schema") || !strings.Contains(err.Error(), "schema 7") {
		t.Errorf("error %v does not say the schema is missing", err)
	}
	// Listing without decoding gets as far as the file allows, and decoding
	// the schemaless channel names it.
	b, err := bag.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Messages(bag.Options{Topics: []string{"/no_schema"}}, func(m *bag.Message) error {
		_, err := m.Decode()
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "/no_schema") || !strings.Contains(err.Error(), "has no schema") || !strings.Contains(err.Error(), p) {
		t.Errorf("schemaless channel: %v", err)
	}
}
