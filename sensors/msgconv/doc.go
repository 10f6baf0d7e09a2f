// Package msgconv holds the payload schemas that results leave the pipeline
// in, and their codecs, for render-side sinks (brokers, files) and
// sensors-side sources (broker subscriptions) alike: DeepStream's nvmsgconv
// JSON for 2D objects in its "full" (one object per message) and "minimal"
// (one frame per message) forms, with DeepStream's field names and layout so
// existing consumers parse them unchanged; and the ds3d detection3d schema
// for 3D boxes and tracks, versioned, as JSON (docs/schema/) and protobuf
// (proto/). Sensor, place and analytics-module metadata come per source id
// from a TOML file; Options says which schema, how often and how many
// objects per message. The package knows no component; docs/PAYLOADS.md
// describes every field.
package msgconv

//go:generate protoc -I proto --go_out=proto --go_opt=paths=source_relative proto/ds3d_detection3d.proto
