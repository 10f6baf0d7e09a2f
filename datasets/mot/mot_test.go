package mot

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// Row counts and id counts from mot15/PROVENANCE.md.
var files = []struct {
	path       string
	rows, ids  int
	crlf, dets bool
}{
	{"mot15/TUD-Campus/gt.txt", 359, 8, true, false},
	{"mot15/TUD-Campus/test.txt", 222, 13, true, false},
	{"mot15/TUD-Campus/det.txt", 321, 0, false, true},
	{"mot15/PETS09-S2L1/gt.txt", 4650, 19, false, false},
	{"mot15/PETS09-S2L1/det.txt", 4359, 0, false, true},
}

func TestReadMOT15(t *testing.T) {
	for _, f := range files {
		t.Run(f.path, func(t *testing.T) {
			p := sampledata.Shared(t, f.path)
			b, _ := os.ReadFile(p)
			if got := bytes.Contains(b, []byte("\r\n")); got != f.crlf {
				t.Errorf("CRLF = %v, PROVENANCE says %v", got, f.crlf)
			}
			rows, err := Read(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != f.rows {
				t.Errorf("%d rows, want %d", len(rows), f.rows)
			}
			ids := map[int64]bool{}
			for _, r := range rows {
				ids[r.ID] = true
				if f.dets && r.ID != -1 {
					t.Fatalf("detection with id %d", r.ID)
				}
			}
			if !f.dets && len(ids) != f.ids {
				t.Errorf("%d ids, want %d", len(ids), f.ids)
			}
		})
	}
	// First rows, as in the files.
	rows, err := Read(sampledata.Shared(t, "mot15/TUD-Campus/gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0] // 1,1,399,182,121,229,1,-1,-1,-1
	if r.Frame != 1 || r.ID != 1 || r.Left != 399 || r.Top != 182 || r.Width != 121 || r.Height != 229 || r.Conf != 1 ||
		r.X != -1 || r.Z != -1 || r.Class != -1 || !math.IsNaN(r.Visibility) {
		t.Errorf("row 1 = %+v", r)
	}
	o := r.Object2D()
	if o.Left != 399 || o.Width != 121 || o.TrackID != 1 || o.Score != 1 || o.ClassID != -1 {
		t.Errorf("Object2D = %+v", o)
	}
	frames, by := ByFrame(rows)
	if len(frames) != 71 || frames[0] != 1 || frames[70] != 71 {
		t.Errorf("%d frames from %d to %d, want 71 from 1", len(frames), frames[0], frames[len(frames)-1])
	}
	if len(by[1]) == 0 || by[1][0].ID != 1 {
		t.Errorf("frame 1 rows %+v", by[1])
	}
	pets, err := Read(sampledata.Shared(t, "mot15/PETS09-S2L1/gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if r := pets[0]; r.ID != 9 || r.Width != 31.03 || r.X != -4.1554 || r.Y != -7.3591 || r.Z != 0 { // 1,9,499,158,31.03,75.17,1,-4.1554,-7.3591,0
		t.Errorf("PETS row 1 = %+v", r)
	}
	det, _ := Read(sampledata.Shared(t, "mot15/TUD-Campus/det.txt"))
	if r := det[0]; r.Conf != 0.997784 || r.Left != 281.931 { // 1,-1,281.931,187.466,79.93,209.537,0.997784,-1,-1,-1
		t.Errorf("det row 1 = %+v", r)
	}
}

func TestSeqInfo(t *testing.T) {
	s, err := ReadSeqInfo(sampledata.Shared(t, "mot15/TUD-Campus/seqinfo.ini"))
	if err != nil {
		t.Fatal(err)
	}
	want := SeqInfo{Name: "TUD-Campus", ImDir: "img1", FrameRate: 25, SeqLength: 71, ImWidth: 640, ImHeight: 480, ImExt: ".jpg"}
	if s != want {
		t.Errorf("%+v, want %+v", s, want)
	}
	p, err := ReadSeqInfo(sampledata.Shared(t, "mot15/PETS09-S2L1/seqinfo.ini"))
	if err != nil || p.SeqLength != 795 || p.ImWidth != 768 || p.ImHeight != 576 || p.FrameRate != 7 {
		t.Errorf("PETS09 %+v, %v", p, err)
	}
	bad := filepath.Join(t.TempDir(), "seqinfo.ini")
	os.WriteFile(bad, []byte("[Sequence]\nname=x\nframeRate=fast\n"), 0o644)
	if _, err := ReadSeqInfo(bad); err == nil || !strings.Contains(err.Error(), `line 3: frameRate is "fast", want a number`) {
		t.Errorf("bad frameRate: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	b, err := os.ReadFile(sampledata.Shared(t, "mot15/TUD-Campus/gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	cases := []struct{ name, edit, want string }{
		{"columns", "1,1,399,182,121", "gt.txt: line 3: 5 columns, want 6 to 10"},
		{"text", "1,1,399,x,121,229,1,-1,-1,-1", `gt.txt: line 3: column 4 (bb_top) is "x", want a finite number`},
		{"frame 0", "0,1,399,182,121,229,1,-1,-1,-1", "gt.txt: line 3: frame is 0, want an integer ≥ 1"},
		{"fractional id", "1,1.5,399,182,121,229,1,-1,-1,-1", "gt.txt: line 3: id is 1.5, want an integer"},
		{"negative width", "1,1,399,182,-121,229,1,-1,-1,-1", "gt.txt: line 3: box is -121x229"},
		{"class", "1,1,399,182,121,229,1,car,0.5", `line 3: column 8 (class) is "car"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := append([]string{}, lines...)
			in[2] = c.edit + "\r"
			_, err := Parse(strings.NewReader(strings.Join(in, "\n")), "gt.txt")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
	// MOT16/17 ground truth: 9 columns with class and visibility.
	rows, err := Parse(strings.NewReader("1,1,912,484,97,109,0,7,1\n"), "mot17.txt")
	if err != nil || rows[0].Class != 7 || rows[0].Visibility != 1 || rows[0].Conf != 0 || rows[0].X != -1 {
		t.Errorf("9 columns: %+v, %v", rows, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"mot15/TUD-Campus/gt.txt", "mot15/TUD-Campus/det.txt", "mot15/TUD-Campus/test.txt", "mot15/PETS09-S2L1/gt.txt"} {
		if b, err := os.ReadFile(filepath.Join(sampledata.SharedDir(f), p)); err == nil {
			if len(b) > 4096 {
				b = b[:4096] // a few dozen rows are seed enough
			}
			f.Add(b)
		}
	}
	f.Add([]byte("1,1,912,484,97,109,0,7,1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := Parse(bytes.NewReader(b), "fuzz.txt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mot fuzz.txt: ") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		for _, r := range rows {
			if r.Frame < 1 || r.Width < 0 || r.Height < 0 {
				t.Fatalf("accepted a bad row %+v", r)
			}
			_ = r.Object2D()
		}
		_, _ = ByFrame(rows)
	})
}
