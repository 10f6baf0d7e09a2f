package msgbroker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// SpoolConfig is the optional on-disk spool: with dir set, messages that
// cannot go to the broker now (it is unreachable, or the queue is full) are
// appended to segment files there and sent, in order, once it is back; what
// the spool holds when the process ends is sent by the next run.
type SpoolConfig struct {
	Dir          ds3d.Path `toml:"dir" doc:"folder of the spool's segment files (created when missing); empty: no spool, the in-memory queue is the only buffer"`
	MaxBytes     int64     `toml:"max_bytes" min:"65536" unit:"bytes" doc:"bound of the spool's files together; a message that would pass it first deletes the oldest segment, whose unsent messages are counted as dropped"`
	SegmentBytes int64     `toml:"segment_bytes" min:"4096" unit:"bytes" doc:"size at which a segment file is closed and the next one begun; whole segments are what the spool deletes, so at most half of max_bytes"`
	Fsync        string    `toml:"fsync" enum:"never|segment|always" doc:"when the spool's writes are forced to the disk: never (a process crash loses nothing, a power loss what the OS had not written), segment (when a segment is closed, and at Close), always (after every message: each costs a disk flush)"`
}

func (c *SpoolConfig) validate() error {
	if c.Dir != "" && 2*c.SegmentBytes > c.MaxBytes {
		return ds3d.ConfigErrorf("spool.segment_bytes", "%d is more than half of spool.max_bytes %d: the spool deletes whole segments, so it needs room for two", c.SegmentBytes, c.MaxBytes)
	}
	return nil
}

// The spool's files: <seq>.seg (16 hex digits, oldest first), each
// spoolMagic followed by records, and "cursor", the end of the last record
// the broker acknowledged. A record is its body's length (uint32 LE), the
// CRC-32C of its body (uint32 LE) and the body: a flags byte (bit 0:
// protobuf), the topic and the sensor id (each a uvarint length and the
// bytes), then the payload to the record's end.
const (
	spoolMagic     = "DS3DSPL1"
	recHeader      = 8
	maxRecord      = 64 << 20 // a length above this is corruption, not a message
	cursorName     = "cursor"
	cursorInterval = 256 // acknowledgements between two writes of the cursor
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// pos is a place in the spool: a segment and an offset in it.
type pos struct {
	seq uint64
	off int64
}

func (p pos) after(q pos) bool { return p.seq > q.seq || p.seq == q.seq && p.off > q.off }

// segment is one file of the spool.
type segment struct {
	seq     uint64
	path    string
	f       *os.File // read handle, opened when first read
	size    int64    // bytes in the file, a torn tail included
	end     int64    // end of its last whole record
	records int      // whole records
	read    int      // records the sender has taken (or an earlier run delivered)
}

// spool is the on-disk queue. Render (through enqueue) and the sender
// goroutine share it under mu.
type spool struct {
	mu     sync.Mutex
	cfg    SpoolConfig
	dir    string
	log    *slog.Logger
	segs   []*segment // oldest first; while w is open, the last is the one written
	w      *os.File
	bytes  int64
	rseg   int   // index in segs of the next record to read
	roff   int64 // its offset
	acked  pos   // end of the last record delivered
	count  atomic.Int64
	active bool // new messages go to the spool: it holds unread records, or the broker is away
	acks   int  // since the cursor was last written
	failed bool // the last write failed (logged once until one succeeds)
	wbuf   []byte
	rbuf   []byte
	names  map[string]string // topics and sensor ids read back, interned
	lock   *os.File          // holds the folder's lock
}

// openSpool opens (or creates) the spool folder: it reads the cursor,
// deletes the segments delivered before it and checks every record of the
// others, so that a torn tail left by a crash is found (and skipped, with a
// warning naming the file and offset) now and not while sending.
func openSpool(cfg SpoolConfig, log *slog.Logger) (*spool, error) {
	dir := string(cfg.Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool.dir: %w", err)
	}
	// One sink per folder: two would send each other's messages and
	// delete each other's segments.
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool.dir: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool.dir %s: in use by another msgbroker sink or process (%w)", dir, err)
	}
	sp, err := loadSpool(cfg, dir, log)
	if err != nil {
		lock.Close()
		return nil, err
	}
	sp.lock = lock
	return sp, nil
}

// loadSpool reads the spool folder (its lock held).
func loadSpool(cfg SpoolConfig, dir string, log *slog.Logger) (*spool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool.dir: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(name, 16, 64)
		if err != nil || len(name) != 16 {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	sp := &spool{cfg: cfg, dir: dir, log: log, names: map[string]string{}}
	cur, err := sp.readCursor()
	if err != nil {
		log.Warn("spool cursor unreadable: every message in the spool is sent again", "file", filepath.Join(dir, cursorName), "err", err)
		cur = pos{}
	}
	sp.acked = cur
	for _, seq := range seqs {
		path := sp.segPath(seq)
		if seq < cur.seq {
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			continue
		}
		delivered := int64(0)
		if seq == cur.seq {
			delivered = cur.off
		}
		sg, before, err := scanSegmentFile(path, seq, delivered, log)
		if err != nil {
			return nil, err
		}
		sg.read = before
		if sg.records == sg.read {
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			continue
		}
		sp.segs = append(sp.segs, sg)
		sp.bytes += sg.size
		sp.count.Add(int64(sg.records - sg.read))
	}
	if len(sp.segs) > 0 && sp.segs[0].seq == cur.seq {
		sp.roff = max(cur.off, int64(len(spoolMagic)))
	} else {
		sp.roff = int64(len(spoolMagic))
	}
	sp.active = sp.count.Load() > 0
	if n := sp.count.Load(); n > 0 {
		log.Info("spool holds messages of an earlier run; they go first", "dir", dir, "messages", n, "bytes", sp.bytes)
	}
	return sp, nil
}

func (sp *spool) segPath(seq uint64) string {
	return filepath.Join(sp.dir, fmt.Sprintf("%016x.seg", seq))
}

// scanSegmentFile checks every record of a segment file. It returns the
// segment and how many of its records end at or before the offset delivered
// (the cursor's, for the cursor's segment; 0 otherwise).
func scanSegmentFile(path string, seq uint64, delivered int64, log *slog.Logger) (*segment, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	sg := &segment{seq: seq, path: path, size: st.Size()}
	sc := newSegmentScanner(bufio.NewReaderSize(f, 64<<10))
	before := 0
	for {
		_, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Warn("spool: damaged or torn record skipped with the rest of its segment", "file", path, "offset", sc.off, "err", err)
			break
		}
		sg.records++
		if sc.off <= delivered {
			before++
		}
	}
	sg.end = max(sc.off, int64(len(spoolMagic)))
	return sg, before, nil
}

// segmentScanner reads one segment file's records in order. off is the end
// of the last whole record read (or of the magic); after an error it is
// where the bad record begins.
type segmentScanner struct {
	r    io.Reader
	off  int64
	hdr  [recHeader]byte
	body []byte
	init bool
}

func newSegmentScanner(r io.Reader) *segmentScanner { return &segmentScanner{r: r} }

// errTorn marks a record cut short or failing its CRC.
var errTorn = errors.New("torn record")

// next returns the next record's body (valid until the next call), io.EOF
// at a clean end, or an error naming what is wrong with the record at off.
func (s *segmentScanner) next() ([]byte, error) {
	if !s.init {
		var m [len(spoolMagic)]byte
		if _, err := io.ReadFull(s.r, m[:]); err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("segment header: %w", errTorn)
		}
		if string(m[:]) != spoolMagic {
			return nil, fmt.Errorf("not a spool segment (magic %q)", m[:])
		}
		s.init, s.off = true, int64(len(spoolMagic))
	}
	if _, err := io.ReadFull(s.r, s.hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("record header cut short: %w", errTorn)
	}
	n := binary.LittleEndian.Uint32(s.hdr[:4])
	if n == 0 || n > maxRecord {
		return nil, fmt.Errorf("record length %d: %w", n, errTorn)
	}
	if cap(s.body) < int(n) {
		s.body = make([]byte, n)
	}
	s.body = s.body[:n]
	if _, err := io.ReadFull(s.r, s.body); err != nil {
		return nil, fmt.Errorf("record of %d bytes cut short: %w", n, errTorn)
	}
	if crc32.Checksum(s.body, castagnoli) != binary.LittleEndian.Uint32(s.hdr[4:]) {
		return nil, fmt.Errorf("record CRC mismatch: %w", errTorn)
	}
	if _, _, _, _, err := decodeRecord(s.body); err != nil {
		return nil, err
	}
	s.off += recHeader + int64(n)
	return s.body, nil
}

// appendRecord appends m's record (header and body) to b.
func appendRecord(b []byte, m *message) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	var flags byte
	if m.proto {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(m.topic)))
	b = append(b, m.topic...)
	b = binary.AppendUvarint(b, uint64(len(m.sensor)))
	b = append(b, m.sensor...)
	b = append(b, m.buf...)
	body := b[start+recHeader:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, castagnoli))
	return b
}

// decodeRecord splits a record's body.
func decodeRecord(body []byte) (proto bool, topic, sensor, payload []byte, err error) {
	if len(body) < 1 {
		return false, nil, nil, nil, errors.New("record body empty")
	}
	proto = body[0]&1 != 0
	rest := body[1:]
	field := func(what string) ([]byte, error) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return nil, fmt.Errorf("record %s length out of range", what)
		}
		v := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return v, nil
	}
	if topic, err = field("topic"); err != nil {
		return false, nil, nil, nil, err
	}
	if sensor, err = field("sensor"); err != nil {
		return false, nil, nil, nil, err
	}
	return proto, topic, sensor, rest, nil
}

// put appends m to the spool (mu held). It returns the count of messages
// dropped to make room: the unsent ones of deleted old segments.
func (sp *spool) put(m *message) (evicted int, err error) {
	sp.wbuf = appendRecord(sp.wbuf[:0], m)
	n := int64(len(sp.wbuf))
	if n-recHeader > maxRecord {
		return 0, fmt.Errorf("spool: message of %d bytes is over the record bound %d", len(m.buf), maxRecord)
	}
	if sp.w != nil {
		last := sp.segs[len(sp.segs)-1]
		if last.end > int64(len(spoolMagic)) && last.end+n > sp.cfg.SegmentBytes {
			if err := sp.closeWriter(); err != nil {
				return 0, err
			}
		}
	}
	if sp.w == nil {
		if err := sp.newSegment(); err != nil {
			return 0, err
		}
	}
	for sp.bytes+n > sp.cfg.MaxBytes && len(sp.segs) > 1 {
		evicted += sp.evictOldest()
	}
	last := sp.segs[len(sp.segs)-1]
	if _, err := sp.w.Write(sp.wbuf); err != nil {
		// The segment may now end in a torn record: write no more to it.
		_ = sp.w.Close()
		sp.w = nil
		last.size = last.end + n
		sp.bytes += n
		return evicted, fmt.Errorf("spool %s: %w", last.path, err)
	}
	last.end += n
	last.size = last.end
	last.records++
	sp.bytes += n
	sp.count.Add(1)
	if sp.cfg.Fsync == "always" {
		if err := sp.w.Sync(); err != nil {
			// Written, so counted as spooled; only a power loss can undo it.
			sp.log.Warn("spool: fsync failed", "file", last.path, "err", err)
		}
	}
	return evicted, nil
}

func (sp *spool) newSegment() error {
	seq := uint64(1)
	if len(sp.segs) > 0 {
		seq = sp.segs[len(sp.segs)-1].seq + 1
	} else if sp.acked.seq >= seq {
		seq = sp.acked.seq + 1
	}
	path := sp.segPath(seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write([]byte(spoolMagic)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("spool %s: %w", path, err)
	}
	if len(sp.segs) == 0 {
		sp.rseg, sp.roff = 0, int64(len(spoolMagic))
	}
	h := int64(len(spoolMagic))
	sp.segs = append(sp.segs, &segment{seq: seq, path: path, size: h, end: h})
	sp.bytes += h
	sp.w = f
	return nil
}

func (sp *spool) closeWriter() error {
	w := sp.w
	sp.w = nil
	var err error
	if sp.cfg.Fsync != "never" {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// evictOldest deletes the oldest segment (never the one written) and
// returns how many of its records had not been taken by the sender.
func (sp *spool) evictOldest() int {
	sg := sp.segs[0]
	lost := sg.records - sg.read
	sp.dropSegment()
	sp.count.Add(-int64(lost))
	sp.log.Warn("spool full: oldest segment deleted, its unsent messages dropped", "file", sg.path, "messages", lost, "max_bytes", sp.cfg.MaxBytes)
	return lost
}

// dropSegment deletes segs[0].
func (sp *spool) dropSegment() {
	sg := sp.segs[0]
	if sg.f != nil {
		sg.f.Close()
	}
	if err := os.Remove(sg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		sp.log.Warn("spool: cannot delete a segment", "file", sg.path, "err", err)
	}
	sp.bytes -= sg.size
	sp.segs = sp.segs[1:]
	if sp.rseg > 0 {
		sp.rseg--
	} else {
		sp.roff = int64(len(spoolMagic))
	}
}

// drained reports whether every record has been read (mu held).
func (sp *spool) drained() bool {
	n := len(sp.segs) - sp.rseg
	return n <= 0 || n == 1 && sp.roff >= sp.segs[sp.rseg].end
}

// take reads the next unread record into m. When there is none it turns the
// spool off (new messages go to the in-memory queue again) and returns
// false; the caller holds no lock.
func (sp *spool) take(m *message) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for sp.rseg < len(sp.segs) {
		sg := sp.segs[sp.rseg]
		if sp.roff >= sg.end {
			if sp.w != nil && sp.rseg == len(sp.segs)-1 {
				break // the segment being written: nothing more yet
			}
			if sg.f != nil {
				sg.f.Close()
				sg.f = nil
			}
			sp.rseg++
			sp.roff = int64(len(spoolMagic))
			continue
		}
		if err := sp.readAt(sg, m); err != nil {
			// Checked at open or written by this process: a failure now is
			// the disk's. The rest of the segment cannot be framed.
			lost := sg.records - sg.read
			sp.log.Error("spool: cannot read a record; the rest of its segment is dropped", "file", sg.path, "offset", sp.roff, "messages", lost, "err", err)
			sp.count.Add(-int64(lost))
			sg.read = sg.records
			sg.end = sp.roff
			continue
		}
		return true
	}
	sp.active = false
	return false
}

func (sp *spool) readAt(sg *segment, m *message) error {
	if sg.f == nil {
		f, err := os.Open(sg.path)
		if err != nil {
			return err
		}
		sg.f = f
	}
	var hdr [recHeader]byte
	if _, err := sg.f.ReadAt(hdr[:], sp.roff); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if n == 0 || n > maxRecord || sp.roff+recHeader+int64(n) > sg.end {
		return fmt.Errorf("record length %d: %w", n, errTorn)
	}
	if cap(sp.rbuf) < int(n) {
		sp.rbuf = make([]byte, n)
	}
	body := sp.rbuf[:n]
	if _, err := sg.f.ReadAt(body, sp.roff+recHeader); err != nil {
		return err
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
		return fmt.Errorf("record CRC mismatch: %w", errTorn)
	}
	proto, topic, sensor, payload, err := decodeRecord(body)
	if err != nil {
		return err
	}
	sp.roff += recHeader + int64(n)
	sg.read++
	m.buf = append(m.buf[:0], payload...)
	m.topic, m.sensor, m.proto = sp.intern(topic), sp.intern(sensor), proto
	m.spooled, m.at = true, pos{sg.seq, sp.roff}
	return nil
}

// intern returns b as a string, the same one for equal bytes: a pipeline
// has a few topics and sensors, not one per message.
func (sp *spool) intern(b []byte) string {
	if s, ok := sp.names[string(b)]; ok {
		return s
	}
	if len(sp.names) > 4096 {
		clear(sp.names)
	}
	s := string(b)
	sp.names[s] = s
	return s
}

// ack records that the spooled message ending at p was delivered; segments
// wholly before it are deleted.
func (sp *spool) ack(p pos) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.count.Add(-1)
	if p.after(sp.acked) {
		sp.acked = p
	}
	for len(sp.segs) > 0 && sp.segs[0].seq < sp.acked.seq && sp.rseg > 0 {
		sp.dropSegment()
	}
	sp.acks++
	if sp.acks >= cursorInterval {
		sp.writeCursor()
	}
}

// holds reports whether the record ending at p is still in the spool (its
// segment was not deleted to make room); mu held.
func (sp *spool) holds(p pos) bool {
	for _, sg := range sp.segs {
		if sg.seq == p.seq {
			return true
		}
	}
	return false
}

func (sp *spool) readCursor() (pos, error) {
	b, err := os.ReadFile(filepath.Join(sp.dir, cursorName))
	if errors.Is(err, os.ErrNotExist) {
		return pos{}, nil
	}
	if err != nil {
		return pos{}, err
	}
	if len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return pos{}, fmt.Errorf("%d bytes, or a CRC mismatch", len(b))
	}
	return pos{binary.LittleEndian.Uint64(b), int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}

// writeCursor saves acked (mu held): a new file renamed over the old, so a
// crash leaves one or the other whole. A crash between two writes makes
// the next run send up to cursorInterval delivered messages again, which
// at-least-once allows.
func (sp *spool) writeCursor() {
	sp.acks = 0
	var b [20]byte
	binary.LittleEndian.PutUint64(b[:], sp.acked.seq)
	binary.LittleEndian.PutUint64(b[8:], uint64(sp.acked.off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(sp.dir, cursorName+".tmp")
	err := func() error {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(b[:]); err != nil {
			f.Close()
			return err
		}
		if sp.cfg.Fsync != "never" {
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(sp.dir, cursorName))
	}()
	if err != nil {
		sp.log.Warn("spool: cannot save the cursor; delivered messages may be sent again by the next run", "dir", sp.dir, "err", err)
	}
}

// close saves the cursor and closes the files; an empty spool leaves no
// segment behind.
func (sp *spool) close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var err error
	if sp.w != nil {
		err = sp.closeWriter()
	}
	for _, sg := range sp.segs {
		if sg.f != nil {
			sg.f.Close()
			sg.f = nil
		}
	}
	if sp.count.Load() == 0 {
		for len(sp.segs) > 0 {
			sp.rseg = 0
			sp.dropSegment()
		}
	}
	sp.writeCursor()
	if sp.lock != nil {
		sp.lock.Close() // releases the lock
		sp.lock = nil
	}
	return err
}
