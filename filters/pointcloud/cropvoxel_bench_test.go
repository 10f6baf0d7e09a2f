package pointcloud

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/cputime"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// dense2M is a 2,040,000-point cloud at the density of a 128-beam lidar
// sweep: 17 copies of the bundled KITTI frames 000000–000004 (120k points
// each, cycled), copy k turned by k·360°/17 about z and moved 1 cm·k, so
// the copies interleave instead of stacking in the same voxels. Points keep
// the scan order of their frame, frame after frame.
func dense2M(tb testing.TB) *ds3d.Frame {
	var frames []*ds3d.Frame
	for _, id := range []string{"000000", "000001", "000002", "000003", "000004"} {
		frames = append(frames, readCloud(tb, sampledata.Shared(tb, "kitti-object/training/velodyne/"+id+".bin")))
	}
	const copies, per = 17, 120000
	out := ds3d.NewLidarFrame(copies * per)
	d := ds3d.AsFloat32(out)
	k := 0
	for c := 0; c < copies; c++ {
		s := ds3d.AsFloat32(frames[c%len(frames)])
		sn, cs := math.Sincos(float64(c) * 2 * math.Pi / copies)
		off := 0.01 * float64(c)
		for i := 0; i < per; i++ {
			j := i % (len(s) / 4) * 4
			x, y := float64(s[j]), float64(s[j+1])
			d[k], d[k+1] = float32(x*cs-y*sn+off), float32(x*sn+y*cs+off)
			d[k+2], d[k+3] = s[j+2], s[j+3]
			k += 4
		}
	}
	return out
}

// denseSweep is KITTI 000000 resampled to 18× its points (2,076,912), in
// scan order, like one sweep of a lidar with finer angular steps: each
// point is followed by 17 points evenly spaced towards the next point of
// the scan when that one is within 0.5 m (same ring, neighbouring
// azimuth), else by 17 copies 1 mm apart in z.
func denseSweep(tb testing.TB) *ds3d.Frame {
	s := ds3d.AsFloat32(kitti0(tb))
	n := len(s) / 4
	const k = 18
	out := ds3d.NewLidarFrame(k * n)
	d := ds3d.AsFloat32(out)
	for i := 0; i < n; i++ {
		p, q := s[4*i:4*i+4], s[4*min(i+1, n-1):]
		dx, dy, dz := q[0]-p[0], q[1]-p[1], q[2]-p[2]
		near := dx*dx+dy*dy+dz*dz < 0.25
		for j := 0; j < k; j++ {
			o := d[4*(k*i+j):]
			if t := float32(j) / k; near {
				o[0], o[1], o[2] = p[0]+t*dx, p[1]+t*dy, p[2]+t*dz
			} else {
				o[0], o[1], o[2] = p[0], p[1], p[2]+0.001*float32(j)
			}
			o[3] = p[3]
		}
	}
	return out
}

// BenchmarkCropVoxel2M is the 2M-point goal of issue #19: crop to the
// KITTI ROI, then a 0.2 m voxel grid, on one core (≤ 15 ms per frame), on
// 17 interleaved KITTI frames (dense2M: each voxel is revisited by many
// frames, far apart in the cloud) and on one densified sweep (denseSweep:
// scan order, the locality of a real sensor).
func BenchmarkCropVoxel2M(b *testing.B) {
	for _, cl := range []struct {
		name string
		make func(testing.TB) *ds3d.Frame
	}{{"kitti17", dense2M}, {"sweep18", denseSweep}} {
		b.Run(cl.name, func(b *testing.B) { benchCropVoxel(b, cl.make(b)) })
	}
}

func benchCropVoxel(b *testing.B, src *ds3d.Frame) {
	mid, dst := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)
	v := VoxelGrid{Leaf: [3]float32{0.2, 0.2, 0.2}}
	for _, st := range []struct {
		name string
		run  func()
	}{
		{"crop", func() { Crop(mid, src, kittiROI) }},
		{"voxel", func() {
			if _, err := v.Filter(dst, mid); err != nil {
				b.Fatal(err)
			}
		}},
		{"crop+voxel", func() {
			Crop(mid, src, kittiROI)
			if _, err := v.Filter(dst, mid); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		Crop(mid, src, kittiROI)
		b.Run(st.name, func(b *testing.B) {
			var c cputime.Timer
			c.Start()
			for b.Loop() {
				st.run()
			}
			c.Stop(b)
			reportPoints(b, src.Points())
		})
	}
	b.Logf("%d points, %d in the ROI, %d voxels", src.Points(), mid.Points(), dst.Points())
}
