package ros2_test

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// kittiImage is a KITTI-sized (1242×375) rgb8 Image message with row padding.
func kittiImage(enc string, bpp, pad int) []byte {
	const w, h = 1242, 375
	step := w*bpp + pad
	data := make([]byte, step*h)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return ros2.AppendImage(nil, &ros2.Image{Header: ros2.HeaderAt(1, "cam2"), Height: h, Width: w, Encoding: enc, Step: uint32(step), Data: data})
}

// BenchmarkImage: decoding a 1242×375 image message into a reused frame
// (rgb8 tightly packed: one copy; bgr8: a channel swap; 16UC1 depth).
func BenchmarkImage(b *testing.B) {
	for _, c := range []struct {
		name     string
		enc      string
		bpp, pad int
	}{{"rgb8-1242x375", "rgb8", 3, 0}, {"bgr8-1242x375", "bgr8", 3, 0}, {"rgb8-padded-1242x375", "rgb8", 3, 2}, {"16UC1-1242x375", "16UC1", 2, 0}} {
		msg := kittiImage(c.enc, c.bpp, c.pad)
		b.Run(c.name, func(b *testing.B) {
			var im ros2.Image
			var dst *ds3d.Frame
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if err := im.Unmarshal(msg); err != nil {
					b.Fatal(err)
				}
				var err error
				if dst, err = im.ToFrame(dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPointCloud2Encode: a 120k-point x y z intensity frame into a
// reused message buffer; reports points/s.
func BenchmarkPointCloud2Encode(b *testing.B) {
	const n = 120_000
	f := ds3d.NewLidarFrame(n)
	for i, v := range ds3d.AsFloat32(f) {
		ds3d.AsFloat32(f)[i] = v + float32(i)/4
	}
	var buf []byte
	b.SetBytes(int64(16 * n))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = ros2.AppendPointCloud2(buf[:0], ros2.HeaderAt(1, "velodyne"), f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// TestTypedAllocs: steady-state decoding into reused values and encoding
// into reused buffers allocate nothing.
func TestTypedAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	imgMsg := kittiImage("bgr8", 3, 2)
	var im ros2.Image
	var frame *ds3d.Frame
	var ci ros2.CameraInfo
	var odo ros2.Odometry
	var tfs []ros2.TransformStamped
	var pc ros2.PointCloud2
	var pcFrame *ds3d.Frame
	var h ros2.Header
	var boxes []ds3d.Box3D
	camMsg := seeds(t, ros2.CameraInfoType)[0]
	odoMsg := seeds(t, ros2.OdometryType)[0]
	tfMsg := ros2.AppendTFMessage(nil, []ros2.TransformStamped{tfAt("map", "odom", 5, [3]float64{1, 2, 3}, [4]float64{0, 0, 0, 1})})
	var ouster []byte
	for _, s := range seeds(t, ros2.PointCloud2Type) {
		if len(s) < 1000 {
			ouster = s
		}
	}
	detMsg := ros2.AppendDetection3DArray(nil, h, []ds3d.Box3D{{DX: 1, DY: 1, DZ: 1, Label: "Car"}})
	lidar := ds3d.NewLidarFrame(100)
	buf := make([]byte, 0, 1<<20)
	tree := ros2.NewTFTree(0)
	tree.Add(tfAt("map", "odom", 0, [3]float64{1, 2, 3}, [4]float64{0, 0, 0, 1}), true)
	for name, fn := range map[string]func() error{
		"Image": func() (err error) {
			if err = im.Unmarshal(imgMsg); err == nil {
				frame, err = im.ToFrame(frame)
			}
			return err
		},
		"CameraInfo": func() error { return ci.Unmarshal(camMsg) },
		"Odometry":   func() error { return odo.Unmarshal(odoMsg) },
		"TFMessage": func() (err error) {
			tfs, err = ros2.UnmarshalTFMessage(tfMsg, tfs)
			return err
		},
		"PointCloud2-extra-columns": func() (err error) {
			if err = pc.Unmarshal(ouster); err == nil {
				pcFrame, err = pc.ToFrame(pcFrame)
			}
			return err
		},
		"Detection3DArray": func() (err error) {
			boxes, err = ros2.UnmarshalDetection3DArray(detMsg, &h, boxes)
			return err
		},
		"AppendPointCloud2": func() (err error) {
			buf, err = ros2.AppendPointCloud2(buf[:0], h, lidar)
			return err
		},
		"AppendImage":     func() error { buf = ros2.AppendImage(buf[:0], &im); return nil },
		"AppendTFMessage": func() error { buf = ros2.AppendTFMessage(buf[:0], tfs); return nil },
		"AppendDetection3DArray": func() error {
			buf = ros2.AppendDetection3DArray(buf[:0], h, boxes)
			return nil
		},
		"AppendMarkerArray": func() error { buf = ros2.AppendMarkerArray(buf[:0], h, boxes, 0); return nil },
	} {
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a := testing.AllocsPerRun(20, func() {
			if err := fn(); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s: %v allocations per message, want 0", name, a)
		}
	}
}

// BenchmarkPointCloud2Columns: a 65536-point Ouster-like cloud (x y z,
// intensity, uint32 t, uint16 reflectivity and ring, float64 timestamp;
// 40-byte points) into a reused 8-column frame: the per-field path.
func BenchmarkPointCloud2Columns(b *testing.B) {
	const n = 65536
	fields := []field{{"x", 0, 7}, {"y", 4, 7}, {"z", 8, 7}, {"intensity", 16, 7}, {"t", 20, 6}, {"reflectivity", 24, 4}, {"ring", 26, 4}, {"timestamp", 32, 8}}
	msg := pc2(false, 64, n/64, fields, 40, 40*n/64, make([]byte, 40*n))
	var pc ros2.PointCloud2
	var dst *ds3d.Frame
	b.SetBytes(40 * n)
	b.ReportAllocs()
	for b.Loop() {
		if err := pc.Unmarshal(msg); err != nil {
			b.Fatal(err)
		}
		var err error
		if dst, err = pc.ToFrame(dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}
