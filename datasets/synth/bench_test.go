package synth

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// BenchmarkScan is one frame of each sensor on one goroutine (the
// HDL-64E frame is ~125k points; dense ~1.5M).
func BenchmarkScan(b *testing.B) {
	s, err := NewScene(1, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range SensorNames {
		b.Run(name, func(b *testing.B) {
			sen, err := NewSensor(name)
			if err != nil {
				b.Fatal(err)
			}
			sc := NewScanner(sen, DefaultLidarOptions())
			var d FrameData
			sc.Scan(&d, s, 0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sc.Scan(&d, s, i%10)
			}
			b.ReportMetric(float64(d.Points.Points()), "points")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(sen.Columns*len(sen.Beams))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrays/s")
		})
	}
}

// BenchmarkRender is one 1242×375 camera image.
func BenchmarkRender(b *testing.B) {
	s, err := NewScene(1, Options{})
	if err != nil {
		b.Fatal(err)
	}
	lb := NewLabeller()
	for i := 0; i < b.N; i++ {
		s.Render(lb.Cam, s.EgoPose(0), 0)
	}
}

// TestScanAllocs: a scanner's frames reuse its buffers.
func TestScanAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts differ under -race")
	s, err := NewScene(1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sen, _ := NewSensor("vlp16")
	sc := NewScanner(sen, DefaultLidarOptions())
	var d FrameData
	for i := 0; i < 3; i++ {
		sc.Scan(&d, s, i)
	}
	i := 0
	if a := testing.AllocsPerRun(5, func() { sc.Scan(&d, s, i%3); i++ }); a != 0 {
		t.Errorf("%.1f allocations a frame, want 0", a)
	}
}
