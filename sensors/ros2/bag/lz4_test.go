package bag

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/foxglove/mcap/go/mcap"
	"github.com/pierrec/lz4/v4"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// lz4Inputs are frames to compress: empty, one byte, each side of block
// boundaries, and three kinds of content (repetitive, random — blocks that
// must be stored raw — and mixed), at the 64 KiB block size so that
// boundaries stay cheap to cross.
func lz4Inputs(t testing.TB) map[string][]byte {
	const bs = 64 << 10
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	text := func(n int) []byte {
		return bytes.Repeat([]byte("x y z intensity 0.25 "), n/21+1)[:n]
	}
	in := map[string][]byte{"empty": {}, "one": {7}, "two": {7, 7}, "short-text": text(12)}
	for _, n := range []int{bs - 1, bs, bs + 1, 3*bs - 1, 3 * bs, 3*bs + 1} {
		in["text-"+strconv.Itoa(n)] = text(n)
		in["random-"+strconv.Itoa(n)] = random(n)
	}
	// Compressible and incompressible blocks in one frame.
	mixed := append(append(append(text(bs), random(bs)...), make([]byte, bs)...), random(100)...)
	in["mixed"] = mixed
	if raw, err := os.ReadFile(sampledata.Sample(t, "kitti/velodyne/000000.bin")); err == nil {
		in["kitti"] = raw
	}
	return in
}

func frameOf(t testing.TB, f *lz4Frame, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	f.Reset(&out)
	// Two writes, as the MCAP writer writes a record's header and body apart.
	h := len(data) / 3
	if _, err := f.Write(data[:h]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data[h:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestLZ4FrameRoundTrip: frames of every block size and helper count
// decode with pierrec/lz4's frame reader (which checks the header
// checksum) to the bytes written; random blocks are stored raw; a reused
// writer starts each frame anew.
func TestLZ4FrameRoundTrip(t *testing.T) {
	inputs := lz4Inputs(t)
	for _, c := range [][2]int{{64 << 10, 0}, {64 << 10, 3}, {256 << 10, 1}, {1 << 20, 1}} {
		{
			bs, helpers := c[0], c[1]
			f, err := newLZ4Frame(bs, helpers)
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range inputs {
				fr := frameOf(t, f, data)
				got, err := io.ReadAll(lz4.NewReader(bytes.NewReader(fr)))
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("block %d, %d helpers, %s: %d bytes back of %d (%v)", bs, helpers, name, len(got), len(data), err)
				}
				if bs == 64<<10 && len(data) >= bs && strings.HasPrefix(name, "random") {
					if s := binary.LittleEndian.Uint32(fr[7:]); s != uint32(bs)|lz4RawFlag {
						t.Errorf("%s: first block size word %#x, want raw %d", name, s, bs)
					}
				}
			}
			f.stop()
		}
	}
	if _, err := newLZ4Frame(100, 0); err == nil {
		t.Error("block size 100 accepted")
	}
}

// TestLZ4FrameAutoBlock: the writer's automatic block size keeps 256 KiB
// blocks while a frame has at least one block per goroutine and drops to
// 64 KiB when it would not (many cores, small chunks); both decode, and a
// writer switching between them reuses its buffers.
func TestLZ4FrameAutoBlock(t *testing.T) {
	data := make([]byte, 1<<20+12345) // 5 blocks of 256 KiB, 17 of 64 KiB
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	for _, c := range []struct {
		helpers int
		code    byte
	}{{1, 5}, {4, 5}, {5, 4}, {15, 4}, {1, 5}} {
		f, err := newLZ4Frame(lz4AutoBlock, c.helpers)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			fr := frameOf(t, f, data)
			if got := fr[5] >> 4; got != c.code {
				t.Errorf("%d helpers: BD block code %d, want %d", c.helpers, got, c.code)
			}
			got, err := io.ReadAll(lz4.NewReader(bytes.NewReader(fr)))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%d helpers: %d bytes back of %d (%v)", c.helpers, len(got), len(data), err)
			}
		}
		f.stop()
	}
}

// TestLZ4FrameCLI: liblz4's own decoder (the lz4 command) reads the frames
// back to the same bytes.
func TestLZ4FrameCLI(t *testing.T) {
	tool := testenv.Tool(t, "lz4", "apt-get install lz4")
	f, err := newLZ4Frame(lz4BlockSize, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.stop()
	dir := t.TempDir()
	for name, data := range lz4Inputs(t) {
		p := filepath.Join(dir, name+".lz4")
		if err := os.WriteFile(p, frameOf(t, f, data), 0o644); err != nil {
			t.Fatal(err)
		}
		got := testenv.Output(t, exec.Command(tool, "-d", "-c", p))
		if !bytes.Equal(got, data) {
			t.Errorf("%s: lz4 -d gave %d bytes, want %d", name, len(got), len(data))
		}
	}
}

// TestLZ4FrameStop: a frame of several blocks runs on the helpers, stop
// ends them (and waits for them), and a frame after it starts them again.
func TestLZ4FrameStop(t *testing.T) {
	f, err := newLZ4Frame(64<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	data := lz4Inputs(t)["mixed"]
	for range 2 {
		frameOf(t, f, data)
		// A helper done early may take a second block's token before the
		// last one is scheduled: at least one has run.
		if n := f.running.Load(); n < 1 || n > 3 {
			t.Errorf("%d helpers running after a frame, want 1 to 3", n)
		}
		f.stop()
		f.stop()
		if n := f.running.Load(); n != 0 {
			t.Errorf("%d helpers running after stop", n)
		}
	}
}

// TestLZ4FrameAllocs: a frame of a size seen before allocates nothing.
func TestLZ4FrameAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	f, err := newLZ4Frame(lz4BlockSize, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.stop()
	data := lz4Inputs(t)["mixed"]
	var out bytes.Buffer
	run := func() {
		out.Reset()
		f.Reset(&out)
		f.Write(data)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Errorf("%v allocations per frame", a)
	}
}

// FuzzLZ4Frame: any bytes, cut into 64 KiB blocks over two goroutines,
// come back from pierrec/lz4's reader unchanged.
func FuzzLZ4Frame(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("x y z intensity x y z intensity x y z intensity"))
	f.Add(bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8}, 20000))
	w, err := newLZ4Frame(64<<10, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(w.stop)
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := frameOf(t, w, data)
		got, err := io.ReadAll(lz4.NewReader(bytes.NewReader(fr)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes back of %d (%v)", len(got), len(data), err)
		}
	})
}

// BenchmarkLZ4Frame: KITTI frame 000000's 1.85 MB of points into one
// frame of 256 KiB blocks (helpers: GOMAXPROCS-1), against pierrec/lz4's
// frame writer at the fast level on the same bytes.
func BenchmarkLZ4Frame(b *testing.B) {
	data, err := os.ReadFile(sampledata.Sample(b, "kitti/velodyne/000000.bin"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("kitti-000000", func(b *testing.B) {
		f, err := newLZ4Frame(lz4BlockSize, -1)
		if err != nil {
			b.Fatal(err)
		}
		defer f.stop()
		var out bytes.Buffer
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			f.Reset(&out)
			f.Write(data)
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(out.Len())/float64(len(data)), "ratio")
	})
	b.Run("kitti-000000-pierrec-writer", func(b *testing.B) {
		var out bytes.Buffer
		lw := lz4.NewWriter(&out)
		if err := lw.Apply(lz4.CompressionLevelOption(lz4.Fast), lz4.ChecksumOption(false)); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			lw.Reset(&out)
			lw.Write(data)
			if err := lw.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(out.Len())/float64(len(data)), "ratio")
	})
}

// TestWriterLZ4ChunksCLI: every lz4 chunk of a bag Writer wrote (a 1.85 MB
// cloud in 256 KiB blocks over the helpers, and small messages) decodes
// with liblz4's lz4 command to the chunk's uncompressed size and CRC as the
// chunk record states them.
func TestWriterLZ4ChunksCLI(t *testing.T) {
	tool := testenv.Tool(t, "lz4", "apt-get install lz4")
	raw, err := os.ReadFile(sampledata.Sample(t, "kitti/velodyne/000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	w, err := Create(dir, WriterOptions{Compression: CompressionLZ4, ChunkSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddTopic("/raw", "test_msgs/msg/Bytes", "uint8[] data\n")
	if err != nil {
		t.Fatal(err)
	}
	// Not valid CDR of the type: the chunks only need bytes to carry.
	for i, m := range [][]byte{raw, []byte("small"), raw[:70000], make([]byte, 300000)} {
		if err := w.Write(id, int64(i), int64(i), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := w.lz4.running.Load(); n != 0 {
		t.Errorf("%d lz4 helpers running after Writer.Close", n)
	}
	fh, err := os.Open(filepath.Join(dir, "b_0.mcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	lex, err := mcap.NewLexer(fh, &mcap.LexerOptions{EmitChunks: true})
	if err != nil {
		t.Fatal(err)
	}
	chunks := 0
	for {
		tok, rec, err := lex.Next(nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if tok == mcap.TokenFooter {
			break
		}
		if tok != mcap.TokenChunk {
			continue
		}
		c, err := mcap.ParseChunk(rec)
		if err != nil {
			t.Fatal(err)
		}
		if c.Compression != "lz4" {
			t.Fatalf("chunk %d compression %q", chunks, c.Compression)
		}
		cmd := exec.Command(tool, "-d", "-c")
		cmd.Stdin = bytes.NewReader(c.Records)
		got := testenv.Output(t, cmd)
		if uint64(len(got)) != c.UncompressedSize || crc32.ChecksumIEEE(got) != c.UncompressedCRC {
			t.Errorf("chunk %d: lz4 -d gave %d bytes, CRC %08x; chunk says %d, %08x", chunks, len(got), crc32.ChecksumIEEE(got), c.UncompressedSize, c.UncompressedCRC)
		}
		chunks++
	}
	if chunks < 3 {
		t.Errorf("%d chunks", chunks)
	}
}
