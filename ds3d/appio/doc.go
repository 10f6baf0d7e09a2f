// Package appio connects a pipeline to the Go program that runs it, as
// GStreamer's appsrc and appsink do: an app_source is a loader fed by
// Source.Push, with backpressure, until Source.EndOfStream; an app_sink
// hands each datamap to a Go callback set with Sink.Handle. A program
// builds the pipeline (from TOML or config.NewPipeline), takes the built
// components by their names with SourceOf and SinkOf, and runs it. The
// components know no sensor, format or system, only datamaps, so they sit
// beside the framework (like ds3d/builtin) and keep the import arrows of
// DESIGN.md §1: any program that embeds a pipeline can use them.
package appio
