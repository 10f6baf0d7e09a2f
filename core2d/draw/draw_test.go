package draw

import (
	"image"
	"image/color"
	"testing"
)

func TestTextGlyphs(t *testing.T) {
	img := EnsureRGBA(nil, 40, 10)
	white := color.RGBA{255, 255, 255, 255}
	Text(img, 1, 1, "1-L", 1, white)
	// '1': 00100 01100 00100 ... 01110; '-' row 3 = 11111; 'L' column 0 all set.
	want := []string{
		"..#.........#....",
		".##.........#....",
		"..#.........#....",
		"..#...#####.#....",
		"..#.........#....",
		"..#.........#....",
		".###........#####",
	}
	for r, row := range want {
		for c, ch := range row {
			got := img.RGBAAt(1+c, 1+r) == white
			if got != (ch == '#') {
				t.Fatalf("glyph pixel (%d, %d) = %v, want %c", c, r, got, ch)
			}
		}
	}
}

// TestSegmentAndLine walks a steep segment pixel by pixel and draws a line
// whose end points lie far outside the image (clipped first).
func TestSegmentAndLine(t *testing.T) {
	s := NewSegment(0, 0, 2, 5)
	var got []image.Point
	for {
		got = append(got, image.Point{s.X, s.Y})
		if !s.Next() {
			break
		}
	}
	if len(got) != 6 || got[0] != (image.Point{0, 0}) || got[5] != (image.Point{2, 5}) {
		t.Errorf("segment pixels %v", got)
	}
	img := EnsureRGBA(nil, 10, 10)
	red := color.RGBA{255, 0, 0, 255}
	Line(img, -1e9, 5.5, 1e9, 5.5, 1, red)
	for x := 0; x < 10; x++ {
		if img.RGBAAt(x, 5) != red || img.RGBAAt(x, 4) == red {
			t.Fatalf("row 5 at x=%d: %v", x, img.RGBAAt(x, 5))
		}
	}
	if BoxColor([4]uint8{}, 1, nil) != DefaultPalette[1] || BoxColor([4]uint8{}, -1, nil) != UnknownClassColor {
		t.Error("BoxColor: palette or unknown-class colour")
	}
}
