package lidar

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// milkStream returns milk.pcd's LZF stream, its decoded size and the file
// offset where the stream starts.
func milkStream(t testing.TB) (file []byte, stream []byte, usz, at int) {
	file = readShared(t, "pcd-ply/pcl/milk.pcd")
	i := bytes.Index(file, []byte("DATA binary_compressed\n")) + len("DATA binary_compressed\n")
	csz := int(binary.LittleEndian.Uint32(file[i:]))
	usz = int(binary.LittleEndian.Uint32(file[i+4:]))
	return file, file[i+8 : i+8+csz], usz, i + 8
}

func TestLZFRoundTrip(t *testing.T) {
	_, stream, usz, _ := milkStream(t)
	plain := make([]byte, usz)
	if err := lzfDecompress(plain, stream); err != nil {
		t.Fatal(err)
	}
	kitti := readShared(t, "kitti-object/training/velodyne/000000.bin")
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"empty", nil}, {"1 byte", plain[:1]}, {"2 bytes", plain[:2]}, {"3 bytes", plain[:3]},
		{"33 bytes", plain[:33]}, {"milk", plain}, {"kitti", kitti},
		{"zeros", make([]byte, 100000)}, // the longest back references, overlapping
	} {
		comp := lzfCompress(nil, tc.src)
		out := make([]byte, len(tc.src))
		if err := lzfDecompress(out, comp); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(out, tc.src) {
			t.Fatalf("%s: round trip differs", tc.name)
		}
		if len(tc.src) > 1000 {
			t.Logf("%s: %d -> %d bytes", tc.name, len(tc.src), len(comp))
		}
	}
}

// TestLZFCorrupt cuts and damages a real stream: every outcome must be an
// error (or, for a harmless change, success), never a panic.
func TestLZFCorrupt(t *testing.T) {
	_, stream, usz, _ := milkStream(t)
	out := make([]byte, usz)
	// Every 97th cut through the first 8 KiB (all run kinds), then cuts
	// 5 % apart: each try decodes up to the cut, so evenly spaced cuts over
	// the whole stream would cost O(n²).
	for cut := 0; cut < len(stream); {
		if err := lzfDecompress(out, stream[:cut]); err == nil {
			t.Fatalf("stream cut at %d decoded without error", cut)
		}
		if cut < 8192 {
			cut += 97
		} else {
			cut += cut / 20
		}
	}
	bad := bytes.Clone(stream)
	// Each flipped byte costs a whole decode: every byte of the first 512,
	// then 300 spread over the rest.
	for i := 0; i < len(bad); {
		old := bad[i]
		bad[i] ^= 0xA5
		_ = lzfDecompress(out, bad)
		bad[i] = old
		if i < 512 {
			i++
		} else {
			i += max(1, len(bad)/300)
		}
	}
	// A back reference as the very first run reaches before the output.
	err := lzfDecompress(out, append([]byte{0xE0, 0x00, 0x05}, stream...))
	if err == nil || !strings.Contains(err.Error(), "before the output start") {
		t.Errorf("reference before start: %v", err)
	}
	if err := lzfDecompress(out[:usz-1], stream); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("short output: %v", err)
	}
}
