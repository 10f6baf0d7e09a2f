package ds3d

import (
	"strconv"
	"strings"
)

// Key names a value in a DataMap. Keys are plain strings compatible with
// DeepStream-3D ("DS3D::LidarXYZI"); a key may carry a sensor suffix "_N"
// (sensor N inside one datamap) and a port suffix "+P" (arrived on mixer
// input P), always in that order: "DS3D::ColorFrame_2+1".
type Key string

// The shared vocabulary (DESIGN.md §3).
const (
	KeyLidarXYZI           Key = "DS3D::LidarXYZI"
	KeyPointXYZ            Key = "DS3D::PointXYZ"
	KeyPointColorCoord     Key = "DS3D::PointColorCoord"
	KeyColorFrame          Key = "DS3D::ColorFrame"
	KeyDepthFrame          Key = "DS3D::DepthFrame"
	KeyDepthScaleUnit      Key = "DS3D::DepthScaleUnit"
	KeyTimestamp           Key = "DS3D::Timestamp"
	KeySourceID            Key = "DS3D::SourceId"
	KeyFirstSourceFrame    Key = "DS3D::FirstSourceFrame"
	KeyEndOfStream         Key = "DS3D::EndOfStream"
	KeyLidar3DBboxRawData  Key = "DS3D::Lidar3DBboxRawData"
	KeyObject2DBbox        Key = "DS3D::Object2DBboxKey"
	KeyFusedDetection      Key = "DS3D::FusedDetectionKey"
	KeyCamIntrinsicMatrix  Key = "DS3D::CamN_IntrinsicMatrix"
	KeyCamIntrinsicParm    Key = "DS3D::CamN_IntrinsicParm"
	KeyLidarToCamExtrinsic Key = "DS3D::LidarToCamN_ExtrinsicMatrix"
	KeyLidarFeatureTensor  Key = "DS3D::LidarFeatureTensor"
	KeyLidarCoordTensor    Key = "DS3D::LidarCoordTensor"
	KeyLidarPointNumTensor Key = "DS3D::LidarPointNumTensor"
	KeyFrameNumber         Key = "DS3D::FrameNumber"
)

// camPlaceholder is the "N" that ds3d writes inside calibration key names
// (DS3D::CamN_IntrinsicMatrix → DS3D::Cam0_IntrinsicMatrix).
const camPlaceholder = "CamN_"

// Sensor returns the key for sensor n: the "_N" suffix for most keys, and the
// in-name camera index for the calibration keys that ds3d spells with "CamN"
// (DS3D::CamN_IntrinsicMatrix → DS3D::Cam2_IntrinsicMatrix).
func (k Key) Sensor(n int) Key {
	base, port, hasPort := k.splitPort()
	s := string(base)
	if strings.Contains(s, camPlaceholder) {
		s = strings.Replace(s, camPlaceholder, "Cam"+strconv.Itoa(n)+"_", 1)
	} else {
		s += "_" + strconv.Itoa(n)
	}
	if hasPort {
		s += "+" + strconv.Itoa(port)
	}
	return Key(s)
}

// Port returns the key as it arrives on mixer input p: k + "+p". A key that
// already carries a port is re-tagged, not tagged twice.
func (k Key) Port(p int) Key {
	base, _, _ := k.splitPort()
	return Key(string(base) + "+" + strconv.Itoa(p))
}

// SplitPort returns the key without its "+P" suffix and P, or -1 when the key
// has no port.
func (k Key) SplitPort() (Key, int) {
	base, p, ok := k.splitPort()
	if !ok {
		return k, -1
	}
	return base, p
}

// SplitSensor returns the key without its "_N" suffix (and without a port)
// and N, or -1 when there is none. Only a trailing run of digits after the
// last underscore counts, so "DS3D::LidarXYZI" is its own base.
func (k Key) SplitSensor() (Key, int) {
	base, _ := k.SplitPort()
	s := string(base)
	i := strings.LastIndexByte(s, '_')
	if i < 0 || i == len(s)-1 {
		return base, -1
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 || s[i+1] == '+' || s[i+1] == '-' {
		return base, -1
	}
	return Key(s[:i]), n
}

func (k Key) splitPort() (Key, int, bool) {
	s := string(k)
	i := strings.LastIndexByte(s, '+')
	if i < 0 || i == len(s)-1 {
		return k, 0, false
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil || p < 0 || s[i+1] == '+' || s[i+1] == '-' {
		return k, 0, false
	}
	return Key(s[:i]), p, true
}

func (k Key) String() string { return string(k) }
