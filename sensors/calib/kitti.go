package calib

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// KITTI is the calibration of one KITTI object (or tracking) frame, the
// calib/NNNNNN.txt file described in the KITTI object devkit readme
// (devkit_object/readme.txt, "Coordinate Systems" and "Data Format
// Description"). All matrices are row-major.
//
//   - P[i] (P0..P3, 3×4) projects a point in the rectified frame of camera 0
//     to the image of camera i: P[i] = K_i·[I | t_i]. image_2 (P2) is the
//     left colour camera.
//   - R0Rect (R0_rect, 3×3) rotates camera 0's frame into its rectified
//     frame.
//   - TrVeloToCam (Tr_velo_to_cam, 3×4 [R|t]) maps velodyne points (x
//     forward, y left, z up) to camera 0's unrectified frame (x right, y
//     down, z forward).
//   - TrImuToVelo (Tr_imu_to_velo, 3×4 [R|t]) maps IMU/GPS (OXTS) points to
//     velodyne points; HasImu is false when the file has no such line.
//
// A velodyne point x projects to image i as P[i]·R0_rect·Tr_velo_to_cam·x,
// with R0_rect and Tr_velo_to_cam padded to 4×4 (devkit readme, eq. in
// "Coordinate Systems"); VeloToImage returns that 3×4 product.
type KITTI struct {
	P           [4]Projection
	R0Rect      [9]float64
	TrVeloToCam [12]float64
	TrImuToVelo [12]float64
	HasImu      bool
}

// kittiKeys lists the keys a KITTI calib file may hold: the canonical name
// (object benchmark), the aliases the tracking benchmark uses, the count
// of numbers and whether the key is required.
var kittiKeys = []struct {
	name     string
	aliases  []string
	n        int
	required bool
}{
	{"P0", nil, 12, true},
	{"P1", nil, 12, true},
	{"P2", nil, 12, true},
	{"P3", nil, 12, true},
	{"R0_rect", []string{"R_rect"}, 9, true},
	{"Tr_velo_to_cam", []string{"Tr_velo_cam"}, 12, true},
	{"Tr_imu_to_velo", []string{"Tr_imu_velo"}, 12, false},
}

// maxLine bounds one line of a text calibration or label file.
const maxLine = 1 << 20

// ReadKITTI reads a KITTI calib file.
func ReadKITTI(path string) (*KITTI, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calib %s: %w", path, err)
	}
	defer f.Close()
	return ParseKITTI(f, path)
}

// ParseKITTI parses a KITTI calib file; name is used in errors. Each line is
// "KEY: v1 v2 …" (the colon may be missing, as in the tracking benchmark);
// blank lines and unknown keys are skipped. P0–P3, R0_rect and
// Tr_velo_to_cam are required, Tr_imu_to_velo is optional; a key may appear
// once; every value must be a finite number.
func ParseKITTI(r io.Reader, name string) (*KITTI, error) {
	var k KITTI
	seen := make([]int, len(kittiKeys)) // line where each key was read
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		key, rest, ok := strings.Cut(text, ":")
		if !ok {
			key, rest, _ = strings.Cut(text, " ")
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("calib %s: line %d: no key before ':'", name, line)
		}
		if _, err := strconv.ParseFloat(key, 64); err == nil {
			return nil, fmt.Errorf("calib %s: line %d: starts with the number %q, want KEY: values", name, line, key)
		}
		idx := -1
		for i, kk := range kittiKeys {
			if key == kk.name || contains(kk.aliases, key) {
				idx = i
				break
			}
		}
		if idx < 0 {
			continue // unknown keys are allowed
		}
		want := kittiKeys[idx]
		if seen[idx] != 0 {
			return nil, fmt.Errorf("calib %s: line %d: %s appears twice (first on line %d)", name, line, want.name, seen[idx])
		}
		seen[idx] = line
		fields := strings.Fields(rest)
		if len(fields) != want.n {
			return nil, fmt.Errorf("calib %s: line %d: %s has %d numbers, want %d", name, line, key, len(fields), want.n)
		}
		var vals [12]float64
		for i, f := range fields {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("calib %s: line %d: %s value %d is %q, want a finite number", name, line, key, i+1, f)
			}
			vals[i] = v
		}
		switch want.name {
		case "P0", "P1", "P2", "P3":
			copy(k.P[want.name[1]-'0'][:], vals[:12])
		case "R0_rect":
			copy(k.R0Rect[:], vals[:9])
		case "Tr_velo_to_cam":
			copy(k.TrVeloToCam[:], vals[:12])
		case "Tr_imu_to_velo":
			copy(k.TrImuToVelo[:], vals[:12])
			k.HasImu = true
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("calib %s: line %d: longer than %d bytes", name, line+1, maxLine)
		}
		return nil, fmt.Errorf("calib %s: %w", name, err)
	}
	for i, kk := range kittiKeys {
		if kk.required && seen[i] == 0 {
			return nil, fmt.Errorf("calib %s: no %s line (a KITTI calib needs P0, P1, P2, P3, R0_rect and Tr_velo_to_cam)", name, kk.name)
		}
	}
	return &k, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// R0Rect4 returns R0_rect padded to a 4×4 transform (zero translation).
func (k *KITTI) R0Rect4() ds3d.Mat4 {
	m, _ := ds3d.Mat4From(k.R0Rect[:])
	return m
}

// VeloToCam returns Tr_velo_to_cam as a 4×4 transform (velodyne → camera 0,
// unrectified).
func (k *KITTI) VeloToCam() ds3d.Mat4 {
	m, _ := ds3d.Mat4From(k.TrVeloToCam[:])
	return m
}

// ImuToVelo returns Tr_imu_to_velo as a 4×4 transform (identity when the
// file had none; see HasImu).
func (k *KITTI) ImuToVelo() ds3d.Mat4 {
	if !k.HasImu {
		return ds3d.Identity4
	}
	m, _ := ds3d.Mat4From(k.TrImuToVelo[:])
	return m
}

// VeloToRect returns R0_rect·Tr_velo_to_cam (both 4×4): velodyne points to
// the rectified camera-0 frame, the frame KITTI labels are given in.
func (k *KITTI) VeloToRect() ds3d.Mat4 {
	return k.R0Rect4().Mul(k.VeloToCam())
}

// VeloToImage returns P_cam·R0_rect·Tr_velo_to_cam, the 3×4 projection of
// velodyne points into the image of camera cam (0..3; 2 is the left colour
// camera). cam outside 0..3 is clamped.
func (k *KITTI) VeloToImage(cam int) Projection {
	cam = min(max(cam, 0), 3)
	m := k.VeloToRect()
	p := &k.P[cam]
	var out Projection
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			out[r*4+c] = p[r*4]*m[c] + p[r*4+1]*m[4+c] + p[r*4+2]*m[8+c] + p[r*4+3]*m[12+c]
		}
	}
	return out
}

// KITTI frame names used in the Rig.
const (
	KITTIVelodyne = "velodyne"
	KITTIIMU      = "imu"
	KITTICam0     = "camera_0"      // camera 0, unrectified
	KITTIRect     = "camera_0_rect" // camera 0, rectified: the label frame
)

// Rig returns the frame's rig: lidar "velodyne", cameras "image_0" …
// "image_3" whose Projection is VeloToImage(i), and transforms
// velodyne→camera_0, velodyne→camera_0_rect and (when present)
// imu→velodyne. Each camera's intrinsics are the left 3×3 of P_i, and its
// extrinsics velodyne→(camera i, rectified) = [I | K_i⁻¹·p_i]·R0_rect·
// Tr_velo_to_cam, where p_i is P_i's last column — so that
// Intrinsics.Project(Extrinsics·x) = VeloToImage(i)·x. Image sizes are not
// in the file: width and height are zero. source names the file in errors.
func (k *KITTI) Rig(source string) (*Rig, error) {
	rig := &Rig{Source: source, Lidar: KITTIVelodyne}
	rect := k.VeloToRect()
	for i := range k.P {
		p := k.P[i]
		in, err := ds3d.IntrinsicsFromK(p[:], 0, 0)
		if err != nil {
			return nil, fmt.Errorf("calib %s: P%d: %w", source, i, err)
		}
		if p[8] != 0 || p[9] != 0 || p[10] != 1 {
			return nil, fmt.Errorf("calib %s: P%d: last row is %v, want (0 0 1 t)", source, i, p[8:11])
		}
		// t = K⁻¹·p4 by back substitution (K upper-triangular, K22 = 1).
		tz := p[11]
		ty := (p[7] - in.Cy*tz) / in.Fy
		tx := (p[3] - in.Skew*ty - in.Cx*tz) / in.Fx
		shift := ds3d.Identity4
		shift[3], shift[7], shift[11] = tx, ty, tz
		name := fmt.Sprintf("image_%d", i)
		rig.Cameras = append(rig.Cameras, Camera{
			Name:       name,
			Intrinsics: in,
			Extrinsics: ds3d.Extrinsics{From: KITTIVelodyne, To: name, Transform: shift.Mul(rect)},
			Projection: k.VeloToImage(i),
		})
	}
	rig.Transforms = append(rig.Transforms,
		ds3d.Extrinsics{From: KITTIVelodyne, To: KITTICam0, Transform: k.VeloToCam()},
		ds3d.Extrinsics{From: KITTIVelodyne, To: KITTIRect, Transform: rect},
	)
	if k.HasImu {
		rig.Transforms = append(rig.Transforms, ds3d.Extrinsics{From: KITTIIMU, To: KITTIVelodyne, Transform: k.ImuToVelo()})
	}
	return rig, nil
}
