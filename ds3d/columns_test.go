package ds3d_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func ExampleFrame_Columns() {
	f := ds3d.NewLidarFrame(2)
	fmt.Println(f.Columns())
	f.Resize(2, 6)
	f.SetColumns(ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity, ds3d.ColRing, ds3d.ColTime)
	fmt.Println(f.Columns(), f.Column(ds3d.ColRing), f.Column("return"))
	// Output:
	// [x y z intensity]
	// [x y z intensity ring time] 4 -1
}

func TestColumnsFollowShapeAndPool(t *testing.T) {
	f := ds3d.NewLidarFrame(3)
	f.SetColumns("x", "y", "z", "intensity", "ring")
	if got := f.Columns(); !slices.Equal(got, []string{"x", "y", "z", "intensity"}) {
		t.Fatalf("5 names on a 4-column frame: Columns() = %v, want the default", got)
	}
	if f.Stride() != 4 {
		t.Fatalf("Stride = %d", f.Stride())
	}
	if c := ds3d.NewTensorFrame(ds3d.DTypeF32, 3, 7).Columns(); c != nil {
		t.Fatalf("unnamed tensor columns = %v, want nil", c)
	}
	pool, err := ds3d.NewFramePool(1, func() *ds3d.Frame { return ds3d.NewLidarFrame(8) })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, _ := pool.Get(ctx)
	p.Resize(8, 5)
	p.SetColumns("x", "y", "z", "intensity", "ring")
	p.Release()
	p, _ = pool.Get(ctx)
	p.Resize(8, 5)
	if c := p.Columns(); c != nil {
		t.Fatalf("a recycled frame kept its old names: %v", c)
	}
	if n := testing.AllocsPerRun(100, func() {
		p.SetColumns("x", "y", "z", "intensity", "ring")
		p.Release()
		p, _ = pool.Get(ctx)
	}); n != 0 {
		t.Fatalf("SetColumns on a recycled frame allocates %v per run", n)
	}
}
