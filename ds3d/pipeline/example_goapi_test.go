package pipeline_test

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/appio"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// A pipeline built from Go values, without TOML: the Go program feeds an
// app_source, the height_gate filter of Example runs in between, and an
// app_sink hands every result back to a callback. Datamap k holds k+2
// points at z = 0, 0.4, 0.8, …; the gate keeps those below 1 m.
func Example_goAPI() {
	p, err := config.NewPipeline("go api").
		Add(config.Def{Name: "feed", Impl: "app_source", LinkTo: []string{"gate"}},
			config.Def{Name: "gate", Impl: "height_gate", Config: &HeightGateConfig{MaxZ: 1}, LinkTo: []string{"out"}},
			config.Def{Name: "out", Impl: "app_sink"}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := appio.SourceOf(g, "feed")
	if err != nil {
		fmt.Println(err)
		return
	}
	sink, err := appio.SinkOf(g, "out")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The callback runs on the sink's goroutine; m is released when it
	// returns, so it keeps numbers, not frames.
	sink.Handle(func(_ context.Context, m *ds3d.DataMap) error {
		f, err := m.Frame(ds3d.KeyLidarXYZI)
		if err != nil {
			return err
		}
		ts, _ := m.Timestamp()
		fmt.Printf("t=%d ms: %d points below 1 m\n", ts/1e6, f.Points())
		return nil
	})
	ctx := context.Background()
	go func() {
		defer src.EndOfStream()
		for k := range 3 {
			f := ds3d.NewLidarFrame(k + 2)
			xyzi := ds3d.AsFloat32(f)
			for j := range k + 2 {
				xyzi[4*j+2] = 0.4 * float32(j)
			}
			m := ds3d.NewDataMap()
			m.SetTimestamp(int64(k) * 100e6)
			m.SetFrame(ds3d.KeyLidarXYZI, f)
			if err := src.Push(ctx, m); err != nil {
				return // the pipeline stopped; Run reports why
			}
		}
	}()
	if err := g.Run(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("datamaps handled:", sink.Count())
	// Output:
	// t=0 ms: 2 points below 1 m
	// t=100 ms: 3 points below 1 m
	// t=200 ms: 3 points below 1 m
	// datamaps handled: 3
}

// A pipeline built from Go values is checked as a file is: here the
// config of one component breaks its Validate rule, and a link names a
// component that does not exist.
func Example_buildErrors() {
	_, err := config.NewPipeline("broken").
		Add(config.Def{Name: "src", Impl: "test_source", Config: map[string]any{"count": int64(3)}, LinkTo: []string{"gate"}},
			config.Def{Name: "gate", Impl: "height_gate", Config: &HeightGateConfig{MaxZ: -1}, LinkTo: []string{"sink"}}).
		Build()
	fmt.Println(err)
	// Output:
	// component "gate": key "link_to[0]": links to "sink", which is not a component of this pipeline
	// component "gate": key "config.max_z": must be > 0, got -1
}
