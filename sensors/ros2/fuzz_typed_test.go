package ros2_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// The typed decoders get arbitrary bytes, seeded with the npm reference's
// messages (testdata/cdr): errors, never panics; what decodes re-encodes to
// a message that decodes to the same value.

func addSeeds(f *testing.F, typ string) {
	for _, s := range seeds(f, typ) {
		f.Add(s)
	}
	for _, s := range seeds(f, "") { // other types' bytes as malformed input
		if len(s) < 2048 {
			f.Add(s)
		}
	}
}

func FuzzImage(f *testing.F) {
	addSeeds(f, ros2.ImageType)
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := ros2.DecodeImage(b)
		if err != nil {
			return
		}
		_, _ = im.ToFrame(nil)
		back, err := ros2.DecodeImage(ros2.AppendImage(nil, im))
		if err != nil || !reflect.DeepEqual(back, im) && !(len(back.Data) == 0 && len(im.Data) == 0) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, back, im)
		}
	})
}

func FuzzCompressedImage(f *testing.F) {
	addSeeds(f, ros2.CompressedImageType)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ros2.DecodeCompressedImage(b)
		if err != nil {
			return
		}
		back, err := ros2.DecodeCompressedImage(ros2.AppendCompressedImage(nil, c))
		if err != nil || back.Header != c.Header || back.Format != c.Format || !bytes.Equal(back.Data, c.Data) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzCameraInfo(f *testing.F) {
	addSeeds(f, ros2.CameraInfoType)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ros2.DecodeCameraInfo(b)
		if err != nil {
			return
		}
		_, _ = c.Intrinsics()
		back, err := ros2.DecodeCameraInfo(ros2.AppendCameraInfo(nil, c))
		if err != nil || !bytes.Equal(ros2.AppendCameraInfo(nil, back), ros2.AppendCameraInfo(nil, c)) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzTFMessage(f *testing.F) {
	addSeeds(f, ros2.TFMessageType)
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := ros2.DecodeTFMessage(b)
		if err != nil {
			return
		}
		tree := ros2.NewTFTree(0)
		for i := range ts {
			tree.Add(ts[i], i%2 == 0)
		}
		for i := range ts {
			_, _ = tree.Lookup(ts[0].Header.FrameID, ts[i].ChildFrameID, ts[i].Header.Nanos())
		}
		enc := ros2.AppendTFMessage(nil, ts)
		back, err := ros2.DecodeTFMessage(enc)
		if err != nil || !bytes.Equal(ros2.AppendTFMessage(nil, back), enc) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzOdometry(f *testing.F) {
	addSeeds(f, ros2.OdometryType)
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ros2.DecodeOdometry(b)
		if err != nil {
			return
		}
		enc := ros2.AppendOdometry(nil, o)
		back, err := ros2.DecodeOdometry(enc)
		if err != nil || !bytes.Equal(ros2.AppendOdometry(nil, back), enc) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDetection3DArray(f *testing.F) {
	addSeeds(f, ros2.Detection3DArrayType)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, boxes, err := ros2.DecodeDetection3DArray(b)
		if err != nil {
			return
		}
		if _, back, err := ros2.DecodeDetection3DArray(ros2.AppendDetection3DArray(nil, h, boxes)); err != nil || len(back) != len(boxes) {
			t.Fatalf("round trip: %v", err)
		}
		_ = ros2.AppendMarkerArray(nil, h, boxes, 0)
	})
}

func FuzzDetection2DArray(f *testing.F) {
	addSeeds(f, ros2.Detection2DArrayType)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, objs, err := ros2.DecodeDetection2DArray(b)
		if err != nil {
			return
		}
		if _, back, err := ros2.DecodeDetection2DArray(ros2.AppendDetection2DArray(nil, h, objs)); err != nil || len(back) != len(objs) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzBuiltinSchemas decodes arbitrary bytes with every built-in
// definition: Decode and Skip agree.
func FuzzBuiltinSchemas(f *testing.F) {
	types := ros2.Definitions()
	for _, s := range seeds(f, "") {
		for i := range types {
			if i%7 == 0 {
				f.Add(uint8(i), s)
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		s, err := ros2.BuiltinSchema(types[int(which)%len(types)])
		if err != nil {
			t.Fatal(err)
		}
		_, err1 := s.Decode(b)
		_, err2 := s.Skip(b)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Decode %v, Skip %v", err1, err2)
		}
	})
}
