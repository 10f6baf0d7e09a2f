package gpu

import (
	"fmt"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
)

// The point columns of gpu_pillar_scatter_prep: the model names the
// columns it reads (point_columns, as pillar_scatter_prep does) and each
// frame is searched for them by name. When they are the frame's leading
// columns in order (x y z intensity of a KITTI-style frame) the kernels
// read the frame as it is; otherwise the columns are first gathered into
// an [N, U] scratch buffer, on the host for a CPU frame (before the
// upload) and by strided device copies for a device frame. This file holds
// the checks and the host gather, which build without CUDA, so the CPU
// build tests them.

// gpuPillarColumns checks that the GPU can compute p's features and returns
// the point columns its kernels read: x y z, and the fourth column when
// feature i is used. The kernels compute x y z i xc yc zc xp yp zp only: a
// feature that copies a later point column (time, ring, …) is refused
// with the CPU component to use instead.
func gpuPillarColumns(p pointcloud.PillarParams) ([]string, error) {
	cols := p.PointColumns
	if cols == nil {
		cols = pointcloud.DefaultPointColumns
	}
	feats := p.Features
	if feats == nil {
		feats = pointcloud.DefaultFeatures
	}
	used := 3
	for _, f := range feats {
		if f >= pointcloud.ColumnFeature(0) {
			k := int(f - pointcloud.ColumnFeature(0))
			name := fmt.Sprint(k)
			if k < len(cols) {
				name = cols[k]
			}
			return nil, fmt.Errorf("gpu: feature %q copies point column %d (%s): the GPU kernels compute x y z i xc yc zc xp yp zp only; use pillar_scatter_prep (CPU) for column features", name, k, name)
		}
		if f == pointcloud.FeatI {
			used = 4
		}
	}
	if len(cols) < used {
		return nil, fmt.Errorf("gpu: point columns %v: want %d (x, y, z and the column of feature i)", cols, used)
	}
	return cols[:used], nil
}

// columnPlan finds names in src, as pillar_scatter_prep does ("i" is the
// intensity; a frame without column names holds x y z intensity in its
// first four columns), appending their indices to dst. leading reports
// that they are src's first columns in order, so no gather is needed.
func columnPlan(dst []int, src *ds3d.Frame, names []string) (idx []int, leading bool, err error) {
	leading = true
	for k, name := range names {
		if name == "i" {
			name = ds3d.ColIntensity
		}
		i := src.Column(name)
		if src.Columns() == nil {
			i = -1
			for j, n := range []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity} {
				if n == name && j < src.Stride() {
					i = j
				}
			}
		}
		if i < 0 {
			have := fmt.Sprintf("%d unnamed", src.Stride())
			if c := src.Columns(); c != nil {
				have = strings.Join(c, " ")
			}
			return dst, false, fmt.Errorf("gpu_pillar_scatter_prep point_columns: frame has no %q column (its columns: %s)", name, have)
		}
		dst = append(dst, i)
		leading = leading && i == k
	}
	return dst, leading, nil
}

// gatherColumns copies columns idx of the n rows of c float32 values in
// src (raw little-endian bytes) into dst, n rows of len(idx) values, and
// returns dst (grown when short).
func gatherColumns(dst, src []byte, n, c int, idx []int) []byte {
	u := len(idx)
	if cap(dst) < n*u*4 {
		dst = make([]byte, n*u*4)
	}
	dst = dst[:n*u*4]
	for i := 0; i < n; i++ {
		row, out := src[i*c*4:], dst[i*u*4:]
		for k, col := range idx {
			copy(out[4*k:4*k+4], row[4*col:4*col+4])
		}
	}
	return dst
}

// validatePillarConfig checks gpu_pillar_scatter_prep's config: as
// pillar_scatter_prep's, then what the GPU kernels can compute.
func validatePillarConfig(c *pointcloud.PillarConfig) error {
	if err := ds3d.CheckConfig(c); err != nil {
		return err
	}
	p, err := c.Params()
	if err != nil {
		return err
	}
	if _, err := gpuPillarColumns(p); err != nil {
		key := "features"
		if !strings.Contains(err.Error(), "copies point column") {
			key = "point_columns"
		}
		return ds3d.ConfigErrorf(key, "%v", err)
	}
	return nil
}
