// Package pipeline runs a ds3d-go graph: it builds each component of a
// validated config.Pipeline, gives each its own goroutine, links them with
// bounded queues (backpressure by default, counted drops when leaky), passes
// end-of-stream downstream as an event that travels with the data, stops
// everything on the first error (naming the component), and measures every
// component: frames in and out, drops, latency percentiles and rate. Run
// returns when every sink has seen end of stream, or when its context ends.
package pipeline
