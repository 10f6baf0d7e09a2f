// Package foxglove speaks the Foxglove WebSocket protocol (subprotocol
// foxglove.websocket.v1): the JSON control messages a server and a client
// exchange (serverInfo, status, advertise, unadvertise, subscribe,
// unsubscribe), the binary frames that carry message data and time, with a
// parser that checks every length before reading, and foxglove_ws_source, a
// ds3d::dataloader that subscribes to a server's sensor_msgs/msg/PointCloud2
// topic (foxglove_bridge on a ROS 2 robot, or another pipeline's foxglove_ws)
// and emits lidar datamaps, reconnecting with backoff and counting the
// clouds it drops when the pipeline falls behind. The server component,
// foxglove_ws, is in render/foxglove and shares these types, as render may
// import sensors but not the reverse. Facts come from the protocol's public
// specification (foxglove/ws-protocol, docs/spec.md).
package foxglove

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Subprotocol is the WebSocket subprotocol both sides must negotiate.
const Subprotocol = "foxglove.websocket.v1"

// Binary opcodes of server → client frames: the first byte of a binary
// WebSocket message.
const (
	OpMessageData byte = 0x01 // u32 subscription id, u64 receive time (ns), payload
	OpTime        byte = 0x02 // u64 server time (ns)
)

// OpClientMessageData is the client → server binary opcode of published
// messages (capability clientPublish), which the ds3d-go server does not
// advertise and therefore refuses.
const OpClientMessageData byte = 0x01

// MessageDataHeaderLen is the size of a message-data frame before its
// payload: opcode, subscription id and timestamp.
const MessageDataHeaderLen = 1 + 4 + 8

// Status levels of a status message.
const (
	StatusInfo    = 0
	StatusWarning = 1
	StatusError   = 2
)

// Capability names the server may list in serverInfo.
const CapabilityTime = "time"

// Channel is one advertised topic. Schema holds the message definition as
// text for the ros2msg, ros1msg and jsonschema schema encodings.
type Channel struct {
	ID             uint32 `json:"id"`
	Topic          string `json:"topic"`
	Encoding       string `json:"encoding"`
	SchemaName     string `json:"schemaName"`
	Schema         string `json:"schema"`
	SchemaEncoding string `json:"schemaEncoding,omitempty"`
}

// ServerInfo is the first message a server sends.
type ServerInfo struct {
	Op                 string            `json:"op"` // "serverInfo"
	Name               string            `json:"name"`
	Capabilities       []string          `json:"capabilities"`
	SupportedEncodings []string          `json:"supportedEncodings,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	SessionID          string            `json:"sessionId,omitempty"`
}

// Status is a server's informational, warning or error message.
type Status struct {
	Op      string `json:"op"` // "status"
	Level   int    `json:"level"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
}

// Advertise announces channels.
type Advertise struct {
	Op       string    `json:"op"` // "advertise"
	Channels []Channel `json:"channels"`
}

// Unadvertise withdraws channels.
type Unadvertise struct {
	Op         string   `json:"op"` // "unadvertise"
	ChannelIDs []uint32 `json:"channelIds"`
}

// Subscription pairs a client-chosen subscription id with a channel.
type Subscription struct {
	ID        uint32 `json:"id"`
	ChannelID uint32 `json:"channelId"`
}

// Subscribe is a client's request for channels.
type Subscribe struct {
	Op            string         `json:"op"` // "subscribe"
	Subscriptions []Subscription `json:"subscriptions"`
}

// Unsubscribe ends subscriptions.
type Unsubscribe struct {
	Op              string   `json:"op"` // "unsubscribe"
	SubscriptionIDs []uint32 `json:"subscriptionIds"`
}

// ClientMessage is any JSON message a client sends; Op says which fields
// are meaningful.
type ClientMessage struct {
	Op              string         `json:"op"`
	Subscriptions   []Subscription `json:"subscriptions,omitempty"`
	SubscriptionIDs []uint32       `json:"subscriptionIds,omitempty"`
}

// ServerMessage is any JSON message a server sends; Op says which fields
// are meaningful.
type ServerMessage struct {
	Op           string    `json:"op"`
	Name         string    `json:"name,omitempty"`
	Capabilities []string  `json:"capabilities,omitempty"`
	Level        int       `json:"level,omitempty"`
	Message      string    `json:"message,omitempty"`
	Channels     []Channel `json:"channels,omitempty"`
	ChannelIDs   []uint32  `json:"channelIds,omitempty"`
}

// ParseClientMessage decodes a client's JSON text message. An op the
// caller does not handle is not an error here: the server answers it with
// a status message.
func ParseClientMessage(b []byte) (ClientMessage, error) {
	var m ClientMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("foxglove: client message (%d bytes): %w", len(b), err)
	}
	if m.Op == "" {
		return m, fmt.Errorf("foxglove: client message (%d bytes) has no op", len(b))
	}
	return m, nil
}

// ParseServerMessage decodes a server's JSON text message.
func ParseServerMessage(b []byte) (ServerMessage, error) {
	var m ServerMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("foxglove: server message (%d bytes): %w", len(b), err)
	}
	if m.Op == "" {
		return m, fmt.Errorf("foxglove: server message (%d bytes) has no op", len(b))
	}
	return m, nil
}

// AppendMessageDataHeader appends the 13 bytes that precede a message's
// payload in a message-data frame. A server shares one payload among its
// clients and writes this per-client header before it.
func AppendMessageDataHeader(dst []byte, subscriptionID uint32, receiveTimeNs uint64) []byte {
	dst = append(dst, OpMessageData)
	dst = binary.LittleEndian.AppendUint32(dst, subscriptionID)
	return binary.LittleEndian.AppendUint64(dst, receiveTimeNs)
}

// AppendTime appends a time frame.
func AppendTime(dst []byte, timeNs uint64) []byte {
	dst = append(dst, OpTime)
	return binary.LittleEndian.AppendUint64(dst, timeNs)
}

// BinaryMessage is a parsed server → client binary frame. Payload aliases
// the frame.
type BinaryMessage struct {
	Op             byte
	SubscriptionID uint32 // OpMessageData
	Timestamp      uint64 // receive time (OpMessageData) or server time (OpTime), ns
	Payload        []byte // OpMessageData
}

// ParseServerBinary parses a server's binary frame: message data or time.
// Other opcodes (service responses, assets) are reported as errors naming
// the opcode, as are frames too short for their header.
func ParseServerBinary(b []byte) (BinaryMessage, error) {
	if len(b) == 0 {
		return BinaryMessage{}, fmt.Errorf("foxglove: empty binary message")
	}
	m := BinaryMessage{Op: b[0]}
	switch b[0] {
	case OpMessageData:
		if len(b) < MessageDataHeaderLen {
			return m, fmt.Errorf("foxglove: message-data frame of %d bytes, shorter than its %d-byte header", len(b), MessageDataHeaderLen)
		}
		m.SubscriptionID = binary.LittleEndian.Uint32(b[1:])
		m.Timestamp = binary.LittleEndian.Uint64(b[5:])
		m.Payload = b[MessageDataHeaderLen:]
	case OpTime:
		if len(b) < 9 {
			return m, fmt.Errorf("foxglove: time frame of %d bytes, want 9", len(b))
		}
		m.Timestamp = binary.LittleEndian.Uint64(b[1:])
	default:
		return m, fmt.Errorf("foxglove: binary opcode 0x%02x is not supported (want 0x01 message data or 0x02 time)", b[0])
	}
	return m, nil
}
