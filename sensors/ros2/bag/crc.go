package bag

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/foxglove/mcap/go/mcap"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// maxChunk bounds the uncompressed size a chunk may claim (no rosbag2
// message comes near it): the MCAP library allocates what a chunk claims
// and walks all of it, so a corrupt size would cost gigabytes and minutes.
const maxChunk = 1 << 30

// checkChunks checks every chunk in [start, end) that the summary indexes
// before the MCAP library's indexed reader gets to it: that the index
// points at a chunk inside the file, that the chunk's sizes are sane (an
// uncompressed chunk's records are as long as it says), and, with crc set,
// its CRC, which the library's indexed reader does not check, so that a
// flipped bit in an uncompressed chunk would otherwise reach the decoder
// as a wrong value.
func checkChunks(fh *os.File, path string, idx []*mcap.ChunkIndex, start, end uint64, crc bool) error {
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("mcap %s: %w", path, err)
	}
	size := uint64(st.Size())
	var rec, out []byte
	var zd *zstd.Decoder
	defer func() {
		if zd != nil {
			zd.Close()
		}
	}()
	lr := lz4.NewReader(nil)
	for _, ci := range idx {
		if ci.MessageEndTime < start || (end > 0 && ci.MessageStartTime >= end) {
			continue
		}
		off := ci.ChunkStartOffset
		if ci.ChunkLength < 9 || ci.ChunkLength > maxChunk || off > size || ci.ChunkLength > size-off {
			return fmt.Errorf("mcap %s: chunk index points at %d+%d bytes, outside the %d-byte file", path, off, ci.ChunkLength, size)
		}
		// Without the CRC check only the chunk's header is read: opcode,
		// length, times, sizes, CRC and compression (a short string).
		n := ci.ChunkLength
		if !crc {
			n = min(n, 1+8+8+8+8+4+4+64+8)
		}
		if uint64(cap(rec)) < n {
			rec = make([]byte, n)
		}
		rec = rec[:n]
		if _, err := fh.ReadAt(rec, int64(off)); err != nil {
			return fmt.Errorf("mcap %s: chunk at offset %d: %w", path, off, err)
		}
		if mcap.OpCode(rec[0]) != mcap.OpChunk {
			return fmt.Errorf("mcap %s: chunk index points at offset %d, which holds no chunk (opcode 0x%02x)", path, off, rec[0])
		}
		if l := binary.LittleEndian.Uint64(rec[1:9]); l != ci.ChunkLength-9 {
			return fmt.Errorf("mcap %s: chunk at offset %d is %d bytes long, its index says %d", path, off, l, ci.ChunkLength-9)
		}
		usize := binary.LittleEndian.Uint64(rec[9+16:])
		clen := uint64(binary.LittleEndian.Uint32(rec[9+28:]))
		if usize > maxChunk {
			return fmt.Errorf("mcap %s: chunk at offset %d claims %d uncompressed bytes (at most %d are read)", path, off, usize, maxChunk)
		}
		if clen > 64 {
			return fmt.Errorf("mcap %s: chunk at offset %d: compression name of %d bytes", path, off, clen)
		}
		if p := 9 + 32 + clen; p+8 <= uint64(len(rec)) {
			comp := string(rec[9+32 : p])
			records := binary.LittleEndian.Uint64(rec[p:])
			if records != ci.ChunkLength-9-32-clen-8 {
				return fmt.Errorf("mcap %s: chunk at offset %d: records of %d bytes in a chunk of %d", path, off, records, ci.ChunkLength)
			}
			if comp == "" && records != usize {
				return fmt.Errorf("mcap %s: chunk at offset %d: uncompressed chunk of %d bytes claims %d", path, off, records, usize)
			}
		} else {
			return fmt.Errorf("mcap %s: chunk at offset %d: truncated chunk header", path, off)
		}
		if !crc {
			continue
		}
		ch, err := mcap.ParseChunk(rec[9:])
		if err != nil {
			return fmt.Errorf("mcap %s: chunk at offset %d: %w", path, off, err)
		}
		if ch.UncompressedCRC == 0 { // written without CRCs
			continue
		}
		data := ch.Records
		switch ch.Compression {
		case "":
		case string(mcap.CompressionZSTD):
			if zd == nil {
				if zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxChunk)); err != nil {
					return fmt.Errorf("mcap %s: %w", path, err)
				}
			}
			out, err = zd.DecodeAll(ch.Records, out[:0])
			if err != nil {
				return fmt.Errorf("mcap %s: chunk at offset %d: zstd: %w", path, off, err)
			}
			data = out
		case string(mcap.CompressionLZ4):
			if uint64(cap(out)) < ch.UncompressedSize {
				out = make([]byte, ch.UncompressedSize)
			}
			out = out[:ch.UncompressedSize]
			lr.Reset(bytes.NewReader(ch.Records))
			if _, err := io.ReadFull(lr, out); err != nil {
				return fmt.Errorf("mcap %s: chunk at offset %d: lz4: %w", path, off, err)
			}
			data = out
		default:
			return fmt.Errorf("mcap %s: chunk at offset %d: unsupported compression %q", path, off, ch.Compression)
		}
		if uint64(len(data)) != ch.UncompressedSize {
			return fmt.Errorf("mcap %s: chunk at offset %d: %d bytes after decompression, the chunk says %d", path, off, len(data), ch.UncompressedSize)
		}
		if got := crc32.ChecksumIEEE(data); got != ch.UncompressedCRC {
			return fmt.Errorf("mcap %s: chunk at offset %d: CRC mismatch (stored %08x, computed %08x): the file is corrupt", path, off, ch.UncompressedCRC, got)
		}
	}
	return nil
}
