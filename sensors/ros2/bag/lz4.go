package bag

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/pierrec/lz4/v4"
)

// lz4Frame compresses each MCAP chunk into one standard LZ4 frame (the
// format MCAP's lz4 compression names) whose independent blocks are
// compressed at once on GOMAXPROCS goroutines: the library's own frame
// writer compresses a chunk on one core, which caps a lidar bag at the
// speed of a single core. The frame carries no checksums (the chunk's
// CRC covers the uncompressed bytes), no content size and no dictionary,
// so every LZ4 frame decoder reads it. Blocks that do not shrink are
// stored raw, as the frame format allows.
//
// It implements mcap.ResettableWriteCloser: Reset sets the destination,
// Write gathers a chunk, Close compresses and writes the frame. Its
// helper goroutines start with the first frame of more than one block and
// live until stop. Steady-state frames allocate nothing.
type lz4Frame struct {
	dst       io.Writer
	blockSize int
	auto      bool // blockSize chosen per frame (see lz4AutoBlock)
	header    [7]byte
	size      [4]byte // a block's size word (a field: a local would escape through io.Writer)
	in        []byte
	blocks    []lz4Block
	comp      lz4.Compressor // the closing goroutine's, which compresses too

	// Helpers take block indexes from next until nblocks.
	next    atomic.Int64
	nblocks int
	helpers int
	jobs    chan struct{} // one token per helper per frame
	frame   sync.WaitGroup
	alive   sync.WaitGroup
	running atomic.Int32 // helpers alive
}

type lz4Block struct {
	buf []byte // cap blockSize
	n   int    // compressed size; 0: stored raw
}

// lz4 frame format constants (LZ4 Frame Format Description 1.6.x).
const (
	lz4Magic   = 0x184D2204
	lz4FLG     = 0x60 // version 01, independent blocks, no checksums, no content size, no dictionary
	lz4RawFlag = 1 << 31
)

// lz4BlockSizes maps a block maximum size to its BD code.
var lz4BlockSizes = map[int]byte{64 << 10: 4, 256 << 10: 5, 1 << 20: 6, 4 << 20: 7}

// lz4BlockSize is Writer's usual block size: small enough that a 1.8 MB
// cloud splits into enough blocks (8) to keep several cores busy, large
// enough that independent blocks cost little ratio (KITTI 000000: 0.826
// of the input, against 0.817 in pierrec/lz4's 4 MiB blocks).
const lz4BlockSize = 256 << 10

// lz4AutoBlock asks newLZ4Frame to choose the block size per frame:
// lz4BlockSize, or LZ4's default 64 KiB when a frame would otherwise have
// fewer blocks than there are goroutines to compress them (on 16 cores a
// 1.8 MB cloud in 256 KiB blocks leaves half of them idle).
const lz4AutoBlock = 0

// newLZ4Frame returns a frame writer of the given block maximum size
// (64 KiB, 256 KiB, 1 MiB or 4 MiB, or lz4AutoBlock) spreading blocks over
// helpers extra goroutines besides the closing one; helpers < 0 uses
// GOMAXPROCS-1.
func newLZ4Frame(blockSize, helpers int) (*lz4Frame, error) {
	auto := blockSize == lz4AutoBlock
	if auto {
		blockSize = lz4BlockSize
	}
	code, ok := lz4BlockSizes[blockSize]
	if !ok {
		return nil, fmt.Errorf("lz4: block size %d: want 64 KiB, 256 KiB, 1 MiB or 4 MiB", blockSize)
	}
	if helpers < 0 {
		helpers = runtime.GOMAXPROCS(0) - 1
	}
	f := &lz4Frame{helpers: helpers, auto: auto}
	binary.LittleEndian.PutUint32(f.header[:], lz4Magic)
	f.header[4] = lz4FLG
	f.setBlockSize(blockSize, code)
	return f, nil
}

func (f *lz4Frame) setBlockSize(size int, code byte) {
	f.blockSize = size
	f.header[5] = code << 4
	f.header[6] = byte(xxh32Short(f.header[4:6]) >> 8)
}

// Reset starts a frame written to dst.
func (f *lz4Frame) Reset(dst io.Writer) {
	f.dst = dst
	f.in = f.in[:0]
}

// Write gathers p into the frame.
func (f *lz4Frame) Write(p []byte) (int, error) {
	f.in = append(f.in, p...)
	return len(p), nil
}

// Close compresses what Write gathered and writes the frame to the
// destination Reset set; the next Write starts a new frame to the same
// destination.
func (f *lz4Frame) Close() error {
	bufSize := f.blockSize
	if f.auto {
		bufSize = lz4BlockSize // the larger of the two sizes auto picks from
		size := lz4BlockSize
		if (len(f.in)+size-1)/size <= f.helpers {
			size = 64 << 10
		}
		f.setBlockSize(size, lz4BlockSizes[size])
	}
	n := (len(f.in) + f.blockSize - 1) / f.blockSize
	for len(f.blocks) < n {
		f.blocks = append(f.blocks, lz4Block{buf: make([]byte, bufSize)})
	}
	f.nblocks = n
	f.next.Store(0)
	if k := min(f.helpers, n-1); k > 0 {
		f.start()
		f.frame.Add(k)
		for range k {
			f.jobs <- struct{}{}
		}
		f.work(&f.comp)
		f.frame.Wait()
	} else {
		f.work(&f.comp)
	}
	err := f.emit()
	f.in = f.in[:0]
	return err
}

func (f *lz4Frame) emit() error {
	if f.dst == nil {
		return fmt.Errorf("lz4: frame closed before Reset")
	}
	if _, err := f.dst.Write(f.header[:]); err != nil {
		return err
	}
	size := f.size[:]
	for i := range f.nblocks {
		b := &f.blocks[i]
		data := b.buf[:b.n]
		if b.n == 0 {
			data = f.src(i)
			binary.LittleEndian.PutUint32(size, uint32(len(data))|lz4RawFlag)
		} else {
			binary.LittleEndian.PutUint32(size, uint32(b.n))
		}
		if _, err := f.dst.Write(size); err != nil {
			return err
		}
		if _, err := f.dst.Write(data); err != nil {
			return err
		}
	}
	clear(size)
	_, err := f.dst.Write(size) // end mark
	return err
}

// src is block i's uncompressed bytes.
func (f *lz4Frame) src(i int) []byte {
	return f.in[i*f.blockSize : min((i+1)*f.blockSize, len(f.in))]
}

// work compresses blocks until none is left. A destination one byte
// shorter than the block makes the compressor give up (n = 0) as soon as
// the block cannot shrink, and the block is stored raw.
func (f *lz4Frame) work(c *lz4.Compressor) {
	for {
		i := int(f.next.Add(1) - 1)
		if i >= f.nblocks {
			return
		}
		src := f.src(i)
		b := &f.blocks[i]
		n, err := c.CompressBlock(src, b.buf[:len(src)-1])
		if err != nil || n <= 0 || n >= len(src) {
			n = 0
		}
		b.n = n
	}
}

func (f *lz4Frame) start() {
	if f.jobs != nil {
		return
	}
	f.jobs = make(chan struct{})
	f.alive.Add(f.helpers)
	for range f.helpers {
		go f.helper(f.jobs)
	}
}

func (f *lz4Frame) helper(jobs <-chan struct{}) {
	f.running.Add(1)
	defer f.alive.Done()
	defer f.running.Add(-1)
	c := new(lz4.Compressor)
	for range jobs {
		f.work(c)
		f.frame.Done()
	}
}

// stop ends the helper goroutines and waits for them; a later frame
// starts them again.
func (f *lz4Frame) stop() {
	if f.jobs == nil {
		return
	}
	close(f.jobs)
	f.alive.Wait()
	f.jobs = nil
}

// xxh32Short is XXH32 with seed 0 of fewer than 16 bytes, what the frame
// header checksum (its second byte) is taken from.
func xxh32Short(p []byte) uint32 {
	const (
		p1 = 2654435761
		p2 = 2246822519
		p3 = 3266489917
		p4 = 668265263
		p5 = 374761393
	)
	h := uint32(p5) + uint32(len(p))
	for ; len(p) >= 4; p = p[4:] {
		h += binary.LittleEndian.Uint32(p) * p3
		h = bits.RotateLeft32(h, 17) * p4
	}
	for _, b := range p {
		h += uint32(b) * p5
		h = bits.RotateLeft32(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}
