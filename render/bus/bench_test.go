package bus

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/bus"
)

const benchPoints = 120_000

// benchMap is a 120k-point lidar datamap with a few boxes, the size of one
// 64-beam scan.
func benchMap() *ds3d.DataMap {
	m := ds3d.NewDataMap()
	f := ds3d.NewLidarFrame(benchPoints)
	pts := ds3d.AsFloat32(f)
	for i := range pts {
		pts[i] = float32(i%977) * 0.01
	}
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	m.SetTimestamp(1)
	m.SetInt64(ds3d.KeySourceID, 0)
	m.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{{CX: 10, DX: 4, DY: 2, DZ: 1.5, Label: "car", TrackID: -1}})
	return m
}

// BenchmarkBus measures one 120k-point datamap through the bus on the
// embedded server (file store, loopback): bus_publish's Render → the
// stream → bus_subscribe's Next → release → ack, pipelined as a running
// pipeline does; and, in the same run, the same encoded bytes through the
// same kind of stream with nats.go alone (async publish with ack and the
// same window, pull-consume, ack). The ratio of the two is the bus's
// overhead: encoding, decoding into pooled frames, the ack token.
func BenchmarkBus(b *testing.B) {
	srv, err := bus.StartEmbedded(&bus.EmbeddedConfig{DataDir: ds3d.Path(b.TempDir()), MaxPayload: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	m := benchMap()
	defer m.Release()
	enc, err := bus.Encode(nil, m, nil)
	if err != nil {
		b.Fatal(err)
	}
	window := 16
	runs := 0

	b.Run("bus/120k", func(b *testing.B) {
		pc := DefaultConfig()
		// Each run gets its own ids: the duplicate window would drop a
		// second run's frame numbers.
		runs++
		pc.URL, pc.Stream, pc.Window, pc.IDPrefix = srv.URL(), "BBUS", window, "r"+strconv.Itoa(runs)+"-"
		p, err := New(pc, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		sc := bus.DefaultSubscribeConfig()
		sc.URL, sc.Stream, sc.Durable = srv.URL(), "BBUS", "bench"
		s, err := bus.NewSubscriber(sc, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(enc)))
		b.ResetTimer()
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for i := 0; i < b.N; i++ {
				got, err := s.Next(ctx)
				if err != nil {
					done <- err
					return
				}
				got.Release()
			}
			done <- nil
		}()
		for i := 0; i < b.N; i++ {
			m.SetInt64(ds3d.KeyFrameNumber, int64(i))
			if err := p.Render(context.Background(), m); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		for s.Stats().Acked < uint64(b.N) {
			time.Sleep(100 * time.Microsecond)
		}
		b.StopTimer()
		if st := p.Stats(); st.Dropped != 0 {
			b.Fatalf("publisher dropped %d", st.Dropped)
		}
		p.Close()
		s.Close()
	})

	b.Run("nats.go/120k", func(b *testing.B) {
		runs++
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4*window))
		if err != nil {
			b.Fatal(err)
		}
		stc := bus.DefaultStreamConfig()
		stc.Stream = "BRAW"
		st, err := stc.Ensure(context.Background(), js)
		if err != nil {
			b.Fatal(err)
		}
		cons, err := st.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{
			Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "BRAW.dm.*"})
		if err != nil {
			b.Fatal(err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(32, 64<<20))
		if err != nil {
			b.Fatal(err)
		}
		defer it.Stop()
		b.SetBytes(int64(len(enc)))
		b.ResetTimer()
		done := make(chan error, 1)
		go func() {
			for i := 0; i < b.N; i++ {
				msg, err := it.Next(jetstream.NextMaxWait(time.Minute))
				if err != nil {
					done <- err
					return
				}
				if err := msg.Ack(); err != nil {
					done <- err
					return
				}
			}
			done <- nc.Flush()
		}()
		var futs []jetstream.PubAckFuture
		for i := 0; i < b.N; i++ {
			if len(futs) == window {
				select {
				case <-futs[0].Ok():
				case err := <-futs[0].Err():
					b.Fatal(err)
				}
				futs = futs[1:]
			}
			f, err := js.PublishAsync("BRAW.dm.0", enc, jetstream.WithMsgID("r"+strconv.Itoa(runs)+"-0-"+strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
			futs = append(futs, f)
		}
		for _, f := range futs {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
	})
}
