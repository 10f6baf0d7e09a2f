// Package bus is the bus_publish render component: it encodes each datamap
// with sensors/bus and publishes it to a NATS JetStream stream, so that
// bus_subscribe loaders in other processes (or machines) continue the
// pipeline. Render only encodes and queues; one sender goroutine publishes
// with acknowledgements, a bounded window in flight, republishing a failed
// message under the same id (the server's duplicate window keeps one copy),
// and a datamap that finds no room within block_timeout is dropped and
// counted. docs/SCALE.md states the delivery guarantee.
package bus
