package imagetensor

import (
	"context"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FuzzImageTensor drives image_tensor with arbitrary image sizes, output
// sizes, scales, crops and pixels. Documented behaviour: a config Validate
// rejects is never built; an image the window does not fit is an error
// naming the camera (and the output frame goes back to its pool); otherwise
// the tensor has the configured shape and every value lies in
// [(0·s − mean)/std, (255·s − mean)/std] of its channel.
func FuzzImageTensor(f *testing.F) {
	f.Add(uint8(40), uint8(30), uint8(16), uint8(8), 0.5, int8(-1), int8(-1), false, uint8(7))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), 0.0, int8(-1), int8(-1), true, uint8(0))
	f.Add(uint8(64), uint8(36), uint8(30), uint8(12), 0.48, int8(1), int8(5), false, uint8(255))
	f.Add(uint8(3), uint8(200), uint8(9), uint8(9), 3.0, int8(0), int8(0), true, uint8(1))
	f.Fuzz(func(t *testing.T, sw, sh, w, h uint8, scale float64, cx, cy int8, rgba bool, seed uint8) {
		c := defaultConfig()
		c.Cameras, c.MemPoolSize = 2, 1
		c.Width, c.Height, c.ResizeScale = int(w), int(h), scale
		if cx >= 0 && cy >= 0 {
			c.Crop = []int{int(cx), int(cy)}
		}
		if err := ds3d.CheckConfig(c); err != nil {
			return
		}
		flt, err := New(c)
		if err != nil {
			t.Fatalf("Validate accepted %+v but New failed: %v", c, err)
		}
		m := ds3d.NewDataMap()
		defer m.Reset()
		for i := 0; i < 2; i++ {
			fr, err := decode.NewColorFrame(max(int(sw), 1), max(int(sh), 1), rgba)
			if err != nil {
				t.Fatal(err)
			}
			for k := range fr.Data {
				fr.Data[k] = byte(k*31 + int(seed)*(i+1))
			}
			m.SetFrame(ds3d.KeyColorFrame.Sensor(i), fr)
		}
		var out *ds3d.Frame
		err = flt.Process(context.Background(), m, func(o *ds3d.DataMap) error {
			out, _ = o.Frame(ds3d.Key(c.OutputKey))
			return nil
		})
		if err != nil {
			if flt.pool.TryGet() == nil {
				t.Fatalf("error %v left the output frame out of its pool", err)
			}
			return
		}
		if out == nil {
			t.Fatal("no output tensor and no error")
		}
		want := []int{1, 2, 3, c.Height, c.Width}
		if got := out.Shape.Dims(); len(got) != len(want) {
			t.Fatalf("shape %v, want %v", got, want)
		} else {
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("shape %v, want %v", got, want)
				}
			}
		}
		v := ds3d.AsFloat32(out)
		plane := c.Height * c.Width
		for i, x := range v {
			ch := (i / plane) % 3
			lo := (0*c.PixelScale - c.Mean[ch]) / c.Std[ch]
			hi := (255*c.PixelScale - c.Mean[ch]) / c.Std[ch]
			if math.IsNaN(float64(x)) || float64(x) < lo-1e-4 || float64(x) > hi+1e-4 {
				t.Fatalf("value %d = %v outside [%v, %v]", i, x, lo, hi)
			}
		}
	})
}
