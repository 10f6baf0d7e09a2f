// Package msgbroker is the msgbroker render component: it turns each
// datamap's 3D boxes or 2D objects into payloads with sensors/msgconv (the
// DeepStream 2D JSON schemas or ds3d detection3d as JSON or protobuf) and
// sends them to a message broker through one adapter per protocol, each on
// the protocol's maintained Go client: MQTT 3.1.1
// (eclipse/paho.mqtt.golang), Redis Streams (redis/go-redis), Kafka
// (twmb/franz-go), AMQP 0-9-1 (rabbitmq/amqp091-go) and NATS core or
// JetStream (nats-io/nats.go). Render only encodes and queues: a bounded
// in-memory queue (and, optionally, an on-disk spool) lies between it and
// the component's one sender goroutine, a message that finds no room is
// dropped and counted, and the sender reconnects with capped exponential
// backoff, so a slow or absent broker never holds the pipeline up.
// docs/MESSAGING.md states each adapter's delivery guarantee and what Stats
// counts.
//
// The package also holds msgbroker_source, a pass-through filter that
// subscribes to a command topic (MQTT, Redis Streams, Kafka, AMQP, NATS) and applies
// each versioned JSON command (set, record_start, record_stop, swap_model)
// to the pipeline it runs in — DeepStream's cloud-to-device messages.
package msgbroker
