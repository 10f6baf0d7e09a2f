package appio_test

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/appio"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// app_source and app_sink in a TOML pipeline: the program takes them by
// name from the built graph, feeds the source from a goroutine and keeps
// what the sink's callback hands it. Datamaps are released when the
// callback returns, so it copies the value it keeps.
func ExampleSourceOf() {
	p, err := config.Parse("app.toml", ".", []byte(`
[[component]]
name = "in"
type = "ds3d::dataloader"
impl = "app_source"
link_to = "out"
[component.config]
queue_size = 2

[[component]]
name = "out"
type = "ds3d::datarender"
impl = "app_sink"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := appio.SourceOf(g, "in")
	out, _ := appio.SinkOf(g, "out")
	var stamps []int64
	out.Handle(func(_ context.Context, m *ds3d.DataMap) error {
		ts, _ := m.Timestamp()
		stamps = append(stamps, ts) // a number: a copy
		return nil
	})
	go func() {
		defer in.EndOfStream()
		for _, ts := range []int64{10, 20, 30} {
			m := ds3d.NewDataMap()
			m.SetTimestamp(ts)
			if in.Push(context.Background(), m) != nil {
				return
			}
		}
	}()
	if err := g.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(stamps)
	// Output: [10 20 30]
}
