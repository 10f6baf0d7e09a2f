package ds3d

// Column names of point frames. A point frame is [N, C] float32 whose C
// columns are named; x, y, z come first, then intensity when the source
// measures it, then whatever else the sensor gave (ring, per-point time,
// return type, …) so that nothing it measured is dropped on the way to a
// filter, a bag or a broker (docs/ARCHITECTURE.md, "Points with named
// columns"). The names are the ones PointCloud2 fields use in ROS 2.
const (
	ColX         = "x"
	ColY         = "y"
	ColZ         = "z"
	ColIntensity = "intensity"
	// ColRing is the laser channel (0 = the sensor's first channel).
	ColRing = "ring"
	// ColTime is the point's time in seconds relative to the frame's
	// timestamp (negative before it), as float32.
	ColTime = "time"
	// ColReturn is the return type (0 strongest or single, 1 last, 2 …) as
	// the driver numbers it.
	ColReturn = "return"
	// ColTimeLag is the age of a merged sweep's points in seconds (t_now −
	// t_sweep ≥ 0), the column nuScenes-trained models take; the
	// sweep_accumulator appends it.
	ColTimeLag = "time_lag"
)

var (
	colsXYZI = []string{ColX, ColY, ColZ, ColIntensity}
	colsXYZ  = []string{ColX, ColY, ColZ}
)

// Columns returns the names of a point frame's columns: those set by
// SetColumns when their count equals the frame's last dimension, otherwise
// the default of its type (x y z intensity for a 4-column lidar frame, x y z
// for a 3-column point frame), otherwise nil. The slice is the frame's own:
// do not modify it.
func (f *Frame) Columns() []string {
	c := f.Shape.lastDim()
	if c > 0 && len(f.cols) == c {
		return f.cols
	}
	switch {
	case c == 4 && f.Type == FrameLidarXYZI:
		return colsXYZI
	case c == 3 && (f.Type == FramePointXYZ || f.Type == FrameLidarXYZI):
		return colsXYZ
	}
	return nil
}

// SetColumns names the columns of a point frame. The names are copied into
// a buffer the frame keeps (a pooled frame reuses it, so steady state does
// not allocate). Call it after Resize: a name list whose length differs
// from the last dimension is ignored by Columns.
func (f *Frame) SetColumns(names ...string) {
	f.cols = append(f.cols[:0], names...)
}

// CopyColumns gives f the column names of src (the common case of a filter
// that keeps every column).
func (f *Frame) CopyColumns(src *Frame) {
	f.SetColumns(src.Columns()...)
}

// Column returns the index of the named column, or -1.
func (f *Frame) Column(name string) int {
	for i, c := range f.Columns() {
		if c == name {
			return i
		}
	}
	return -1
}

// Stride is the number of float32 values per point of a point frame (its
// last dimension), or 0 for a frame of fewer than two dimensions.
func (f *Frame) Stride() int {
	if f.Shape.NumDims < 2 {
		return 0
	}
	return f.Shape.lastDim()
}

func (s Shape) lastDim() int {
	if s.NumDims < 2 {
		return 0
	}
	return s.D[s.NumDims-1]
}
