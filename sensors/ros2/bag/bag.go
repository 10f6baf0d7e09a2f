// Package bag reads and writes rosbag2 bags. It reads a bag folder
// (metadata.yaml, rosbag2 bag-information versions 1–9, split over several
// files read in the order metadata.yaml lists them), a bare .mcap file or a
// bare .db3 file, and writes bag folders in MCAP storage (Create). MCAP
// itself (chunked or not, zstd and lz4 chunks, the summary section and its
// indexes) goes through the MCAP authors' Go library,
// github.com/foxglove/mcap/go/mcap; SQLite3 (.db3) storage is read through
// database/sql once package bag/db3 registers its driver; messages decode
// with sensors/ros2.
package bag

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/foxglove/mcap/go/mcap"
	"go.yaml.in/yaml/v3"

	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// Metadata is the part of rosbag2's metadata.yaml a reader needs.
type Metadata struct {
	Info struct {
		Version           int    `yaml:"version"`
		StorageIdentifier string `yaml:"storage_identifier"`
		Duration          struct {
			Nanoseconds int64 `yaml:"nanoseconds"`
		} `yaml:"duration"`
		StartingTime struct {
			Nanos int64 `yaml:"nanoseconds_since_epoch"`
		} `yaml:"starting_time"`
		MessageCount uint64 `yaml:"message_count"`
		Topics       []struct {
			Topic struct {
				Name                string `yaml:"name"`
				Type                string `yaml:"type"`
				SerializationFormat string `yaml:"serialization_format"`
			} `yaml:"topic_metadata"`
			MessageCount uint64 `yaml:"message_count"`
		} `yaml:"topics_with_message_count"`
		CompressionFormat string   `yaml:"compression_format"`
		CompressionMode   string   `yaml:"compression_mode"`
		RelativeFilePaths []string `yaml:"relative_file_paths"`
	} `yaml:"rosbag2_bagfile_information"`
}

// Bag is an opened bag: its files in reading order and, for a folder, its
// metadata.
type Bag struct {
	Path     string
	Storage  string    // "mcap" or "sqlite3"
	Files    []string  // absolute or as given, in reading order
	Metadata *Metadata // nil for a bare .mcap or .db3
}

// IsBag reports whether path looks like a bag: a folder holding
// metadata.yaml, or a file ending in .mcap or .db3.
func IsBag(path string) bool {
	if e := strings.ToLower(filepath.Ext(path)); e == ".mcap" || e == ".db3" {
		return true
	}
	st, err := os.Stat(filepath.Join(path, "metadata.yaml"))
	return err == nil && !st.IsDir()
}

// Open opens a bag folder or a bare .mcap or .db3 file. A folder's
// metadata.yaml must be rosbag2 bag information of version 1–9 in MCAP or
// SQLite3 storage whose topics are all CDR-serialised; the files it lists
// must exist. SQLite3 storage needs package bag/db3 in the program.
func Open(path string) (*Bag, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bag %s: %w", path, err)
	}
	if !st.IsDir() {
		if strings.EqualFold(filepath.Ext(path), ".db3") {
			if _, err := sqliteDriverName(path); err != nil {
				return nil, err
			}
			return &Bag{Path: path, Storage: "sqlite3", Files: []string{path}}, nil
		}
		return &Bag{Path: path, Storage: "mcap", Files: []string{path}}, nil
	}
	mp := filepath.Join(path, "metadata.yaml")
	raw, err := os.ReadFile(mp)
	if err != nil {
		return nil, fmt.Errorf("bag %s: %w", path, err)
	}
	md, err := ParseMetadata(raw)
	if err != nil {
		return nil, fmt.Errorf("bag %s: %w", mp, err)
	}
	b := &Bag{Path: path, Storage: md.Info.StorageIdentifier, Metadata: md}
	if b.Storage == "sqlite3" {
		if _, err := sqliteDriverName(path); err != nil {
			return nil, err
		}
	}
	for _, rel := range md.Info.RelativeFilePaths {
		if filepath.IsAbs(rel) || strings.HasPrefix(filepath.Clean(rel), "..") {
			return nil, fmt.Errorf("bag %s: relative_file_paths entry %q leaves the bag folder", mp, rel)
		}
		f := filepath.Join(path, rel)
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("bag %s: file listed in metadata.yaml: %w", mp, err)
		}
		b.Files = append(b.Files, f)
	}
	return b, nil
}

// ParseMetadata parses and checks a metadata.yaml.
func ParseMetadata(raw []byte) (*Metadata, error) {
	var md Metadata
	if err := yaml.Unmarshal(raw, &md); err != nil {
		return nil, err
	}
	in := &md.Info
	if in.Version < 1 || in.Version > 9 {
		return nil, fmt.Errorf("rosbag2_bagfile_information version %d: want 1–9 (is this a rosbag2 metadata.yaml?)", in.Version)
	}
	switch in.StorageIdentifier {
	case "mcap", "sqlite3":
	default:
		return nil, fmt.Errorf("unknown storage_identifier %q (want mcap or sqlite3)", in.StorageIdentifier)
	}
	if in.CompressionFormat != "" {
		return nil, fmt.Errorf("rosbag2 file compression %q (%s mode) is not supported; MCAP chunk compression is", in.CompressionFormat, in.CompressionMode)
	}
	if len(in.RelativeFilePaths) == 0 {
		return nil, errors.New("relative_file_paths lists no file")
	}
	for _, t := range in.Topics {
		if f := t.Topic.SerializationFormat; f != "cdr" {
			return nil, fmt.Errorf("topic %s (%s): serialization_format %q is not CDR: refusing to decode it", t.Topic.Name, t.Topic.Type, f)
		}
	}
	return &md, nil
}

// Message is one message read from a bag. Data is the CDR payload; it is
// valid only until the callback returns.
type Message struct {
	File        string // the .mcap or .db3 file it came from
	Index       int    // 0-based position in the bag's reading order
	Topic       string
	Type        string // "sensor_msgs/msg/PointCloud2"
	LogTime     uint64 // ns
	PublishTime uint64 // ns
	Data        []byte
	schema      *ros2.Schema
	schemaErr   error
}

// Schema is the message's parsed ros2msg schema.
func (m *Message) Schema() (*ros2.Schema, error) {
	if m.schemaErr != nil {
		return nil, m.schemaErr
	}
	return m.schema, nil
}

// Decode decodes the message with its schema.
func (m *Message) Decode() (*ros2.Message, error) {
	s, err := m.Schema()
	if err != nil {
		return nil, err
	}
	v, err := s.Decode(m.Data)
	if err != nil {
		return nil, m.Errorf("%w", err)
	}
	return v, nil
}

// Errorf wraps an error with the file, message index and topic.
func (m *Message) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: message %d on %s (%s): %w", m.File, m.Index, m.Topic, m.Type, fmt.Errorf(format, args...))
}

// Options select messages.
type Options struct {
	Topics []string // nil: all
	// StartNanos, EndNanos bound log times: [start, end); 0 end is no bound.
	StartNanos, EndNanos uint64
	// Definitions supplies the ros2msg definitions (dependencies included,
	// as in an MCAP schema) of types that a .db3 file stores none for, and
	// is asked before the built-in ones of sensors/ros2; nil asks nobody.
	Definitions func(typ string) (text string, ok bool)
	// SkipCRC skips the check of MCAP chunk CRCs (an extra read and
	// decompression of each chunk) before the chunks' messages are read;
	// the chunks' sizes are checked still.
	SkipCRC bool
}

// Messages calls fn for every message, file after file in the bag's
// order and, within a file, in log-time order (file order for MCAP files
// without chunk indexes; a .db3 file's timestamp order). fn's error stops
// the walk and is returned. A .db3 message's PublishTime is its LogTime
// (the file stores one time).
func (b *Bag) Messages(opts Options, fn func(*Message) error) error {
	idx := 0
	read := b.readFile
	if b.Storage == "sqlite3" {
		read = b.readDB3
	}
	for _, f := range b.Files {
		if err := read(f, opts, &idx, fn); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bag) readFile(path string, opts Options, idx *int, fn func(*Message) error) (err error) {
	// The MCAP library trusts some lengths in corrupt files; a panic in it
	// becomes an error naming the file (fn's own panics are not ours to hide).
	inFn := false
	defer func() {
		if r := recover(); r != nil {
			if inFn {
				panic(r)
			}
			err = fmt.Errorf("mcap %s: after message %d: corrupt file: %v", path, *idx, r)
		}
	}()
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("bag %s: %w", b.Path, err)
	}
	defer fh.Close()
	r, err := mcap.NewReader(fh)
	if err != nil {
		return fmt.Errorf("mcap %s: %w", path, err)
	}
	defer r.Close()
	info, err := r.Info()
	if err != nil {
		return fmt.Errorf("mcap %s: summary: %w", path, err)
	}
	ro := []mcap.ReadOpt{}
	if opts.Topics != nil {
		ro = append(ro, mcap.WithTopics(opts.Topics))
	}
	if opts.EndNanos > 0 {
		ro = append(ro, mcap.BeforeNanos(opts.EndNanos))
	}
	if opts.StartNanos > 0 {
		ro = append(ro, mcap.AfterNanos(opts.StartNanos))
	}
	for _, ch := range info.Channels {
		if ch.SchemaID != 0 && info.Schemas[ch.SchemaID] == nil && (opts.Topics == nil || slices.Contains(opts.Topics, ch.Topic)) {
			return fmt.Errorf("mcap %s: channel %d (%s) names schema %d, which the file does not hold", path, ch.ID, ch.Topic, ch.SchemaID)
		}
	}
	if len(info.ChunkIndexes) > 0 {
		chunks := info.ChunkIndexes
		if opts.Topics != nil {
			chunks = chunksWith(info, opts.Topics)
		}
		if err := checkChunks(fh, path, chunks, opts.StartNanos, opts.EndNanos, !opts.SkipCRC); err != nil {
			return err
		}
	}
	if len(info.ChunkIndexes) == 0 {
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("mcap %s: %w", path, err)
		}
		r2, err := mcap.NewReader(fh)
		if err != nil {
			return fmt.Errorf("mcap %s: %w", path, err)
		}
		defer r2.Close()
		r = r2
		ro = append(ro, mcap.UsingIndex(false))
	} else {
		ro = append(ro, mcap.InOrder(mcap.LogTimeOrder))
	}
	it, err := r.Messages(ro...)
	if err != nil {
		return fmt.Errorf("mcap %s: %w", path, err)
	}
	schemas := map[*mcap.Schema]*ros2.Schema{}
	schemaErrs := map[*mcap.Schema]error{}
	var raw mcap.Message
	var m Message
	for {
		sc, ch, msg, err := it.NextInto(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mcap %s: after message %d: %w", path, *idx, err)
		}
		m = Message{File: path, Index: *idx, Topic: ch.Topic, LogTime: msg.LogTime, PublishTime: msg.PublishTime, Data: msg.Data}
		*idx++
		if ch.MessageEncoding != "cdr" {
			return m.Errorf("message encoding %q is not CDR: refusing to decode it", ch.MessageEncoding)
		}
		if sc == nil {
			m.schemaErr = m.Errorf("channel %d has no schema", ch.ID)
		} else {
			m.Type = sc.Name
			s, ok := schemas[sc]
			if !ok && schemaErrs[sc] == nil {
				if sc.Encoding != "ros2msg" {
					schemaErrs[sc] = fmt.Errorf("schema %s: encoding %q (want ros2msg)", sc.Name, sc.Encoding)
				} else if s, err = ros2.ParseSchema(sc.Name, string(sc.Data)); err != nil {
					schemaErrs[sc] = err
				} else {
					schemas[sc] = s
				}
			}
			m.schema = s
			if e := schemaErrs[sc]; e != nil {
				m.schemaErr = m.Errorf("%w", e)
			}
		}
		inFn = true
		if err := fn(&m); err != nil {
			return err
		}
		inFn = false
	}
}

// chunksWith selects the chunks that hold messages of the topics.
func chunksWith(info *mcap.Info, topics []string) []*mcap.ChunkIndex {
	var out []*mcap.ChunkIndex
	for _, ci := range info.ChunkIndexes {
		for id := range ci.MessageIndexOffsets {
			if ch := info.Channels[id]; ch != nil && slices.Contains(topics, ch.Topic) {
				out = append(out, ci)
				break
			}
		}
	}
	return out
}
