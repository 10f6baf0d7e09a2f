package pointcloud

// cropXYZIScalar crops the 4-column points of s from value offset i on,
// appending the kept ones to d from offset k, and returns the new k.
// Plain float compares: the branches follow the scan's long runs inside and
// outside the box, which beats branch-free masks in scalar code.
func cropXYZIScalar(d, s []float32, b *Box, i, k int) int {
	lx, ly, lz, hx, hy, hz := b.Min[0], b.Min[1], b.Min[2], b.Max[0], b.Max[1], b.Max[2]
	for ; i+4 <= len(s); i += 4 {
		p := (*[4]float32)(s[i:])
		if p[0] >= lx && p[0] <= hx && p[1] >= ly && p[1] <= hy && p[2] >= lz && p[2] <= hz {
			*(*[4]float32)(d[k:]) = *p
			k += 4
		}
	}
	return k
}
