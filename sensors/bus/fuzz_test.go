package bus

import (
	"bytes"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FuzzDecode feeds the decoder mutations of real encodings (a KITTI scan's
// first points with boxes and calibration, and the full sample datamap of
// the codec tests). Decoding must never panic; what decodes must encode
// again, and that encoding must decode to the same bytes once more (the
// codec is stable after one round).
func FuzzDecode(f *testing.F) {
	small := ds3d.NewDataMap()
	small.SetFrame(ds3d.KeyLidarXYZI, kittiFrame(f, 64))
	small.SetInt64(ds3d.KeySourceID, 0)
	small.SetInt64(ds3d.KeyFrameNumber, 0)
	small.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{{CX: 1, DX: 4, DY: 2, DZ: 1.5, Label: "Car", TrackID: -1}})
	small.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(2), ds3d.Intrinsics{Fx: 721.5, Fy: 721.5, Cx: 609.6, Cy: 172.9, Width: 1242, Height: 375})
	full := sampleMap(f)
	full.Delete(ds3d.KeyLidarXYZI)
	for _, m := range []*ds3d.DataMap{small, full} {
		enc, err := Encode(nil, m, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
		m.Release()
	}
	f.Add([]byte("DS3M\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := ds3d.NewDataMap()
		defer m.Release()
		if Decode(data, m, nil) != nil {
			return
		}
		enc, err := Encode(nil, m, nil)
		if err != nil {
			t.Fatalf("decoded datamap does not encode: %v", err)
		}
		m2 := ds3d.NewDataMap()
		defer m2.Release()
		if err := Decode(enc, m2, nil); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		enc2, err := Encode(nil, m2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable after one round")
		}
	})
}
