package synth

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// Formats lists the output formats Output writes.
var Formats = []string{"kitti", "nuscenes", "pcd", "mcap"}

// OutputOptions choose what Output writes.
type OutputOptions struct {
	// Formats is a subset of Formats.
	Formats []string
	// Camera adds image_2 PNGs; Depth adds depth_2 16-bit PNGs (mm).
	Camera, Depth bool
	// Truth adds the undistorted points (undistorted/NNNNNN.pcd, or the
	// /points_undistorted topic of the bag).
	Truth bool
}

// Output writes a generated sequence under one folder:
//
//   - kitti: velodyne/, label_2/, calib/ (and image_2/) in the KITTI object
//     layout, readable by datasets/kitti;
//   - nuscenes: nuscenes_boxes.jsonl, one line per frame with the ego pose
//     and every object within 100 m as a nuScenes sample_annotation
//     (global translation, size w l h, rotation w x y z, velocity);
//   - pcd: pcd/NNNNNN.pcd, binary, fields x y z intensity ring time;
//   - mcap: bag/, a rosbag2 bag with /points (PointCloud2, the six
//     columns), /boxes (vision_msgs Detection3DArray) and /tf (the ego
//     pose), stamped 1.5e9 s + frame time.
type Output struct {
	dir    string
	opts   OutputOptions
	has    map[string]bool
	lb     *Labeller
	cam    *Camera
	nusc   *os.File
	nuscW  *bufio.Writer
	bag    *bag.Writer
	topics [4]bag.TopicID
	buf    []byte
	four   *ds3d.Frame
}

// NewOutput prepares dir (created; it must not hold a previous bag).
func NewOutput(dir string, o OutputOptions) (*Output, error) {
	w := &Output{dir: dir, opts: o, has: map[string]bool{}, lb: NewLabeller()}
	w.cam = w.lb.Cam
	for _, f := range o.Formats {
		f = strings.ToLower(strings.TrimSpace(f))
		ok := false
		for _, g := range Formats {
			ok = ok || f == g
		}
		if !ok {
			return nil, fmt.Errorf("synth: unknown format %q (want %s)", f, strings.Join(Formats, ", "))
		}
		w.has[f] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	if w.has["nuscenes"] {
		f, err := os.Create(filepath.Join(dir, "nuscenes_boxes.jsonl"))
		if err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		w.nusc, w.nuscW = f, bufio.NewWriter(f)
	}
	if w.has["mcap"] {
		b, err := bag.Create(filepath.Join(dir, "bag"), bag.WriterOptions{})
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("synth: %w", err)
		}
		w.bag = b
		for i, t := range [...][2]string{{"/points", "sensor_msgs/msg/PointCloud2"}, {"/boxes", "vision_msgs/msg/Detection3DArray"},
			{"/tf", "tf2_msgs/msg/TFMessage"}, {"/points_undistorted", "sensor_msgs/msg/PointCloud2"}} {
			if i == 3 && !o.Truth {
				break
			}
			if w.topics[i], err = b.AddTopic(t[0], t[1], ""); err != nil {
				w.Close()
				return nil, fmt.Errorf("synth: %w", err)
			}
		}
	}
	for _, sub := range []string{"pcd", "undistorted", "depth_2"} {
		if sub == "pcd" && !w.has["pcd"] || sub == "undistorted" && !(o.Truth && w.has["pcd"]) || sub == "depth_2" && !o.Depth {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	return w, nil
}

// bagEpoch puts the bag's stamps at a plausible wall-clock time.
const bagEpoch = 1_500_000_000

// Write writes frame fd of scene s in every chosen format.
func (w *Output) Write(s *Scene, fd *FrameData) error {
	id := fd.Index
	var img *Render
	if w.opts.Camera || w.opts.Depth {
		img = s.Render(w.cam, fd.Pose, fd.Time)
	}
	if w.has["kitti"] || w.opts.Camera {
		var ci *Render
		if w.opts.Camera {
			ci = img
		}
		if err := WriteKITTI(w.dir, id, fd, w.lb.Labels(s, fd), ci); err != nil {
			return err
		}
	}
	if w.opts.Depth {
		if err := WriteDepthPNG(filepath.Join(w.dir, "depth_2", fmt.Sprintf("%06d.png", id)), img); err != nil {
			return err
		}
	}
	if w.has["pcd"] {
		if err := w.writePCD(filepath.Join(w.dir, "pcd", fmt.Sprintf("%06d.pcd", id)), fd.Points); err != nil {
			return err
		}
		if w.opts.Truth {
			if err := w.writePCD(filepath.Join(w.dir, "undistorted", fmt.Sprintf("%06d.pcd", id)), fd.Undistorted); err != nil {
				return err
			}
		}
	}
	if w.nuscW != nil {
		if err := w.writeNuScenes(s, fd); err != nil {
			return err
		}
	}
	if w.bag != nil {
		if err := w.writeBag(fd); err != nil {
			return err
		}
	}
	return nil
}

// writePCD writes x y z intensity (float32), ring (uint16) and time
// (float32) through sensors/lidar's PCD writer.
func (w *Output) writePCD(path string, f *ds3d.Frame) error {
	n, c := f.Points(), f.Stride()
	p := ds3d.AsFloat32(f)
	if w.four == nil {
		w.four = ds3d.NewLidarFrame(0)
	}
	w.four.Resize(n, 4)
	q := ds3d.AsFloat32(w.four)
	ring := make([]byte, 2*n)
	tm := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		copy(q[4*i:4*i+4], p[c*i:c*i+4])
		binary.LittleEndian.PutUint16(ring[2*i:], uint16(p[c*i+4]))
		binary.LittleEndian.PutUint32(tm[4*i:], math.Float32bits(p[c*i+5]))
	}
	cl := &lidar.Cloud{Points: w.four, Intensity: "intensity", Width: n, Height: 1, Viewpoint: [7]float64{3: 1},
		Fields: []lidar.Field{{Name: "x", Type: lidar.Float32, Count: 1}, {Name: "y", Type: lidar.Float32, Count: 1},
			{Name: "z", Type: lidar.Float32, Count: 1}, {Name: "intensity", Type: lidar.Float32, Count: 1},
			{Name: "ring", Type: lidar.Uint16, Count: 1, Data: ring}, {Name: "time", Type: lidar.Float32, Count: 1, Data: tm}}}
	if err := lidar.WriteFile(path, cl, "binary"); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

type nuscBox struct {
	Instance    int        `json:"instance"`
	Category    string     `json:"category_name"`
	Translation [3]float64 `json:"translation"`
	Size        [3]float64 `json:"size"`
	Rotation    [4]float64 `json:"rotation"`
	Velocity    [2]float64 `json:"velocity"`
}

type nuscFrame struct {
	Frame     int   `json:"frame"`
	Timestamp int64 `json:"timestamp"`
	EgoPose   struct {
		Translation [3]float64 `json:"translation"`
		Rotation    [4]float64 `json:"rotation"`
	} `json:"ego_pose"`
	Boxes []nuscBox `json:"boxes"`
}

// nuScenes category names of the classes.
var nuscCategory = [...]string{Car: "vehicle.car", Van: "vehicle.car", Truck: "vehicle.truck", Pedestrian: "human.pedestrian.adult", Cyclist: "vehicle.bicycle"}

func yawQuat(yaw float64) [4]float64 {
	return [4]float64{r6(math.Cos(yaw / 2)), 0, 0, r6(math.Sin(yaw / 2))}
}

// r6 rounds to 6 decimals (µm and µrad), so the file does not carry
// float noise.
func r6(v float64) float64 {
	if r := math.Round(v*1e6) / 1e6; r != 0 {
		return r
	}
	return 0 // not −0
}

func (w *Output) writeNuScenes(s *Scene, fd *FrameData) error {
	var f nuscFrame
	f.Frame, f.Timestamp = fd.Index, int64(math.Round((bagEpoch+fd.Time)*1e6))
	f.EgoPose.Translation = [3]float64{r6(fd.Pose.X), r6(fd.Pose.Y), r6(fd.Pose.Z)}
	f.EgoPose.Rotation = yawQuat(fd.Pose.Yaw)
	f.Boxes = []nuscBox{}
	for _, b := range fd.Boxes {
		o := &s.Objects[b.TrackID]
		x, y := o.At(fd.Time)
		f.Boxes = append(f.Boxes, nuscBox{Instance: o.ID, Category: nuscCategory[o.Class],
			Translation: [3]float64{r6(x), r6(y), r6(o.Z0 + o.H/2)}, Size: [3]float64{r6(o.W), r6(o.L), r6(o.H)},
			Rotation: yawQuat(o.Yaw), Velocity: [2]float64{r6(o.Speed * math.Cos(o.Yaw)), r6(o.Speed * math.Sin(o.Yaw))}})
	}
	b, err := json.Marshal(&f)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	w.nuscW.Write(b)
	return w.nuscW.WriteByte('\n')
}

func (w *Output) writeBag(fd *FrameData) error {
	ns := int64(math.Round((bagEpoch + fd.Time) * 1e9))
	h := ros2.Header{Sec: int32(ns / 1e9), Nanosec: uint32(ns % 1e9), FrameID: "velodyne"}
	var err error
	if w.buf, err = ros2.AppendPointCloud2(w.buf[:0], h, fd.Points); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := w.bag.Write(w.topics[0], ns, ns, w.buf); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	w.buf = ros2.AppendDetection3DArray(w.buf[:0], h, fd.Boxes)
	if err := w.bag.Write(w.topics[1], ns, ns, w.buf); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	q := yawQuat(fd.Pose.Yaw)
	tf := ros2.TransformStamped{Header: ros2.Header{Sec: h.Sec, Nanosec: h.Nanosec, FrameID: "world"}, ChildFrameID: "velodyne",
		Transform: ros2.Transform{Translation: [3]float64{fd.Pose.X, fd.Pose.Y, fd.Pose.Z}, Rotation: [4]float64{q[1], q[2], q[3], q[0]}}}
	w.buf = ros2.AppendTFMessage(w.buf[:0], []ros2.TransformStamped{tf})
	if err := w.bag.Write(w.topics[2], ns, ns, w.buf); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if w.opts.Truth {
		if w.buf, err = ros2.AppendPointCloud2(w.buf[:0], h, fd.Undistorted); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		if err := w.bag.Write(w.topics[3], ns, ns, w.buf); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	return nil
}

// Close finishes the files.
func (w *Output) Close() error {
	var first error
	if w.nuscW != nil {
		if err := w.nuscW.Flush(); err != nil && first == nil {
			first = err
		}
		if err := w.nusc.Close(); err != nil && first == nil {
			first = err
		}
		w.nuscW = nil
	}
	if w.bag != nil {
		if err := w.bag.Close(); err != nil && first == nil {
			first = err
		}
		w.bag = nil
	}
	if first != nil {
		return fmt.Errorf("synth: %w", first)
	}
	return nil
}
