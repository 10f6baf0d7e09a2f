package lidar_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// record is what the recording sink saw of one datamap.
type record struct {
	dstest.Meta
	points map[ds3d.Key]int
	first  [4]float32
}

func summarise(m *ds3d.DataMap) (record, error) {
	rec := record{Meta: dstest.MetaOf(m), points: map[ds3d.Key]int{}}
	m.Range(func(k ds3d.Key, v any) bool {
		if f, ok := v.(*ds3d.Frame); ok {
			rec.points[k] = f.Points()
			copy(rec.first[:], ds3d.AsFloat32(f))
		}
		return true
	})
	return rec, nil
}

// runLoader runs lidar_file_loader with loaderCfg (paths relative to dir)
// into a recorder.
func runLoader(t *testing.T, dir, loaderCfg string) []record {
	t.Helper()
	return dstest.MustRecord(t, dir, "lidar_file_loader", loaderCfg, summarise)
}

// sizePoints is the independent count: file size over the record size.
func sizePoints(t *testing.T, path string, stride int) int {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Size()) / (4 * stride)
}

func TestFileLoaderKITTIList(t *testing.T) {
	velo := sampledata.Shared(t, "kitti-object/training/velodyne")
	dir := t.TempDir()
	var list strings.Builder
	want := map[int]int{}
	for i := 0; i < 5; i++ {
		f := filepath.Join(velo, "00000"+string(rune('0'+i))+".bin")
		list.WriteString("[[frame]]\ntimestamp_ms = " + []string{"0", "100", "200.5", "300", "400"}[i] + "\npath = \"" + f + "\"\n")
		want[i] = sizePoints(t, f, 4)
	}
	os.WriteFile(filepath.Join(dir, "list.toml"), []byte(list.String()), 0o644)
	recs := runLoader(t, dir, `data_config_file = "list.toml"
mem_pool_size = 2`)
	if len(recs) != 5 {
		t.Fatalf("%d datamaps, want 5", len(recs))
	}
	// PROVENANCE.md: 115384, 120268, 126891, 113110, 115976 points.
	prov := []int{115384, 120268, 126891, 113110, 115976}
	for i, r := range recs {
		if r.Frame != int64(i) || r.points[ds3d.KeyLidarXYZI] != want[i] || want[i] != prov[i] {
			t.Errorf("frame %d: %+v, want %d points", i, r, want[i])
		}
	}
	if recs[2].Timestamp != 200_500_000 {
		t.Errorf("timestamp of frame 2 = %d ns, want 200.5 ms", recs[2].Timestamp)
	}
}

func TestFileLoaderYAMLAndMultiSource(t *testing.T) {
	velo := sampledata.Shared(t, "kitti-object/training/velodyne")
	nus := sampledata.Shared(t, "nuscenes-mini-sample/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin")
	dir := t.TempDir()
	// ds3d's YAML form: a sequence of {timestamp_ms: path}.
	yamlList := "source-id: 7\nlidar_data_list:\n  - 0: " + filepath.Join(velo, "000000.bin") + "\n  - 50: " + filepath.Join(velo, "000001.bin") + "\n"
	os.WriteFile(filepath.Join(dir, "kitti.yaml"), []byte(yamlList), 0o644)
	os.WriteFile(filepath.Join(dir, "nus.toml"), []byte("[[frame]]\ntimestamp_ms = 0\npath = \""+nus+"\"\n[[frame]]\ntimestamp_ms = 50\npath = \""+nus+"\"\n"), 0o644)
	recs := runLoader(t, dir, `data_config_file = ["kitti.yaml", "nus.toml"]
output_datamap_key = ["DS3D::LidarXYZI_0", "DS3D::LidarXYZI_1"]`)
	if len(recs) != 2 {
		t.Fatalf("%d datamaps, want 2", len(recs))
	}
	k0, k1 := ds3d.KeyLidarXYZI.Sensor(0), ds3d.KeyLidarXYZI.Sensor(1)
	if recs[1].points[k0] != sizePoints(t, filepath.Join(velo, "000001.bin"), 4) {
		t.Errorf("kitti source: %v", recs[1].points)
	}
	// nuScenes: 5 floats per point; PROVENANCE: 34,688 points.
	if recs[0].points[k1] != 34688 || sizePoints(t, nus, 5) != 34688 {
		t.Errorf("nuScenes source: %v", recs[0].points)
	}
	if recs[0].Source != 7 || recs[1].Timestamp != 50_000_000 {
		t.Errorf("source id %d, ts %d", recs[0].Source, recs[1].Timestamp)
	}
}

func TestFileLoaderGlobLoopAndFixedPoints(t *testing.T) {
	velo := sampledata.Shared(t, "kitti-object/training/velodyne")
	dir := t.TempDir()
	recs := runLoader(t, dir, `files = ["`+velo+`/00000[0-1].bin"]
rate_hz = 20.0
points_num = 120000
fixed_points_num = true`)
	if len(recs) != 2 {
		t.Fatalf("%d datamaps", len(recs))
	}
	// 000000 has 115,384 points: padded to 120,000; 000001 (120,268) is cut.
	for i, r := range recs {
		if r.points[ds3d.KeyLidarXYZI] != 120000 {
			t.Errorf("frame %d has %d points, want 120000", i, r.points[ds3d.KeyLidarXYZI])
		}
	}
	if recs[1].Timestamp != 50_000_000 {
		t.Errorf("glob timestamps: %d", recs[1].Timestamp)
	}
}

func TestFileLoaderPaddingIsZero(t *testing.T) {
	path := sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin")
	cfg := &lidar.FileLoaderConfig{Files: []ds3d.Path{ds3d.Path(path)}, RateHz: 10, ElementSize: 4, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}, PointsNum: 115400, FixedPointsNum: true, FileLoop: true}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := lidar.NewFileLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var lastTs int64 = -1
	for k := 0; k < 3; k++ { // one file, looped: timestamps keep increasing
		m, err := l.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := m.Frame(ds3d.KeyLidarXYZI)
		p := ds3d.AsFloat32(f)
		for _, v := range p[115384*4:] {
			if v != 0 {
				t.Fatalf("padding holds %v", v)
			}
		}
		ts, _ := m.Timestamp()
		if ts <= lastTs {
			t.Errorf("loop %d: timestamp %d after %d", k, ts, lastTs)
		}
		lastTs = ts
		m.Release()
	}
}

func TestFileLoaderErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	cases := []struct {
		name, file, body string
		want             []string
	}{
		{"missing file", "a.toml", "[[frame]]\ntimestamp_ms = 0\npath = \"nope.bin\"\n", []string{"a.toml: line 1: frame 0", "nope.bin"}},
		{"missing second", "b.toml", "[[frame]]\ntimestamp_ms = 0\npath = \"b.toml\"\n\n[[frame]]\ntimestamp_ms = 1\npath = \"gone.bin\"\n", []string{"b.toml: line 5: frame 1", "gone.bin"}},
		{"no timestamp", "c.toml", "[[frame]]\npath = \"c.toml\"\n", []string{"c.toml: line 1: frame 0 has no timestamp_ms"}},
		{"unknown key", "d.toml", "[[frame]]\ntimestamp = 0\npath = \"d.toml\"\n", []string{"d.toml: line 2: unknown key", "timestamp"}},
		{"yaml bad ts", "e.yaml", "- abc: x.bin\n", []string{"e.yaml: line 1", "not a number of milliseconds"}},
		{"yaml missing", "f.yaml", "- 0: f.yaml\n- 10: missing.bin\n", []string{"f.yaml: line 2: frame 1", "missing.bin"}},
		{"empty", "g.toml", "", []string{"g.toml: no frames"}},
		{"pose size", "h.toml", "[[frame]]\ntimestamp_ms = 0\npath = \"h.toml\"\nego_pose = [1, 0, 0]\n", []string{"h.toml: line 1: frame 0: ego_pose: want 16 numbers", "got 3"}},
		{"pose scale", "i.toml", "[[frame]]\ntimestamp_ms = 0\npath = \"i.toml\"\nego_pose = [2,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\n", []string{"i.toml: line 1: frame 0: ego_pose: the 3×3 part is not a rotation"}},
		{"pose row", "j.toml", "[[frame]]\ntimestamp_ms = 0\npath = \"j.toml\"\nego_pose = [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,1,1]\n", []string{"j.toml: line 1: frame 0: ego_pose: last row"}},
		{"pose mirror", "k.toml", "[[frame]]\ntimestamp_ms = 0\npath = \"k.toml\"\nego_pose = [-1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\n", []string{"k.toml: line 1: frame 0: ego_pose: the 3×3 part is a reflection"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := lidar.ReadList(write(c.file, c.body))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// A truncated file in a valid list fails at read time with the list's line.
	trunc := write("trunc.bin", "0123456789")
	write("t.toml", "[[frame]]\ntimestamp_ms = 0\npath = \""+trunc+"\"\n")
	cfg := &lidar.FileLoaderConfig{DataConfigFile: []ds3d.Path{ds3d.Path(filepath.Join(dir, "t.toml"))}, RateHz: 10, ElementSize: 4, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}}
	l, err := lidar.NewFileLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Next(context.Background())
	if err == nil || !strings.Contains(err.Error(), "t.toml line 1") || !strings.Contains(err.Error(), "trunc.bin") {
		t.Errorf("truncated file error = %v", err)
	}
}

func TestFileLoaderMaxFrames(t *testing.T) {
	path := sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin")
	cfg := &lidar.FileLoaderConfig{Files: []ds3d.Path{ds3d.Path(path)}, RateHz: 10, ElementSize: 4, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}, FileLoop: true, MaxFrames: 7}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := lidar.NewFileLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 7 {
		t.Errorf("Len %d, want 7", l.Len())
	}
	n := 0
	for {
		m, err := l.Next(context.Background())
		if err != nil {
			break
		}
		m.Release()
		n++
	}
	if n != 7 {
		t.Errorf("looped replay gave %d datamaps, want 7", n)
	}
}

// The nuScenes sample's lidar list carries the keyframe's ego pose; the
// loader hands it on as DS3D::EgoPose, equal to the info file's ego2global.
func TestFileLoaderEgoPose(t *testing.T) {
	dir := "../../datasets/samples/nuscenes"
	raw, err := os.ReadFile(filepath.Join(dir, "n015-2018-07-24-11-22-45+0800.derived.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		DataList []struct {
			Ego2Global [4][4]float64 `json:"ego2global"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	cfg := &lidar.FileLoaderConfig{DataConfigFile: []ds3d.Path{ds3d.Path(filepath.Join(dir, "lidar_list.toml"))}, RateHz: 10, ElementSize: 4, ElementStride: 5, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := lidar.NewFileLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	pose, err := ds3d.Get[ds3d.Mat4](m, ds3d.KeyEgoPose)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			if pose[r*4+c] != info.DataList[0].Ego2Global[r][c] {
				t.Fatalf("EgoPose[%d][%d] = %v, ego2global %v", r, c, pose[r*4+c], info.DataList[0].Ego2Global[r][c])
			}
		}
	}
	// KITTI lists carry no pose: no key.
	kcfg := &lidar.FileLoaderConfig{DataConfigFile: []ds3d.Path{"../../datasets/samples/kitti/lidar_list.toml"}, RateHz: 10, ElementSize: 4, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}}
	kl, err := lidar.NewFileLoader(kcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	km, err := kl.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer km.Release()
	if km.Has(ds3d.KeyEgoPose) {
		t.Error("a list without ego_pose produced DS3D::EgoPose")
	}
}
