package ros2

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// CameraInfoType is the ROS 2 name of the calibration message.
const CameraInfoType = "sensor_msgs/msg/CameraInfo"

// Distortion models of sensor_msgs/msg/CameraInfo (sensor_msgs/distortion_models.hpp).
const (
	// DistortionPlumbBob is OpenCV's pinhole model with 5 coefficients
	// k1 k2 p1 p2 k3 (the order of ds3d.Intrinsics.Distortion).
	DistortionPlumbBob = "plumb_bob"
	// DistortionRationalPolynomial is OpenCV's 8-coefficient pinhole model
	// k1 k2 p1 p2 k3 k4 k5 k6.
	DistortionRationalPolynomial = "rational_polynomial"
	// DistortionEquidistant is OpenCV's fisheye model, k1 k2 k3 k4 of
	// θd = θ(1 + k1θ² + k2θ⁴ + k3θ⁶ + k4θ⁸): not the pinhole order.
	DistortionEquidistant = "equidistant"
)

// RegionOfInterest is sensor_msgs/msg/RegionOfInterest.
type RegionOfInterest struct {
	XOffset, YOffset, Height, Width uint32
	DoRectify                       bool
}

// CameraInfo is sensor_msgs/msg/CameraInfo: K, R and P row-major.
type CameraInfo struct {
	Header             Header
	Height, Width      uint32
	DistortionModel    string
	D                  []float64
	K                  [9]float64
	R                  [9]float64
	P                  [12]float64
	BinningX, BinningY uint32
	ROI                RegionOfInterest
}

// DecodeCameraInfo decodes a CDR sensor_msgs/msg/CameraInfo.
func DecodeCameraInfo(b []byte) (*CameraInfo, error) {
	c := new(CameraInfo)
	if err := c.Unmarshal(b); err != nil {
		return nil, err
	}
	return c, nil
}

// Unmarshal is DecodeCameraInfo into c, reusing its D slice and strings.
func (c *CameraInfo) Unmarshal(b []byte) error {
	d, err := newDec(b)
	if err != nil {
		return fmt.Errorf("CameraInfo: %w", err)
	}
	d.header(&c.Header)
	c.Height = d.u32("height")
	c.Width = d.u32("width")
	d.str(&c.DistortionModel, "distortion_model")
	n := d.count("d", 8)
	c.D = resize(c.D, n)
	d.f64s(c.D, "d")
	d.f64s(c.K[:], "k")
	d.f64s(c.R[:], "r")
	d.f64s(c.P[:], "p")
	c.BinningX = d.u32("binning_x")
	c.BinningY = d.u32("binning_y")
	c.ROI.XOffset = d.u32("roi.x_offset")
	c.ROI.YOffset = d.u32("roi.y_offset")
	c.ROI.Height = d.u32("roi.height")
	c.ROI.Width = d.u32("roi.width")
	c.ROI.DoRectify = d.boolean("roi.do_rectify")
	return d.done("CameraInfo")
}

// AppendCameraInfo appends c as a CDR message to dst.
func AppendCameraInfo(dst []byte, c *CameraInfo) []byte {
	w := NewWriter(dst)
	w.Header(&c.Header)
	w.Uint32(c.Height)
	w.Uint32(c.Width)
	w.String(c.DistortionModel)
	w.Count(len(c.D))
	w.Float64s(c.D)
	w.Float64s(c.K[:])
	w.Float64s(c.R[:])
	w.Float64s(c.P[:])
	w.Uint32(c.BinningX)
	w.Uint32(c.BinningY)
	w.Uint32(c.ROI.XOffset)
	w.Uint32(c.ROI.YOffset)
	w.Uint32(c.ROI.Height)
	w.Uint32(c.ROI.Width)
	w.Bool(c.ROI.DoRectify)
	return w.Bytes()
}

// Intrinsics returns the camera's pinhole intrinsics from K (from P when K
// is all zero, as for an uncalibrated camera publishing only P) with the
// image size, and D as the distortion. plumb_bob and rational_polynomial
// coefficients are in the pinhole order ds3d.Intrinsics documents; for
// equidistant they are the fisheye k1..k4 and the caller must look at
// DistortionModel before undistorting. Another model with a non-zero D, or
// a zero focal length, is an error.
func (c *CameraInfo) Intrinsics() (ds3d.Intrinsics, error) {
	k := c.K[:]
	if c.K == [9]float64{} {
		k = c.P[:]
	}
	in, err := ds3d.IntrinsicsFromK(k, int(c.Width), int(c.Height))
	if err != nil {
		return ds3d.Intrinsics{}, fmt.Errorf("CameraInfo %q: %w", c.Header.FrameID, err)
	}
	zero := true
	for _, v := range c.D {
		zero = zero && v == 0
	}
	switch c.DistortionModel {
	case DistortionPlumbBob, DistortionRationalPolynomial, DistortionEquidistant:
	default:
		if !zero {
			return ds3d.Intrinsics{}, fmt.Errorf("CameraInfo %q: distortion model %q is not one of plumb_bob, rational_polynomial, equidistant", c.Header.FrameID, c.DistortionModel)
		}
	}
	if !zero {
		in.Distortion = append([]float64(nil), c.D...)
	}
	return in, nil
}

// CameraInfoFromIntrinsics is the CameraInfo of an unrectified pinhole
// camera: K from in, R the identity, P = [K | 0], D in.Distortion under
// model (plumb_bob when empty).
func CameraInfoFromIntrinsics(h Header, in ds3d.Intrinsics, model string) *CameraInfo {
	if model == "" {
		model = DistortionPlumbBob
	}
	c := &CameraInfo{Header: h, Width: uint32(in.Width), Height: uint32(in.Height), DistortionModel: model,
		D: append([]float64{}, in.Distortion...), K: in.K(), R: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	for r := range 3 {
		copy(c.P[4*r:4*r+3], c.K[3*r:3*r+3])
	}
	return c
}
