// Package bus carries whole datamaps between ds3d processes over NATS
// JetStream: the versioned binary wire encoding of a datamap (Encode,
// Decode: frames as raw bytes with element type, shape and named columns,
// metadata as typed values; the codec knows no component), the connection
// options (URL, credentials or user and password file, TLS), the embedded
// JetStream server that `url = "embedded"` starts in-process, the stream
// and chunk layout shared by both ends, and the bus_subscribe loader: a
// durable pull consumer whose processes share the stream as a work queue,
// acking a datamap only after it has left every sink of the consuming
// pipeline, with an optional dedup window of message ids and a bounded
// per-source reorder buffer. render/bus holds the publishing half.
// docs/SCALE.md states the delivery guarantee.
package bus
