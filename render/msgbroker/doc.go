// Package msgbroker is the msgbroker render component: it turns each
// datamap's 3D boxes or 2D objects into payloads with sensors/msgconv (the
// DeepStream 2D JSON schemas or ds3d detection3d as JSON or protobuf) and
// sends them to a message broker through one adapter per protocol, each on
// the protocol's maintained Go client: MQTT 3.1.1 (eclipse/paho.mqtt.golang)
// and Redis Streams (redis/go-redis). Render only encodes and queues: a
// bounded in-memory queue lies between it and the component's one sender
// goroutine, a message that finds the queue full is dropped and counted, and
// the sender reconnects with capped exponential backoff, so a slow or absent
// broker never holds the pipeline up. docs/MESSAGING.md states each
// adapter's delivery guarantee and what Stats counts.
package msgbroker
