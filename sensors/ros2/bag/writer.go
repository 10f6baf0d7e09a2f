package bag

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/foxglove/mcap/go/mcap"
	"github.com/klauspost/compress/zstd"

	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// definitions looks up the message definition (ros2msg text, dependencies
// included) of a built-in ROS 2 type. It stands for ros2.Definition: the
// writer uses it when AddTopic gets no text, the .db3 reader when a file
// stores no definitions.
var definitions = ros2.Definition

// MetadataVersion is the rosbag2 bag-information version Writer writes.
// Version 8 has everything a reader uses (per-file statistics,
// type_description_hash, custom_data, ros_distro) while its QoS profiles
// keep the integer enum values that rosbag2 releases before version 9
// (Humble, Iron) parse; rosbag2 9+ reads version 8 too.
const MetadataVersion = 8

// Chunk compressions of WriterOptions.Compression.
const (
	CompressionNone = "none"
	CompressionLZ4  = "lz4"
	CompressionZSTD = "zstd"
)

// DefaultChunkSize is rosbag2's MCAP chunk size (the ROS 1 bag default).
const DefaultChunkSize = 768 * 1024

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Name is the stem of the data files, <Name>_0.mcap, <Name>_1.mcap, …;
	// "" uses the folder's base name, as rosbag2 does.
	Name string
	// Compression of the MCAP chunks: "none" (also ""), "lz4" or "zstd".
	// rosbag2 writes uncompressed, indexed chunks by default and so does
	// Writer: it costs no CPU while recording and every MCAP reader reads
	// it; lz4 (fastest level, a chunk's 256 KiB blocks compressed on
	// GOMAXPROCS goroutines) and zstd (default level, one goroutine) trade
	// CPU for size.
	Compression string
	// ChunkSize is the uncompressed size at which a chunk is closed;
	// 0 is DefaultChunkSize. A larger message makes a chunk of its own.
	ChunkSize int64
	// MaxFileBytes splits the bag: once a file's written data reach it
	// (checked after each message, so a file exceeds it by at most a chunk
	// and its summary), the file is closed and the next one started.
	// 0 writes one file.
	MaxFileBytes int64
	// ROSDistro is metadata.yaml's ros_distro ("" when unknown).
	ROSDistro string
	// CustomData is metadata.yaml's custom_data.
	CustomData map[string]string
}

// TopicID names a topic of a Writer (its MCAP channel id).
type TopicID uint16

type wtopic struct {
	name, typ, qos string
	schema         uint16
	count          uint64
	seq            uint32
}

type wschema struct {
	name, text string
}

type wfile struct {
	path        string
	count       uint64
	first, last int64
	hasMsg      bool
	fh          *os.File
	buf         *bufio.Writer
	mw          *mcap.Writer
	closed      bool
}

// Writer writes a rosbag2 bag folder in MCAP storage: chunked, indexed
// MCAP files with CRCs and a summary section (statistics, schemas in
// ros2msg encoding, channels with message encoding cdr and rosbag2's QoS
// metadata) through the MCAP library's writer, and metadata.yaml
// (MetadataVersion) on Close. Writing a message allocates nothing once
// chunks have reached their size; closing a chunk costs the library a few
// allocations for its indexes. A Writer is not safe for concurrent use.
type Writer struct {
	dir     string
	opts    WriterOptions
	comp    string
	topics  []wtopic
	schemas []wschema
	byName  map[string]TopicID
	files   []*wfile
	cur     *wfile
	msg     mcap.Message
	lz4     *lz4Frame // shared by the files in turn; its goroutines stop on Close
	err     error     // sticky: a failed write leaves the bag unusable
	closed  bool
}

// Create starts a bag in dir, which must not exist or be empty (rosbag2
// refuses to write into a folder holding files too).
func Create(dir string, opts WriterOptions) (*Writer, error) {
	w := &Writer{dir: dir, opts: opts, byName: map[string]TopicID{}}
	switch strings.ToLower(opts.Compression) {
	case "", CompressionNone:
		w.comp = CompressionNone
	case CompressionLZ4, CompressionZSTD:
		w.comp = strings.ToLower(opts.Compression)
	default:
		return nil, fmt.Errorf("bag %s: compression %q: want none, lz4 or zstd", dir, opts.Compression)
	}
	if opts.ChunkSize < 0 || opts.MaxFileBytes < 0 {
		return nil, fmt.Errorf("bag %s: negative ChunkSize or MaxFileBytes", dir)
	}
	if opts.ChunkSize == 0 {
		w.opts.ChunkSize = DefaultChunkSize
	}
	if w.opts.Name == "" {
		w.opts.Name = filepath.Base(filepath.Clean(dir))
	}
	if strings.ContainsAny(w.opts.Name, `/\`) {
		return nil, fmt.Errorf("bag %s: file name stem %q holds a path separator", dir, w.opts.Name)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("bag %s: folder exists and is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bag %s: %w", dir, err)
	}
	if w.comp == CompressionLZ4 {
		var err error
		if w.lz4, err = newLZ4Frame(lz4AutoBlock, -1); err != nil {
			return nil, fmt.Errorf("bag %s: %w", dir, err)
		}
	}
	if err := w.nextFile(); err != nil {
		return nil, err
	}
	return w, nil
}

// Path is the bag folder.
func (w *Writer) Path() string { return w.dir }

// qosFmt is what rosbag2 stores for a reliable publisher (durability %d:
// 1 transient local, 2 volatile) with unknown history and infinite
// durations, in version 8's integer enums.
const qosFmt = "- history: 3\n  depth: 0\n  reliability: 1\n  durability: %d\n  deadline:\n    sec: 9223372036\n    nsec: 854775807\n  lifespan:\n    sec: 9223372036\n    nsec: 854775807\n  liveliness: 1\n  liveliness_lease_duration:\n    sec: 9223372036\n    nsec: 854775807\n  avoid_ros_namespace_conventions: false"

// AddTopic declares a topic of ROS 2 type typ ("sensor_msgs/msg/PointCloud2")
// and returns its id for Write. definition is the ros2msg text (the type's
// .msg, then each nested type after a line of '=' and "MSG: pkg/Type");
// "" takes the built-in definition of a standard type. Topics of one type
// share a schema. The offered QoS recorded is reliable and volatile
// (transient-local for /tf_static, whose subscribers expect latching).
func (w *Writer) AddTopic(name, typ, definition string) (TopicID, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	if name == "" || typ == "" {
		return 0, fmt.Errorf("bag %s: topic needs a name and a type (got %q, %q)", w.dir, name, typ)
	}
	if _, dup := w.byName[name]; dup {
		return 0, fmt.Errorf("bag %s: topic %s added twice", w.dir, name)
	}
	if len(w.topics) >= math.MaxUint16-1 {
		return 0, fmt.Errorf("bag %s: too many topics", w.dir)
	}
	si := -1
	for i, s := range w.schemas {
		if s.name == typ {
			si = i
			if definition != "" && definition != s.text {
				return 0, fmt.Errorf("bag %s: topic %s: type %s added before with another definition", w.dir, name, typ)
			}
		}
	}
	if si < 0 {
		if definition == "" {
			d, ok := definitions(typ)
			if !ok {
				return 0, fmt.Errorf("bag %s: topic %s: no built-in definition of %s: pass its ros2msg text", w.dir, name, typ)
			}
			definition = d
		}
		if _, err := ros2.ParseSchema(typ, definition); err != nil {
			return 0, fmt.Errorf("bag %s: topic %s: %w", w.dir, name, err)
		}
		w.schemas = append(w.schemas, wschema{name: typ, text: definition})
		si = len(w.schemas) - 1
		if err := w.writeSchema(w.cur, si); err != nil {
			return 0, w.fail(err)
		}
	}
	dur := 2
	if name == "/tf_static" {
		dur = 1
	}
	w.topics = append(w.topics, wtopic{name: name, typ: typ, qos: fmt.Sprintf(qosFmt, dur), schema: uint16(si + 1)})
	id := TopicID(len(w.topics)) // MCAP channel ids start at 1 here
	w.byName[name] = id
	if err := w.writeChannel(w.cur, id); err != nil {
		return 0, w.fail(err)
	}
	return id, nil
}

func (w *Writer) writeSchema(f *wfile, si int) error {
	s := w.schemas[si]
	if err := f.mw.WriteSchema(&mcap.Schema{ID: uint16(si + 1), Name: s.name, Encoding: "ros2msg", Data: []byte(s.text)}); err != nil {
		return fmt.Errorf("mcap %s: schema %s: %w", f.path, s.name, err)
	}
	return nil
}

func (w *Writer) writeChannel(f *wfile, id TopicID) error {
	t := &w.topics[id-1]
	err := f.mw.WriteChannel(&mcap.Channel{
		ID: uint16(id), SchemaID: t.schema, Topic: t.name, MessageEncoding: "cdr",
		Metadata: map[string]string{"offered_qos_profiles": t.qos},
	})
	if err != nil {
		return fmt.Errorf("mcap %s: channel %s: %w", f.path, t.name, err)
	}
	return nil
}

// Write appends one CDR-serialised message (encapsulation header included)
// to a topic. logTimeNs is when it was received (the time rosbag2 orders
// and plays by), publishTimeNs when it was sent (0 when unknown); both are
// nanoseconds since the epoch. Messages need not come in time order:
// readers sort by the chunk indexes. data is copied before Write returns.
func (w *Writer) Write(topic TopicID, logTimeNs, publishTimeNs int64, data []byte) error {
	if err := w.usable(); err != nil {
		return err
	}
	if topic == 0 || int(topic) > len(w.topics) {
		return fmt.Errorf("bag %s: unknown topic id %d", w.dir, topic)
	}
	if logTimeNs < 0 || publishTimeNs < 0 {
		return fmt.Errorf("bag %s: topic %s: negative time (log %d, publish %d ns)", w.dir, w.topics[topic-1].name, logTimeNs, publishTimeNs)
	}
	t := &w.topics[topic-1]
	f := w.cur
	w.msg = mcap.Message{ChannelID: uint16(topic), Sequence: t.seq, LogTime: uint64(logTimeNs), PublishTime: uint64(publishTimeNs), Data: data}
	if err := f.mw.WriteMessage(&w.msg); err != nil {
		return w.fail(fmt.Errorf("mcap %s: message %d on %s: %w", f.path, f.count, t.name, err))
	}
	w.msg.Data = nil
	t.seq++
	t.count++
	f.count++
	if !f.hasMsg || logTimeNs < f.first {
		f.first = logTimeNs
	}
	if !f.hasMsg || logTimeNs > f.last {
		f.last = logTimeNs
	}
	f.hasMsg = true
	if w.opts.MaxFileBytes > 0 && int64(f.mw.Offset()) >= w.opts.MaxFileBytes {
		if err := w.closeFile(f); err != nil {
			return w.fail(err)
		}
		if err := w.nextFile(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("bag %s: writer is closed", w.dir)
	}
	if w.err != nil {
		return fmt.Errorf("bag %s: an earlier write failed: %w", w.dir, w.err)
	}
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

func (w *Writer) nextFile() error {
	name := fmt.Sprintf("%s_%d.mcap", w.opts.Name, len(w.files))
	f := &wfile{path: filepath.Join(w.dir, name)}
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("bag %s: %w", w.dir, err)
	}
	f.fh = fh
	f.buf = bufio.NewWriterSize(fh, 1<<16)
	mo := &mcap.WriterOptions{IncludeCRC: true, Chunked: true, ChunkSize: w.opts.ChunkSize}
	switch w.comp {
	case CompressionLZ4:
		// The library's own lz4 writer runs at its high-compression level
		// on one core and adds a content checksum the chunk CRC makes
		// redundant: lz4Frame compresses at the fast level on every core.
		mo.Compressor = mcap.NewCustomCompressor(mcap.CompressionLZ4, w.lz4)
	case CompressionZSTD:
		// One goroutine per file: the library's default spreads a chunk
		// over all cores for no gain at chunk sizes and allocates per chunk.
		zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			fh.Close()
			return fmt.Errorf("mcap %s: zstd: %w", f.path, err)
		}
		mo.Compressor = mcap.NewCustomCompressor(mcap.CompressionZSTD, zw)
	}
	f.mw, err = mcap.NewWriter(f.buf, mo)
	if err == nil {
		err = f.mw.WriteHeader(&mcap.Header{Profile: "ros2", Library: "ds3d-go"})
	}
	if err != nil {
		fh.Close()
		return fmt.Errorf("mcap %s: %w", f.path, err)
	}
	w.files = append(w.files, f)
	w.cur = f
	for i := range w.schemas {
		if err := w.writeSchema(f, i); err != nil {
			return err
		}
	}
	for i := range w.topics {
		if err := w.writeChannel(f, TopicID(i+1)); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) closeFile(f *wfile) error {
	if f.closed {
		return nil
	}
	f.closed = true
	// rosbag2 leaves its bag information in each file as a "rosbag2"
	// metadata record, so a file without its folder still says what it is.
	err := f.mw.WriteMetadata(&mcap.Metadata{Name: "rosbag2", Metadata: map[string]string{"serialized_metadata": w.infoYAML("")}})
	if err == nil {
		err = f.mw.Close()
	}
	if err == nil {
		err = f.buf.Flush()
	}
	if err == nil {
		err = f.fh.Sync()
	}
	if cerr := f.fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mcap %s: %w", f.path, err)
	}
	return nil
}

// Close finishes the last file (its summary section and footer) and
// writes metadata.yaml; it also ends the goroutines an lz4 Writer
// compresses chunks on, so a Writer must be closed even after an error. A Writer whose write failed still closes its
// files and writes metadata.yaml for what reached them, and returns the
// first error.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	if w.err != nil {
		errs = append(errs, w.err)
	}
	for _, f := range w.files {
		if err := w.closeFile(f); err != nil {
			errs = append(errs, err)
		}
	}
	if w.lz4 != nil {
		w.lz4.stop()
	}
	mp := filepath.Join(w.dir, "metadata.yaml")
	if err := os.WriteFile(mp, []byte("rosbag2_bagfile_information:\n"+w.infoYAML("  ")), 0o644); err != nil {
		errs = append(errs, fmt.Errorf("bag %s: %w", w.dir, err))
	}
	return errors.Join(errs...)
}

// infoYAML renders the bag information in rosbag2's field order (version 8),
// every line indented by ind.
func (w *Writer) infoYAML(ind string) string {
	var b strings.Builder
	line := func(depth int, format string, args ...any) {
		b.WriteString(ind)
		b.WriteString(strings.Repeat("  ", depth))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	var count uint64
	var first, last int64
	has := false
	for _, f := range w.files {
		count += f.count
		if f.hasMsg {
			if !has || f.first < first {
				first = f.first
			}
			if !has || f.last > last {
				last = f.last
			}
			has = true
		}
	}
	start, dur := span(has, first, last)
	line(0, "version: %d", MetadataVersion)
	line(0, "storage_identifier: mcap")
	line(0, "duration:")
	line(1, "nanoseconds: %d", dur)
	line(0, "starting_time:")
	line(1, "nanoseconds_since_epoch: %d", start)
	line(0, "message_count: %d", count)
	if len(w.topics) == 0 {
		line(0, "topics_with_message_count:")
		line(1, "[]")
	} else {
		line(0, "topics_with_message_count:")
		for _, t := range w.topics {
			line(1, "- topic_metadata:")
			line(3, "name: %s", yamlStr(t.name))
			line(3, "type: %s", yamlStr(t.typ))
			line(3, "serialization_format: cdr")
			line(3, "offered_qos_profiles: %s", yamlStr(t.qos))
			line(3, `type_description_hash: ""`)
			line(2, "message_count: %d", t.count)
		}
	}
	line(0, `compression_format: ""`)
	line(0, `compression_mode: ""`)
	line(0, "relative_file_paths:")
	for _, f := range w.files {
		line(1, "- %s", yamlStr(filepath.Base(f.path)))
	}
	line(0, "files:")
	for _, f := range w.files {
		s, d := span(f.hasMsg, f.first, f.last)
		line(1, "- path: %s", yamlStr(filepath.Base(f.path)))
		line(2, "starting_time:")
		line(3, "nanoseconds_since_epoch: %d", s)
		line(2, "duration:")
		line(3, "nanoseconds: %d", d)
		line(2, "message_count: %d", f.count)
	}
	if len(w.opts.CustomData) == 0 {
		line(0, "custom_data: ~")
	} else {
		line(0, "custom_data:")
		keys := make([]string, 0, len(w.opts.CustomData))
		for k := range w.opts.CustomData {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			line(1, "%s: %s", yamlStr(k), yamlStr(w.opts.CustomData[k]))
		}
	}
	line(0, "ros_distro: %s", yamlStr(w.opts.ROSDistro))
	return b.String()
}

// span is rosbag2's starting time and duration: an empty bag starts at
// the largest time and lasts 0.
func span(has bool, first, last int64) (int64, int64) {
	if !has {
		return math.MaxInt64, 0
	}
	return first, last - first
}

var plainYAML = regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_/.\-]*$`)

// yamlStr writes s as a plain YAML scalar when it cannot be read as
// anything but that string, otherwise double-quoted.
func yamlStr(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n":
		return strconv.Quote(s)
	}
	if plainYAML.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}
