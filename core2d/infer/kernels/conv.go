package kernels

// ConvGeom is a 2-D convolution's geometry (NCHW input, OIHW weights).
type ConvGeom struct {
	N, C, H, W     int
	M, OH, OW      int
	KH, KW, SH, SW int
	PT, PL, DH, DW int
	G              int
}

// MaxTaps bounds the depthwise window (KH·KW) handled by dwRow.
const MaxTaps = 49

// DwVec describes one output vector of a row for DwSamePlane: its first
// column (in bytes) and the lane masks of the kx = 0, 1, 2 taps and of
// the store (lanes whose input column lies outside the row read nothing,
// which is the zero padding).
type DwVec struct {
	c              int64
	m0, m1, m2, ms uint16
}

// DwSameDesc lists a W-wide row's output vectors: whole vectors, then the
// last 16 columns again (W > 16) or the W < 16 columns under a mask.
func DwSameDesc(W int) []DwVec {
	var cs []int
	for c := 0; c+16 <= W; c += 16 {
		cs = append(cs, c)
	}
	if W%16 != 0 {
		cs = append(cs, max(W-16, 0))
	}
	d := make([]DwVec, len(cs))
	for i, c := range cs {
		v := DwVec{c: int64(c * 4)}
		for l := 0; l < 16; l++ {
			x := c + l
			if x >= W {
				continue
			}
			v.ms |= 1 << l
			v.m1 |= 1 << l
			if x >= 1 {
				v.m0 |= 1 << l
			}
			if x+1 < W {
				v.m2 |= 1 << l
			}
		}
		d[i] = v
	}
	return d
}
