package pipeline_test

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin" // test_source, datamap_file_sink
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// HeightGateConfig is the typed config of the example's filter: each field
// is one TOML key, its doc tag is what `ds3d components` prints for the key,
// and the struct that the factory passed to ds3d.Register returns holds the
// defaults.
type HeightGateConfig struct {
	MaxZ float64 `toml:"max_z" doc:"keep the points whose z (m) is below this height"`
}

// Validate checks what the tags cannot.
func (c *HeightGateConfig) Validate() error {
	if c.MaxZ <= 0 {
		return ds3d.ConfigErrorf("max_z", "must be > 0, got %v", c.MaxZ)
	}
	return nil
}

// heightGate keeps the lidar points below MaxZ: one datamap in, one out.
type heightGate struct{ maxZ float32 }

func (g *heightGate) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	f, err := in.Frame(ds3d.KeyLidarXYZI)
	if err != nil {
		return err
	}
	src := ds3d.AsFloat32(f)[:f.Points()*4]
	kept := make([]float32, 0, len(src))
	for i := 0; i < len(src); i += 4 {
		if src[i+2] < g.maxZ {
			kept = append(kept, src[i:i+4]...)
		}
	}
	out := ds3d.NewLidarFrame(len(kept) / 4)
	copy(ds3d.AsFloat32(out), kept)
	in.SetFrame(ds3d.KeyLidarXYZI, out) // releases the source's pooled frame
	return emit(in)
}

func init() {
	// Registration is all a component needs: the config loader, the
	// validator and `ds3d components` find it by its impl name.
	ds3d.Register(ds3d.KindFilter, "height_gate",
		`Keeps the lidar points below a height (an example filter).`,
		func() *HeightGateConfig { return &HeightGateConfig{MaxZ: 2} },
		func(c *HeightGateConfig, _ *ds3d.Env) (any, error) {
			return &heightGate{maxZ: float32(c.MaxZ)}, nil
		})
}

// A custom filter registered with ds3d.Register, placed in a pipeline built
// from TOML between the builtin test source (a helix of 640 points whose z
// steps through 0, 0.05, … 3.15 m) and a sink that prints one JSON line per
// datamap. Run returns once end of stream has reached the sink.
func Example() {
	const doc = `
[pipeline]
name = "height-gate example"

[[component]]
name = "source"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "gate"
[component.config]
count = 2
points = 640

[[component]]
name = "gate"
type = "ds3d::datafilter"
impl = "height_gate"
link_to = "print"
[component.config]
max_z = 0.975

[[component]]
name = "print"
type = "ds3d::datarender"
impl = "datamap_file_sink"
[component.config]
path = "-"
`
	p, err := config.Parse("example.toml", ".", []byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := g.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("datamaps at the sink:", g.SinkFrames())
	// Output:
	// {"seq":0,"keys":{"DS3D::FrameNumber":0,"DS3D::Timestamp":0,"DS3D::SourceId":0,"DS3D::FirstSourceFrame":1,"DS3D::LidarXYZI":"frame lidar_xyzi f32 [200,4] cpu"}}
	// {"seq":1,"keys":{"DS3D::FrameNumber":1,"DS3D::Timestamp":100000000,"DS3D::SourceId":0,"DS3D::LidarXYZI":"frame lidar_xyzi f32 [200,4] cpu"}}
	// datamaps at the sink: 2
}
