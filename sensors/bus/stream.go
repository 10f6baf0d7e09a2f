package bus

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Keys the bus adds to datamaps.
const (
	// KeyOrigin is the wall-clock time (Unix nanoseconds) at which a
	// datamap first went onto the bus; later hops keep it, so the last
	// sink measures end-to-end latency as now − origin.
	KeyOrigin ds3d.Key = "DS3D::BusOriginNs"
	// KeyAck holds bus_subscribe's acknowledgement token: a pooled frame of
	// no bytes whose return to its pool (the last holder released it, so
	// the datamap and every clone of it left the pipeline) acks the
	// message. bus_publish never encodes it.
	KeyAck ds3d.Key = "DS3D::BusAckToken"
)

// Message headers. Nats-Msg-Id carries the message id (JetStream's
// duplicate window removes a republished datamap at the server).
const (
	HdrSource = "Ds3d-Source" // source id, decimal
	HdrFrame  = "Ds3d-Frame"  // frame number, decimal
	HdrChunks = "Ds3d-Chunks" // stream sequences of the chunks, comma-separated, in order
	HdrSize   = "Ds3d-Size"   // total bytes of a chunked encoding
)

// StreamConfig is the JetStream stream both ends use. Datamaps go to
// {stream}.dm.{source id}, chunks of large ones to {stream}.chunk.{source id}.
type StreamConfig struct {
	Stream    string        `toml:"stream" nonempty:"true" doc:"JetStream stream name (letters, digits, - and _); it is also the subject prefix"`
	Create    bool          `toml:"create_stream" doc:"create the stream at start when it does not exist (an existing stream keeps its settings); off: it must exist"`
	Replicas  int           `toml:"replicas" min:"1" max:"5" doc:"copies of each message in a JetStream cluster (3 survives the loss of one server); 1 on the embedded server"`
	Storage   string        `toml:"storage" enum:"file|memory" doc:"where the server keeps messages"`
	MaxAge    time.Duration `toml:"max_age" min:"0" doc:"messages older than this are removed; 0 keeps them until max_bytes"`
	MaxBytes  int64         `toml:"max_bytes" min:"-1" unit:"bytes" doc:"stream size limit; the oldest messages go first; -1 is unlimited"`
	DupWindow time.Duration `toml:"duplicate_window" min:">0" doc:"how long the server remembers message ids to drop a republished datamap"`
}

// DefaultStreamConfig returns the stream defaults.
func DefaultStreamConfig() StreamConfig {
	return StreamConfig{Stream: "DS3D", Create: true, Replicas: 1, Storage: "file", MaxAge: time.Hour,
		MaxBytes: 4 << 30, DupWindow: 2 * time.Minute}
}

var streamName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate checks the stream name, which is also a subject token.
func (c *StreamConfig) Validate() error {
	if !streamName.MatchString(c.Stream) {
		return ds3d.ConfigErrorf("stream", "%q: only letters, digits, - and _ (it is also a subject token)", c.Stream)
	}
	return nil
}

// Subject is the subject of a source's datamaps.
func (c *StreamConfig) Subject(source int64) string {
	return c.Stream + ".dm." + strconv.FormatInt(source, 10)
}

// ChunkSubject is the subject of a source's chunks.
func (c *StreamConfig) ChunkSubject(source int64) string {
	return c.Stream + ".chunk." + strconv.FormatInt(source, 10)
}

// Ensure returns the stream, creating it when it does not exist and
// create_stream is on. An existing stream is used as it is: processes that
// start together would otherwise update one replicated stream at once,
// which stalls a cluster's meta leader (and a subscriber setting up its
// consumer meanwhile).
func (c *StreamConfig) Ensure(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, c.Stream)
	if err == nil {
		return s, nil
	}
	if !c.Create || !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("bus: stream %s: %w", c.Stream, err)
	}
	st := jetstream.FileStorage
	if c.Storage == "memory" {
		st = jetstream.MemoryStorage
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        c.Stream,
		Subjects:    []string{c.Stream + ".dm.*", c.Stream + ".chunk.*"},
		Storage:     st,
		Replicas:    c.Replicas,
		MaxAge:      c.MaxAge,
		MaxBytes:    c.MaxBytes,
		Duplicates:  c.DupWindow,
		Retention:   jetstream.LimitsPolicy,
		AllowDirect: true,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		s, err = js.Stream(ctx, c.Stream) // another process created it just now
	}
	if err != nil {
		return nil, fmt.Errorf("bus: create stream %s: %w", c.Stream, err)
	}
	return s, nil
}

// MsgID is the id of a datamap on the bus: prefix, source id, frame number.
func MsgID(prefix string, source, frame int64) string {
	return prefix + strconv.FormatInt(source, 10) + "-" + strconv.FormatInt(frame, 10)
}

// ChunkLimit is the largest chunk body for a connection: the server's max
// payload less room for the headers.
func ChunkLimit(nc *nats.Conn) int {
	return max(int(nc.MaxPayload())-4096, 1024)
}

// Reassemble returns the encoding a datamap message carries: its body, or,
// when it names chunks, the chunks fetched from the stream and joined into
// buf (reused). A missing chunk is an error naming its sequence.
func Reassemble(ctx context.Context, s jetstream.Stream, h nats.Header, body []byte, buf []byte) ([]byte, error) {
	list := h.Get(HdrChunks)
	if list == "" {
		return body, nil
	}
	size, err := strconv.Atoi(h.Get(HdrSize))
	if err != nil || size < 0 {
		return nil, fmt.Errorf("bus: chunked message: bad %s %q", HdrSize, h.Get(HdrSize))
	}
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	buf = buf[:0]
	for _, f := range strings.Split(list, ",") {
		seq, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bus: chunked message: bad sequence %q", f)
		}
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil, fmt.Errorf("bus: chunk at sequence %d is missing (aged out or deleted): %w", seq, err)
			}
			return nil, fmt.Errorf("bus: chunk at sequence %d: %w", seq, err)
		}
		if len(buf)+len(m.Data) > size {
			return nil, fmt.Errorf("bus: chunks exceed the announced %d bytes", size)
		}
		buf = append(buf, m.Data...)
	}
	if len(buf) != size {
		return nil, fmt.Errorf("bus: chunks hold %d bytes, announced %d", len(buf), size)
	}
	return buf, nil
}
