package bus

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestChunksLeaveWithTheStream: chunks are not kept anywhere but the
// datamaps' own stream, under its limits, so they cannot outlive them. A
// chunk published again with its id (bus_publish's retry of a datamap)
// is stored once and acknowledged with the first copy's sequence, which
// the head names; and once max_age has passed, the stream holds neither
// the heads nor the chunks (the embedded JetStream server, a real one).
func TestChunksLeaveWithTheStream(t *testing.T) {
	srv, err := StartEmbedded(&EmbeddedConfig{DataDir: ds3d.Path(t.TempDir()), MaxPayload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultStreamConfig()
	cfg.Stream, cfg.MaxAge, cfg.DupWindow = "CHUNKAGE", time.Second, time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cfg.Ensure(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	// One datamap of three chunks, its chunks published twice (a retry).
	body := []byte(strings.Repeat("0123456789abcdef", 3000))
	const chunk = 20000
	var seqs []string
	for attempt := range 2 {
		seqs = seqs[:0]
		for i, off := 0, 0; off < len(body); i, off = i+1, off+chunk {
			ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: cfg.ChunkSubject(7), Data: body[off:min(off+chunk, len(body))]},
				jetstream.WithMsgID(MsgID("", 7, 1)+".c"+strconv.Itoa(i)))
			if err != nil {
				t.Fatal(err)
			}
			if attempt == 1 && !ack.Duplicate {
				t.Errorf("chunk %d sent again was stored again (sequence %d)", i, ack.Sequence)
			}
			seqs = append(seqs, strconv.FormatUint(ack.Sequence, 10))
		}
	}
	head := &nats.Msg{Subject: cfg.Subject(7), Header: nats.Header{}}
	head.Header.Set(HdrChunks, strings.Join(seqs, ","))
	head.Header.Set(HdrSize, strconv.Itoa(len(body)))
	if _, err := js.PublishMsg(ctx, head, jetstream.WithMsgID(MsgID("", 7, 1))); err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 4 {
		t.Fatalf("the stream holds %d messages, want 3 chunks and the head", info.State.Msgs)
	}
	got, err := Reassemble(ctx, st, head.Header, nil, nil)
	if err != nil || string(got) != string(body) {
		t.Fatalf("reassembled %d bytes (%v), want the %d sent", len(got), err, len(body))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err = st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 && info.State.Bytes == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages (%d bytes) left 10 s after a max_age of 1 s", info.State.Msgs, info.State.Bytes)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := Reassemble(ctx, st, head.Header, nil, nil); err == nil || !strings.Contains(err.Error(), "missing (aged out or deleted)") {
		t.Fatalf("after max_age: %v, want a missing chunk", err)
	}
}
