package foxglove

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
)

func TestMessageDataRoundTrip(t *testing.T) {
	payload := []byte{0, 1, 0, 0, 42}
	b := AppendMessageDataHeader(nil, 0x01020304, 1_700_000_000_123_456_789)
	if len(b) != MessageDataHeaderLen {
		t.Fatalf("header of %d bytes", len(b))
	}
	// The spec's layout: opcode, u32 LE subscription id, u64 LE timestamp.
	want := []byte{1, 4, 3, 2, 1}
	want = binary.LittleEndian.AppendUint64(want, 1_700_000_000_123_456_789)
	if !bytes.Equal(b, want) {
		t.Fatalf("header % x, want % x", b, want)
	}
	m, err := ParseServerBinary(append(b, payload...))
	if err != nil {
		t.Fatal(err)
	}
	if m.Op != OpMessageData || m.SubscriptionID != 0x01020304 || m.Timestamp != 1_700_000_000_123_456_789 || !bytes.Equal(m.Payload, payload) {
		t.Errorf("parsed %+v", m)
	}
	tm, err := ParseServerBinary(AppendTime(nil, 99))
	if err != nil || tm.Op != OpTime || tm.Timestamp != 99 {
		t.Errorf("time frame: %+v %v", tm, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{nil, "empty"},
		{[]byte{1, 0, 0}, "shorter than its 13-byte header"},
		{[]byte{2, 0}, "time frame of 2 bytes"},
		{[]byte{3, 0, 0, 0, 0}, "opcode 0x03"},
	} {
		if _, err := ParseServerBinary(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("% x: %v, want an error containing %q", tc.b, err, tc.want)
		}
	}
	if _, err := ParseClientMessage([]byte(`{"subscriptions":[]}`)); err == nil || !strings.Contains(err.Error(), "no op") {
		t.Errorf("message without op: %v", err)
	}
	if _, err := ParseClientMessage([]byte(`{"op":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
}

// The JSON field names are the spec's (camelCase, channelId, subscriptionIds).
func TestJSONNames(t *testing.T) {
	b, _ := json.Marshal(Subscribe{Op: "subscribe", Subscriptions: []Subscription{{ID: 1, ChannelID: 2}}})
	if string(b) != `{"op":"subscribe","subscriptions":[{"id":1,"channelId":2}]}` {
		t.Errorf("subscribe: %s", b)
	}
	b, _ = json.Marshal(Channel{ID: 1, Topic: "/t", Encoding: "cdr", SchemaName: "a/msg/B", Schema: "int32 x", SchemaEncoding: "ros2msg"})
	if string(b) != `{"id":1,"topic":"/t","encoding":"cdr","schemaName":"a/msg/B","schema":"int32 x","schemaEncoding":"ros2msg"}` {
		t.Errorf("channel: %s", b)
	}
	m, err := ParseClientMessage([]byte(`{"op":"unsubscribe","subscriptionIds":[3,4]}`))
	if err != nil || len(m.SubscriptionIDs) != 2 || m.SubscriptionIDs[1] != 4 {
		t.Errorf("unsubscribe: %+v %v", m, err)
	}
}

func FuzzParseServerBinary(f *testing.F) {
	f.Add(append(AppendMessageDataHeader(nil, 1, 2), 0, 1, 0, 0, 1, 2, 3))
	f.Add(AppendTime(nil, 5))
	f.Add([]byte{4, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseServerBinary(b)
		if err == nil && m.Op == OpMessageData && len(m.Payload) != len(b)-MessageDataHeaderLen {
			t.Fatalf("payload of %d bytes from %d", len(m.Payload), len(b))
		}
	})
}

func FuzzParseClientMessage(f *testing.F) {
	f.Add([]byte(`{"op":"subscribe","subscriptions":[{"id":1,"channelId":2}]}`))
	f.Add([]byte(`{"op":"unsubscribe","subscriptionIds":[1]}`))
	f.Add([]byte(`{"op":"getParameters","parameterNames":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseClientMessage(b); err == nil && m.Op == "" {
			t.Fatal("accepted a message without op")
		}
	})
}
