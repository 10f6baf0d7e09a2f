package velodyne

import (
	"fmt"
	"strings"
)

// Model is a Velodyne sensor type.
type Model int

// Models. ModelAuto takes the model from each packet's product-id byte.
const (
	ModelAuto Model = iota
	VLP16
	HDL32E
	VLP32C
)

func (m Model) String() string {
	switch m {
	case VLP16:
		return "VLP-16"
	case HDL32E:
		return "HDL-32E"
	case VLP32C:
		return "VLP-32C"
	}
	return "auto"
}

// ParseModel reads "vlp16", "VLP-16", "hdl32e", "vlp32c", "" / "auto".
func ParseModel(s string) (Model, error) {
	k := strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(s))
	switch k {
	case "", "auto":
		return ModelAuto, nil
	case "vlp16", "puck":
		return VLP16, nil
	case "hdl32e", "hdl32":
		return HDL32E, nil
	case "vlp32c", "vlp32", "ultrapuck":
		return VLP32C, nil
	}
	return ModelAuto, fmt.Errorf("velodyne: unknown model %q (want vlp16, hdl32e, vlp32c or auto)", s)
}

// Product-id (factory) bytes, the last byte of a data packet.
const (
	ProductHDL32E = 0x21
	ProductVLP16  = 0x22
	ProductVLP32C = 0x28
)

// Return-mode bytes, the second-to-last byte of a data packet.
const (
	ModeStrongest = 0x37
	ModeLast      = 0x38
	ModeDual      = 0x39
)

func modelOfProduct(b byte) Model {
	switch b {
	case ProductHDL32E:
		return HDL32E
	case ProductVLP16:
		return VLP16
	case ProductVLP32C:
		return VLP32C
	}
	return ModelAuto
}

// timing is a model's firing schedule (Velodyne user manuals: VLP-16 §9.5,
// HDL-32E appendix, VLP-32C §9): a block of 32 ranges takes blockUs
// microseconds, and laser slot j of a block fires at frac[j]·blockUs after
// the block's azimuth was sampled.
type timing struct {
	lasers  int
	blockUs float64
	frac    [32]float64
}

func modelTiming(m Model) timing {
	var t timing
	switch m {
	case VLP16:
		// Two firing sequences of 16 lasers per block, 2.304 µs apart
		// within a sequence, 55.296 µs per sequence.
		t.lasers, t.blockUs = 16, 110.592
		for j := 0; j < 32; j++ {
			t.frac[j] = (float64(j/16)*55.296 + float64(j%16)*2.304) / 110.592
		}
	case HDL32E:
		// 32 lasers fired one after the other, 1.152 µs apart; 40 slots per
		// 46.080 µs cycle (8 slots recharge).
		t.lasers, t.blockUs = 32, 46.08
		for j := 0; j < 32; j++ {
			t.frac[j] = float64(j) * 1.152 / 46.08
		}
	case VLP32C:
		// 16 firings of a laser pair, 2.304 µs apart; 24 slots per 55.296 µs
		// (8 recharge).
		t.lasers, t.blockUs = 32, 55.296
		for j := 0; j < 32; j++ {
			t.frac[j] = float64(j/2) * 2.304 / 55.296
		}
	}
	return t
}
