package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/ds3d-go/ds3d-go/datasets/synth"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// cmdSynth writes a synthetic sequence (datasets/synth: a seeded street,
// ray-cast lidar) as KITTI velodyne .bin files (x y z intensity), the
// input of the streams and, with -sensor dense, of the cost curves.
func cmdSynth(args []string) error {
	fs := flag.NewFlagSet("synth", flag.ExitOnError)
	sensor := fs.String("sensor", "hdl64e", "sensor: hdl64e, vlp16, vlp32c, os1-128, dense")
	frames := fs.Int("frames", 20, "frames (10 Hz)")
	seed := fs.Uint64("seed", 1, "scene seed")
	dir := fs.String("dir", "out/scale/synth-hdl64e", "output folder")
	fs.Parse(args)
	sc, err := synth.NewScene(*seed, synth.Options{Frames: *frames})
	if err != nil {
		return err
	}
	s, err := synth.NewSensor(*sensor)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	for i := range *frames {
		fd := sc.Frame(i, s)
		p := fd.Points
		c := p.Shape.D[1]
		src := ds3d.AsFloat32(p)
		b := make([]byte, 0, p.Points()*16)
		for k := range p.Points() {
			for j := range 4 { // x y z intensity: the first four columns
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(src[k*c+j]))
			}
		}
		name := filepath.Join(*dir, fmt.Sprintf("%06d.bin", i))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: %d points\n", name, p.Points())
	}
	return nil
}
