package assign_test

import (
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/track/assign"
)

// Two tracks, three detections: costs are 1 − IoU, NaN where a pair may not
// be matched at all.
func ExampleSolver_Solve() {
	nan := math.NaN()
	cost := []float64{
		0.1, 0.7, nan,
		0.2, nan, 0.4,
	}
	var s assign.Solver
	rowToCol := make([]int, 2)
	n, _ := s.Solve(cost, 2, 3, rowToCol)
	fmt.Println(n, rowToCol)
	// Output: 2 [0 2]
}
