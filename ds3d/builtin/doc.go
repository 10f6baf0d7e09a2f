// Package builtin holds the components every pipeline can use without
// sensors or models: a test-signal source (test_source, ds3d-go's
// videotestsrc), a passthrough filter, a counting sink that also checks
// ordering, and a datamap file sink that writes one JSON line per datamap
// with each key's summary. They register themselves in init().
package builtin
