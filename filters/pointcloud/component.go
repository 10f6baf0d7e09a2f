package pointcloud

import (
	"context"
	"fmt"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// keyed is the input/output plumbing shared by the single-frame components:
// read the frame under in, fill a pooled frame, store it under out.
type keyed struct {
	in, out ds3d.Key
	pool    *ds3d.FramePool
}

func newKeyed(in, out string, poolSize int) (keyed, error) {
	pool, err := ds3d.NewFramePool(poolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		return keyed{}, err
	}
	return keyed{in: ds3d.Key(in), out: ds3d.Key(out), pool: pool}, nil
}

// frames returns the input frame (checked to be a CPU [N,C] f32 frame with
// C ≥ minCols) and a pooled output frame held once.
func (k *keyed) frames(ctx context.Context, m *ds3d.DataMap, minCols int) (src, dst *ds3d.Frame, err error) {
	src, err = m.Frame(k.in)
	if err != nil {
		return nil, nil, err
	}
	if err := checkPoints(src, minCols); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", k.in, err)
	}
	dst, err = k.pool.Get(ctx)
	if err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// checkPoints reports whether f is a CPU [N,C] float32 frame with C ≥ minCols.
func checkPoints(f *ds3d.Frame, minCols int) error {
	switch {
	case f.Mem == ds3d.MemGPU:
		return fmt.Errorf("frame in GPU memory; these filters run on CPU frames")
	case f.DType != ds3d.DTypeF32:
		return fmt.Errorf("frame of %s, want f32", f.DType)
	case f.Shape.NumDims != 2 || f.Shape.D[1] < minCols:
		return fmt.Errorf("frame shape %s, want [N,C] with C ≥ %d", f.Shape, minCols)
	case len(f.Data) < f.Shape.Elements()*4:
		return fmt.Errorf("frame of shape %s holds only %d bytes", f.Shape, len(f.Data))
	}
	return nil
}

// prepare shapes dst like src with n points, gives it src's column names
// and returns both value slices (src limited to its N×C values).
func prepare(dst, src *ds3d.Frame, n int) (d, s []float32) {
	c := src.Shape.D[1]
	s = ds3d.AsFloat32(src)[:src.Shape.D[0]*c]
	dst.DType, dst.Type, dst.Mem = ds3d.DTypeF32, src.Type, ds3d.MemCPU
	dst.Resize(n, c)
	dst.CopyColumns(src)
	return ds3d.AsFloat32(dst), s
}

// columnOf returns the column of src named name. A frame without column
// names (an unnamed tensor) falls back to the fixed positions of x, y, z
// and intensity; otherwise a missing column is an error naming the
// component, the column and the frame's columns.
func columnOf(component string, src *ds3d.Frame, name string) (int, error) {
	if name == "i" {
		name = ds3d.ColIntensity
	}
	if src.Columns() == nil {
		if i, ok := fieldIndex(name); ok && i < src.Stride() {
			return i, nil
		}
	}
	if i := src.Column(name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("%s: frame has no %q column (its columns: %s)", component, name, columnList(src))
}

// columnList describes the columns of f for an error message.
func columnList(f *ds3d.Frame) string {
	if cols := f.Columns(); cols != nil {
		return strings.Join(cols, " ")
	}
	return fmt.Sprintf("%d unnamed", f.Stride())
}

// fieldIndex maps a field name to its column: x, y, z, intensity (or i).
func fieldIndex(name string) (int, bool) {
	switch name {
	case "x":
		return 0, true
	case "y":
		return 1, true
	case "z":
		return 2, true
	case "intensity", "i":
		return 3, true
	}
	return -1, false
}

// PoolStats reports the output frame pool under the output key (for the
// metrics; every filter embedding keyed has it).
func (k *keyed) PoolStats() []ds3d.PoolStat { return []ds3d.PoolStat{k.pool.Stat(string(k.out))} }
