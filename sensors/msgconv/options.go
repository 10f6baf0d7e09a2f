package msgconv

import (
	"fmt"
	"iter"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Schema names a payload schema.
type Schema string

const (
	// SchemaDeepStream is nvmsgconv's full schema (NVDS_PAYLOAD_DEEPSTREAM):
	// one 2D object per message with sensor, place, analytics module and event.
	SchemaDeepStream Schema = "deepstream"
	// SchemaDeepStreamMinimal is nvmsgconv's minimal schema
	// (NVDS_PAYLOAD_DEEPSTREAM_MINIMAL): every 2D object of a frame, one
	// "trackingId|left|top|right|bottom|label" string each.
	SchemaDeepStreamMinimal Schema = "deepstream_minimal"
	// SchemaDetection3DJSON is ds3d detection3d 1.0 as JSON.
	SchemaDetection3DJSON Schema = "ds3d_json"
	// SchemaDetection3DProto is ds3d detection3d 1.0 as protobuf.
	SchemaDetection3DProto Schema = "ds3d_protobuf"
)

// Per says how many objects one message holds.
type Per string

const (
	PerFrame  Per = "frame"  // every object of a frame in one message
	PerObject Per = "object" // one message per object
)

// Options are the payload settings a sink's config embeds.
type Options struct {
	Schema Schema `toml:"schema" enum:"deepstream|deepstream_minimal|ds3d_json|ds3d_protobuf" doc:"payload schema: DeepStream's full or minimal 2D JSON, or ds3d detection3d 1.0 as JSON or protobuf (docs/PAYLOADS.md)"`
	// FrameInterval sends every Nth frame, as nvmsgconv's frame-interval.
	FrameInterval int `toml:"frame_interval" min:"1" doc:"send a message for every Nth frame of a source (frame numbers divisible by N)"`
	Per           Per `toml:"message_per" enum:"frame|object" doc:"one message per frame or per object; deepstream (full) is always per object, deepstream_minimal always per frame"`
	// MetadataFile is the sensor/place/analytics TOML (see ParseMetadata).
	MetadataFile ds3d.Path `toml:"metadata_file" path:"exists" doc:"TOML file of sensor, place and analytics metadata per source id; empty uses the source id as sensor id"`
}

// DefaultOptions returns the defaults: ds3d_json, every frame, one message per frame.
func DefaultOptions() Options {
	return Options{Schema: SchemaDetection3DJSON, FrameInterval: 1, Per: PerFrame}
}

// Validate checks the options; a full DeepStream payload holds one object
// and a minimal one a frame, so those schemas fix Per, and asking for the
// other is an error rather than a silent change.
func (o *Options) Validate() error {
	switch o.Schema {
	case SchemaDeepStream, SchemaDeepStreamMinimal, SchemaDetection3DJSON, SchemaDetection3DProto:
	default:
		return fmt.Errorf("msgconv: schema %q: want deepstream, deepstream_minimal, ds3d_json or ds3d_protobuf", o.Schema)
	}
	if o.FrameInterval < 1 {
		return fmt.Errorf("msgconv: frame_interval %d: must be at least 1", o.FrameInterval)
	}
	switch o.Per {
	case PerFrame, PerObject:
	default:
		return fmt.Errorf("msgconv: message_per %q: want frame or object", o.Per)
	}
	if o.Schema == SchemaDeepStream && o.Per != PerObject {
		return fmt.Errorf("msgconv: schema deepstream holds one object per message: set message_per = \"object\"")
	}
	if o.Schema == SchemaDeepStreamMinimal && o.Per != PerFrame {
		return fmt.Errorf("msgconv: schema deepstream_minimal holds one frame per message: set message_per = \"frame\"")
	}
	return nil
}

// Due reports whether frame number n is sent under FrameInterval. A frame
// without a number (n < 0) is always sent.
func (o *Options) Due(n int64) bool {
	return n < 0 || o.FrameInterval <= 1 || n%int64(o.FrameInterval) == 0
}

// Batches yields the [lo, hi) ranges of a frame's n objects that become one
// message each: the whole frame (also when it is empty, so consumers see
// every sent frame), or one range per object (none for an empty frame).
func (o *Options) Batches(n int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		if o.Per != PerObject {
			yield(0, n)
			return
		}
		for i := range n {
			if !yield(i, i+1) {
				return
			}
		}
	}
}
