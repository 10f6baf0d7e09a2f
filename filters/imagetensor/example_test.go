package imagetensor_test

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/filters/imagetensor"
)

// CUDA-BEVFusion's camera geometry: 1600×900 resized by 0.48 to 768×432,
// then the 704×256 window centred in x and at the bottom; Aug is its
// img_aug_matrix (first two rows shown).
func ExampleNewGeometry() {
	g, err := imagetensor.NewGeometry(1600, 900, 704, 256, 0.48, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("resized %d×%d, crop (%d, %d)\n", g.ResW, g.ResH, g.X0, g.Y0)
	a := g.Aug()
	fmt.Println(a[0:4], a[4:8])
	// Output:
	// resized 768×432, crop (32, 176)
	// [0.48 0 0 -32] [0 0.48 0 -176]
}
