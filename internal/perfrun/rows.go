package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Inputs, relative to the shared data folder.
const (
	kittiBin  = "data/kitti-object/training/velodyne/000000.bin"
	kittiIn   = "KITTI 000000.bin, 115,384 pts"
	yoloxDir  = "data/models-2d/yolox-nano"
	nusFront  = "data/nuscenes-mini-sample/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg"
	python    = "/usr/bin/python3"
	hopBufs   = 100000 // datamaps (buffers) through the 9-hop chains
	hopsPerDM = 9
)

func py(args ...string) Cmd { return Cmd{Args: append([]string{python}, args...)} }

func (e *Env) peersDir() string { return e.shared("peers") }

func needFile(path, why string) func(*Env) string {
	return func(e *Env) string {
		if _, err := os.Stat(e.shared(path)); err != nil {
			return why
		}
		return ""
	}
}

func needPython(mod string) func(*Env) string {
	return func(e *Env) string {
		if err := exec.Command(python, "-c", "import "+mod).Run(); err != nil {
			return "python module " + mod + " not installed (bash ../shared/peers/install_peers.sh)"
		}
		return ""
	}
}

func needExe(name string) func(*Env) string {
	return func(e *Env) string {
		if _, err := exec.LookPath(name); err != nil {
			return name + " not installed (bash ../shared/peers/install_peers.sh)"
		}
		return ""
	}
}

func needAll(fs ...func(*Env) string) func(*Env) string {
	return func(e *Env) string {
		for _, f := range fs {
			if why := f(e); why != "" {
				return why
			}
		}
		return ""
	}
}

func needORT(e *Env) string {
	if _, err := os.Stat(filepath.Join(e.ORTDir, "node_modules/onnxruntime-node")); err != nil {
		return "onnxruntime-node not found in $ORT_DIR (default /tmp/peerbench/ortnode; bash ../shared/peers/install_peers.sh)"
	}
	return needExe("node")(e)
}

// pclBench builds ../shared/peers/pcl_bench.cpp as run_all.sh does.
func needPCL(e *Env) string {
	if _, err := os.Stat("/usr/include/pcl-1.13/pcl/point_cloud.h"); err != nil {
		return "PCL 1.13 headers not installed (libpcl-dev; bash ../shared/peers/install_peers.sh)"
	}
	err := e.prep("pcl_bench", func() error {
		_, _, err := e.run(Cmd{Args: []string{"g++", "-O2", "-std=c++17", filepath.Join(e.peersDir(), "pcl_bench.cpp"),
			"-I/usr/include/pcl-1.13", "-I/usr/include/eigen3", "-lpcl_common", "-lpcl_filters", "-lpcl_io",
			"-lpcl_kdtree", "-lpcl_search", "-o", e.work("bin/pcl_bench")}})
		return err
	})
	if err != nil {
		return "building pcl_bench failed: " + e.rel(err.Error())
	}
	return ""
}

// genData writes gen_data.py's inputs (frames/, boxes.bin, calib.txt) into $WORK/gen.
func (e *Env) genData() error {
	return e.prep("gen", func() error {
		if _, err := os.Stat(e.work("gen/frames/frame099.jpg")); err == nil {
			return nil
		}
		_, _, err := e.run(py(filepath.Join(e.peersDir(), "gen_data.py"), e.work("gen")))
		return err
	})
}

func needGen(e *Env) string {
	if err := e.genData(); err != nil {
		return "gen_data.py failed: " + e.rel(err.Error())
	}
	return ""
}

func (e *Env) pcdInput() (string, error) {
	p := e.work("input.pcd")
	return p, e.prep("pcd", func() error {
		_, _, err := e.run(py(filepath.Join(e.peersDir(), "bin2pcd.py"), e.shared(kittiBin), p))
		return err
	})
}

// pclCmd runs pcl_bench on KITTI 000000 with pcd as the PCD input.
func pclCmd(pcd func(e *Env) (string, error), reps int) func(*Env, int) (Cmd, error) {
	return func(e *Env, _ int) (Cmd, error) {
		p, err := pcd(e)
		if err != nil {
			return Cmd{}, err
		}
		return Cmd{Args: []string{e.work("bin/pcl_bench"), e.shared(kittiBin), p, strconv.Itoa(reps)}}, nil
	}
}

func kittiPCD(e *Env) (string, error) { return e.pcdInput() }

func pclRow(id, op, input, note, goPkg, bench, name, benchtime string, pcd func(*Env) (string, error), reps int, pclOp string) Row {
	return Row{ID: id, Op: op, Input: input, Unit: "cloud", Note: note,
		Go: GoSide{Pkg: goPkg, Bench: bench, Name: name, Benchtime: benchtime},
		Peer: PeerSide{Name: "PCL " + map[string]string{"load_pcd": "loadPCDFile", "crop_roi": "CropBox",
			"voxel_0.2": "VoxelGrid", "sor_k16": "StatisticalOutlierRemoval"}[pclOp], Version: "pcl", Single: true,
			Needs: needPCL, Cmd: pclCmd(pcd, reps), Parse: JSONField(map[string]string{"op": pclOp}, "ms_median", 1)}}
}

// Rows lists every peer comparison docs/PERF.md quotes.
func Rows() []Row {
	numpyRow := func(id, op, fn, pkg, bench, name, benchtime, note string) Row {
		return Row{ID: id, Op: op, Input: kittiIn, Unit: "cloud", Note: note,
			Go: GoSide{Pkg: pkg, Bench: bench, Name: name, Benchtime: benchtime},
			Peer: PeerSide{Name: "numpy", Version: "numpy", Single: true, Needs: needPython("numpy"),
				Cmd: func(e *Env, _ int) (Cmd, error) {
					return py("internal/perfrun/peers/peers.py", e.peersDir(), "numpy", e.shared(kittiBin), "10", fn), nil
				}, Parse: JSONField(map[string]string{"op": fn}, "ms_median", 1)}}
	}
	cturtle := func(e *Env) (string, error) { return e.shared("data/pcd-ply/pcl/cturtle.pcd"), nil }
	resize := func(w, h int) Row {
		size := fmt.Sprintf("768x576-%dx%d", w, h)
		return Row{ID: "resize-" + fmt.Sprintf("%dx%d", w, h), Op: "bilinear RGB resize", Input: fmt.Sprintf("vtest frame 768×576 → %d×%d", w, h),
			Unit: "frame", Note: "cv_resize.py sets cv2.setNumThreads(1)",
			Go: GoSide{Pkg: "./core2d/mux", Bench: "^BenchmarkResize$/^" + size + "$", Name: "BenchmarkResize/" + size, Benchtime: "300x"},
			Peer: PeerSide{Name: "cv2.resize INTER_LINEAR", Version: "opencv", Single: true, Needs: needPython("cv2"),
				Cmd: func(e *Env, _ int) (Cmd, error) {
					return py("core2d/mux/testdata/cv_resize.py", "--bench", "768", "576", strconv.Itoa(w), strconv.Itoa(h), "300"), nil
				}, Parse: Regexp(`([0-9.]+) ms/frame`, 1)}}
	}
	sortPeer := PeerSide{Name: "OpenCV KalmanFilter ×100 + scipy linear_sum_assignment", Version: "opencv+scipy", Single: true,
		Needs: needAll(needPython("cv2"), needPython("scipy")),
		Cmd:   func(e *Env, _ int) (Cmd, error) { return py("core2d/track/testdata/peer_track.py"), nil },
		Parse: Sum(JSONField(map[string]string{"op": "kalman_100tracks"}, "ms_median", 1),
			JSONField(map[string]string{"op": "assign_100x100"}, "ms_median", 1))}
	jpegGo := GoSide{Pkg: "./core2d/decode", Bench: "^BenchmarkJPEG$", Name: "BenchmarkJPEG", Benchtime: "300x"}
	mediaCmd := func(e *Env, _ int) (Cmd, error) {
		if err := e.genData(); err != nil {
			return Cmd{}, err
		}
		c := py(filepath.Join(e.peersDir(), "bench_media.py"), e.work("gen/frames"))
		c.Env = []string{"PEER_REPS=3"}
		return c, nil
	}
	jpegIn := "100 synthetic 1242×375 JPEGs (gen_data.py), q90"
	ortNode := func(script string) func(*Env, int) (Cmd, error) {
		return func(e *Env, th int) (Cmd, error) {
			return Cmd{Args: []string{"node", filepath.Join(e.peersDir(), "yolox", script), e.shared(yoloxDir)},
				Env: []string{"NODE_PATH=" + filepath.Join(e.ORTDir, "node_modules"), "REPS=50", "WARMUP=5", "ROUNDS=3",
					"THREADS=" + strconv.Itoa(th)}}, nil
		}
	}
	return append([]Row{
		{ID: "pipeline-hop", Op: "datamap hop (goroutine + queue of 4)", Input: "source → 8 passthrough → sink, no payload", Unit: "hop",
			Note: "GStreamer: thread per stage, queue max-size-buffers=4; wall time of gst-launch incl. ~30 ms start-up",
			Go: GoSide{Pkg: "./ds3d/pipeline", Bench: "^BenchmarkHop$/^points-0$", Name: "BenchmarkHop/points-0",
				Benchtime: strconv.Itoa(hopBufs) + "x", Scale: 1.0 / hopsPerDM},
			Peer: PeerSide{Name: "GStreamer (queue ! identity) ×8", Version: "gstreamer", Single: true,
				Needs: needExe("gst-launch-1.0"), Wall: hopBufs * hopsPerDM,
				Cmd: func(e *Env, _ int) (Cmd, error) {
					a := []string{"gst-launch-1.0", "-q", "fakesrc", "num-buffers=" + strconv.Itoa(hopBufs)}
					for range 8 {
						a = append(a, "!", "queue", "max-size-buffers=4", "!", "identity")
					}
					return Cmd{Args: append(a, "!", "queue", "max-size-buffers=4", "!", "fakesink", "sync=false")}, nil
				}}},
		{ID: "load-bin", Op: "KITTI .bin → [N,4] frame, from the file", Input: kittiIn, Unit: "cloud",
			Note: "ds3d-go reads straight into a pooled frame; numpy allocates a new array",
			Go:   GoSide{Pkg: "./sensors/lidar", Bench: "^BenchmarkLoadBin$/^kitti-000000-file$", Name: "BenchmarkLoadBin/kitti-000000-file", Benchtime: "2000x"},
			Peer: PeerSide{Name: "numpy fromfile().reshape", Version: "numpy", Single: true, Needs: needPython("numpy"),
				Cmd: func(e *Env, _ int) (Cmd, error) {
					return py("internal/perfrun/peers/peers.py", e.peersDir(), "load_bin", e.shared(kittiBin), "200"), nil
				}, Parse: JSONField(map[string]string{"op": "load_bin"}, "ms_median", 1)}},
		pclRow("load-pcd", "PCD binary → frame, from the file", kittiIn+" as PCD x y z intensity F4", "",
			"./sensors/lidar", "^BenchmarkPCDBinary$/^kitti-000000-file$", "BenchmarkPCDBinary/kitti-000000-file", "1000x", kittiPCD, 20, "load_pcd"),
		pclRow("load-pcd-lzf", "PCD binary_compressed → frame, from the file", "pcd-ply/pcl/cturtle.pcd, 167,198 pts", "",
			"./sensors/lidar", "^BenchmarkPCDBinaryCompressed$/^cturtle-file$", "BenchmarkPCDBinaryCompressed/cturtle-file", "50x", cturtle, 5, "load_pcd"),
		pclRow("crop", "ROI crop x∈[0,70.4] y∈[−40,40] z∈[−3,1]", kittiIn, "",
			"./filters/pointcloud", "^BenchmarkCrop$/^kitti-000000$", "BenchmarkCrop/kitti-000000", "3000x", kittiPCD, 20, "crop_roi"),
		pclRow("voxel", "voxel grid 0.2 m, centroids", kittiIn, "",
			"./filters/pointcloud", "^BenchmarkVoxel$/^kitti-000000-0.2$", "BenchmarkVoxel/kitti-000000-0.2", "200x", kittiPCD, 20, "voxel_0.2"),
		{ID: "sor-open3d", Op: "statistical outlier removal k=16, std 1", Input: kittiIn, Unit: "cloud",
			Note: "ds3d-go: Morton-ordered grouped k-NN search, one goroutine; Open3D: KDTreeFlann query per point (OpenMP); same kept set",
			Go:   GoSide{Pkg: "./filters/outlier", Bench: "^BenchmarkStatistical$/^kitti-000000-k16$", Name: "BenchmarkStatistical/kitti-000000-k16", Benchtime: "5x"},
			Peer: PeerSide{Name: "Open3D remove_statistical_outlier", Version: "open3d", Needs: needPython("open3d"),
				Cmd: func(e *Env, th int) (Cmd, error) {
					c := py("filters/outlier/testdata/sor_peer.py", e.shared(kittiBin), "3")
					c.Env = []string{"OMP_NUM_THREADS=" + strconv.Itoa(th)}
					return c, nil
				}, Parse: JSONField(nil, "open3d_ms", 1)}},
		func() Row {
			r := pclRow("sor-pcl", "statistical outlier removal k=16, std 1", kittiIn,
				"ds3d-go: grouped k-NN search; PCL: k-d tree (FLANN) query per point",
				"./filters/outlier", "^BenchmarkStatistical$/^kitti-000000-k16$", "BenchmarkStatistical/kitti-000000-k16", "5x", kittiPCD, 20, "sor_k16")
			return r
		}(),
		numpyRow("pillarize", "PointPillars pillarization (432×496, ≤32 pts, ≤12000 pillars, 10 features)", "pillarize",
			"./filters/pointcloud", "^BenchmarkPillarize$/^kitti-000000$", "BenchmarkPillarize/kitti-000000", "200x", ""),
		{ID: "projection", Op: "KITTI projection to a 1242×375 depth map (z-buffer)", Input: kittiIn, Unit: "cloud",
			Note: "both from TestDepthSpeedVsNumpy (ds3d-go median of 200, numpy median of 20); numpy single-threaded",
			Go:   GoSide{Pkg: "./filters/align", Test: "^TestDepthSpeedVsNumpy$", Parse: Regexp(`Go ([0-9.]+) ms`, 1)},
			Peer: PeerSide{Name: "numpy project_depth", Version: "numpy", Needs: needPython("numpy"),
				Cmd: func(e *Env, th int) (Cmd, error) {
					bin, err := e.testBin("./filters/align")
					return Cmd{Dir: "./filters/align", Args: []string{bin, "-test.cpu", strconv.Itoa(th), "-test.run", "^TestDepthSpeedVsNumpy$",
						"-test.v", "-test.count", "1"}}, err
				}, Parse: Regexp(`numpy ([0-9.]+) ms`, 1)}},
		nmsRow("nms-numpy", "numpy vectorised NMS", "numpy_ms", "numpy",
			"ds3d-go: grid of centres + circumscribed-circle test, exact clipping only for close pairs; numpy: IoU of each kept box against all the rest (O(n²))"),
		nmsRow("nms-cv2", "cv2.dnn.NMSBoxesRotated", "cv2_ms", "opencv",
			"ds3d-go: grid of centres, exact clipping for close pairs; OpenCV: O(n²) rotated-rectangle intersections"),
		{ID: "unproject", Op: "depth → points (unproject with intrinsics)", Input: "640×480 u16 depth, every pixel valid", Unit: "frame",
			Note: "ds3d-go also writes the colour coordinates",
			Go:   GoSide{Pkg: "./filters/depth2point", Bench: "^BenchmarkUnproject$", Name: "BenchmarkUnproject", Benchtime: "300x"},
			Peer: PeerSide{Name: "numpy (meshgrid formula)", Version: "numpy", Single: true, Needs: needPython("numpy"),
				Cmd: func(e *Env, _ int) (Cmd, error) {
					return py("internal/perfrun/peers/peers.py", e.peersDir(), "unproject", "30"), nil
				}, Parse: JSONField(map[string]string{"op": "unproject"}, "ms_median", 1)}},
		{ID: "sort", Op: "SORT tracker, predict + associate + update", Input: "100 synthetic objects per frame", Unit: "frame",
			Note: "ds3d-go: the whole tracker (IoU, matching per connected component, track management); peer: Kalman ×100 + dense 100×100 assignment only",
			Go:   GoSide{Pkg: "./core2d/track", Bench: "^BenchmarkSORT$/^sort$/^100objects$", Name: "BenchmarkSORT/sort/100objects", Benchtime: "2000x"},
			Peer: sortPeer},
		{ID: "deepsort", Op: "DeepSORT-style tracker", Input: "100 objects, colour histograms from a 1920×1080 frame", Unit: "frame",
			Note: "ds3d-go also computes 100 colour histograms and the appearance cascade; the peer does no appearance work",
			Go:   GoSide{Pkg: "./core2d/track", Bench: "^BenchmarkSORT$/^deepsort$/^100objects$", Name: "BenchmarkSORT/deepsort/100objects", Benchtime: "300x"},
			Peer: sortPeer},
		{ID: "jpeg-gst", Op: "JPEG decode", Input: jpegIn, Unit: "frame", Go: jpegGo,
			Note: "ds3d-go (libjpeg-turbo) converts to RGB; GStreamer jpegdec stops at I420",
			Peer: PeerSide{Name: "GStreamer jpegdec", Version: "gstreamer", Single: true, Needs: needAll(needExe("gst-launch-1.0"), needGen),
				Cmd: mediaCmd, Parse: JSONField(map[string]string{"op": "decode_jpeg_x100", "peer": "gstreamer*"}, "ms_median", 0.01)}},
		{ID: "jpeg-ffmpeg", Op: "JPEG decode", Input: jpegIn, Unit: "frame", Go: jpegGo,
			Note: "ds3d-go converts to RGB; ffmpeg mjpeg (-threads 1) stops at YUV",
			Peer: PeerSide{Name: "ffmpeg mjpeg", Version: "ffmpeg", Single: true, Needs: needAll(needExe("ffmpeg"), needGen),
				Cmd: mediaCmd, Parse: JSONField(map[string]string{"op": "decode_jpeg_x100", "peer": "ffmpeg*"}, "ms_median", 0.01)}},
		{ID: "h264", Op: "H.264 720p decode through the ffmpeg pipe → NV12", Input: "vtest_10s_h264.mp4 ×6 scaled to 1280×720 (libx264 veryfast)", Unit: "clip",
			Threads: []int{2},
			Note:    "ffmpeg 2 decoder threads in both; ds3d-go includes ffprobe, process start-up and reading every frame through the pipe, ffmpeg alone writes to /dev/null",
			Go:      GoSide{Pkg: "./core2d/decode", Bench: "^BenchmarkFFmpeg720p$/^nv12$", Name: "BenchmarkFFmpeg720p/nv12", Benchtime: "1x"},
			Peer: PeerSide{Name: "ffmpeg -threads 2 → /dev/null", Version: "ffmpeg", Needs: needExe("ffmpeg"),
				Cmd: func(e *Env, th int) (Cmd, error) {
					clip := e.work("vtest_720p.mp4")
					err := e.prep("clip", func() error {
						_, _, err := e.run(Cmd{Args: []string{"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-stream_loop", "5",
							"-i", e.shared("data/video-vtest/vtest_10s_h264.mp4"), "-vf", "scale=1280:720", "-c:v", "libx264", "-preset", "veryfast",
							"-crf", "23", "-g", "30", "-pix_fmt", "yuv420p", "-an", clip}})
						return err
					})
					return Cmd{Args: []string{"ffmpeg", "-hide_banner", "-nostdin", "-benchmark", "-threads", strconv.Itoa(th), "-i", clip,
						"-f", "rawvideo", "-pix_fmt", "nv12", "-y", "/dev/null"}}, err
				}, Parse: Regexp(`rtime=([0-9.]+)s`, 1e3)}},
		resize(640, 384), resize(416, 416), resize(1280, 960),
		{ID: "image-loader", Op: "image_file_loader: read + JPEG decode into an RGB frame", Input: "nuScenes CAM_FRONT 1600×900 JPEG", Unit: "frame",
			Note: "ds3d-go: libjpeg-turbo into a pooled frame, one goroutine; cv2.imdecode with cv2.setNumThreads(threads)",
			Go:   GoSide{Pkg: "./sensors/camera", Bench: "^BenchmarkImageLoad$/^nuscenes-front$", Name: "BenchmarkImageLoad/nuscenes-front", Benchtime: "100x"},
			Peer: PeerSide{Name: "cv2 read + imdecode", Version: "opencv", Needs: needAll(needPython("cv2"), needFile(nusFront, "nuScenes sample not in ../shared/data")),
				Cmd: func(e *Env, th int) (Cmd, error) {
					return py("internal/perfrun/peers/peers.py", e.peersDir(), "imdecode", e.shared(nusFront), "30", strconv.Itoa(th)), nil
				}, Parse: JSONField(map[string]string{"op": "imdecode"}, "ms_median", 1)}},
		{ID: "raster-ensemble", Op: "raster ensemble draw (6 camera tiles + BEV + front)", Input: "nuScenes keyframe, 34,688 pts, 69 boxes, 1600×900", Unit: "frame",
			Note: "the peer does less: points only in the 6 tiles (no boxes, BEV or front view)",
			Go:   GoSide{Pkg: "./render/raster", Bench: "^BenchmarkEnsemble$", Name: "BenchmarkEnsemble", Benchtime: "20x"},
			Peer: PeerSide{Name: "OpenCV + numpy ensemble", Version: "opencv", Single: true, Needs: needPython("cv2"),
				Cmd: func(e *Env, _ int) (Cmd, error) {
					return py("render/raster/testdata/ensemble_peer.py", "datasets/samples/nuscenes"), nil
				},
				Parse: Regexp(`: ([0-9.]+) ms/frame`, 1)}},
		{ID: "image-tensor", Op: "6-camera tensor preprocessing (resize, crop, normalise, CHW)", Input: "nuScenes 6 × 1600×900 → [1,6,3,256,704]", Unit: "frame",
			Note: "cv2.setNumThreads(1) in the peer",
			Go:   GoSide{Pkg: "./filters/imagetensor", Bench: "^BenchmarkBEVFusion6$", Name: "BenchmarkBEVFusion6", Benchtime: "20x"},
			Peer: PeerSide{Name: "cv2.resize + numpy", Version: "opencv", Single: true, Needs: needPython("cv2"),
				Cmd:   func(e *Env, _ int) (Cmd, error) { return py("filters/imagetensor/testdata/peer_bevfusion6.py"), nil },
				Parse: Regexp(`median ([0-9.]+) ms`, 1)}},
		{ID: "point-painting", Op: "point painting (6 cameras)", Input: "nuScenes keyframe 34,688 pts, 84 boxes, 4 classes + bg", Unit: "frame",
			Note: "numpy in float64, also computes its rounding-ambiguity flags",
			Go:   GoSide{Pkg: "./fusion/paint", Bench: "^BenchmarkNuScenes$", Name: "BenchmarkNuScenes", Benchtime: "200x"},
			Peer: PeerSide{Name: "numpy paint_all", Version: "numpy", Single: true, Needs: needPython("numpy"),
				Cmd: func(e *Env, _ int) (Cmd, error) {
					bin, err := e.testBin("./fusion/paint")
					return Cmd{Dir: "fusion/paint", Env: []string{"PAINT_PEER_TIME=1"},
						Args: []string{bin, "-test.run", "^TestNuScenesMatchesNumpy$", "-test.v", "-test.count", "1"}}, err
				}, Parse: Regexp(`numpy paint_all: ([0-9.]+) ms/frame`, 1)}},
		{ID: "yolox-ort", Op: "YOLOX-Nano 416², batch 1", Input: "models-2d/yolox-nano, COCO 139", Unit: "image",
			Go: yoloxGo(), Peer: PeerSide{Name: "onnxruntime-node", Version: "onnxruntime-node", Needs: needORT, Cmd: ortNode("bench_ort.js"),
				Parse: JSONField(map[string]string{"engine": "onnxruntime-node"}, "ms_median", 1)}},
		{ID: "yolox-cv2", Op: "YOLOX-Nano 416², batch 1", Input: "models-2d/yolox-nano, COCO 139", Unit: "image",
			Go: yoloxGo(), Peer: PeerSide{Name: "cv2.dnn", Version: "opencv", Needs: needPython("cv2"),
				Cmd: func(e *Env, th int) (Cmd, error) {
					c := py(filepath.Join(e.peersDir(), "yolox", "bench_cv2.py"), e.shared(yoloxDir))
					c.Env = []string{"REPS=20", "WARMUP=3", "ROUNDS=1", "THREADS=" + strconv.Itoa(th)}
					return c, nil
				}, Parse: JSONField(map[string]string{"engine": "cv2.dnn", "round": "0"}, "ms_median", 1)}},
		{ID: "pointpillars-ort", Op: "PointPillars-architecture model (random weights)", Input: "KITTI 000000 pillars", Unit: "frame",
			Note: "same graph and inputs (TestPointPillarsDump); accuracy in docs/ACCURACY.md",
			Go: GoSide{Pkg: "./core2d/infer", Bench: "^BenchmarkPointPillars$", Benchtime: "2x", Count: 2,
				NameFor: func(th int) (string, int) { return fmt.Sprintf("BenchmarkPointPillars/threads=%d", th), 2 }},
			Peer: PeerSide{Name: "onnxruntime-node", Version: "onnxruntime-node", Needs: needORT,
				Cmd: func(e *Env, th int) (Cmd, error) {
					dir := e.work("ppdump")
					bin, err := e.testBin("./core2d/infer")
					if err != nil {
						return Cmd{}, err
					}
					if err := e.prep("ppdump", func() error {
						_, _, err := e.run(Cmd{Dir: "core2d/infer", Env: []string{"PP_DUMP=" + dir}, Args: []string{bin, "-test.run", "^TestPointPillarsDump$"}})
						return err
					}); err != nil {
						return Cmd{}, err
					}
					return Cmd{Args: []string{"node", "core2d/infer/onnxbuild/testdata/pointpillars_ort.js", dir},
						Env: []string{"NODE_PATH=" + filepath.Join(e.ORTDir, "node_modules"), "REPS=3"}}, nil
				}, ParseFor: func(th int) Parser {
					return JSONField(map[string]string{"peer": "onnxruntime-node", "threads": strconv.Itoa(th)}, "ms_median", 1)
				}}},
	}, bagRows()...)
}

func yoloxGo() GoSide {
	return GoSide{Pkg: "./core2d/infer", Bench: "^BenchmarkYOLOXNano$", Benchtime: "40x",
		NameFor: func(th int) (string, int) {
			return map[int]string{1: "BenchmarkYOLOXNano/1thread", 2: "BenchmarkYOLOXNano/2threads"}[th], 2
		}}
}

func nmsRow(id, peer, field, version, note string) Row {
	return Row{ID: id, Op: "rotated BEV NMS, IoU 0.01", Input: "2000 boxes (gen_data.py's generator)", Unit: "frame", Note: note,
		Go: GoSide{Pkg: "./filters/postprocess", Bench: "^BenchmarkNMS$/^2000-boxes-thr0.01$", Name: "BenchmarkNMS/2000-boxes-thr0.01", Benchtime: "300x"},
		Peer: PeerSide{Name: peer, Version: version, Single: true, Needs: needPython(map[string]string{"numpy": "numpy", "opencv": "cv2"}[version]),
			Cmd: func(e *Env, _ int) (Cmd, error) {
				boxes := e.work("nms_boxes.bin")
				err := e.prep("nms-boxes", func() error {
					_, _, err := e.run(Cmd{Dir: "filters/postprocess", Args: []string{python, "testdata/nms_peer.py", e.peersDir(), "gen", boxes}})
					return err
				})
				return Cmd{Dir: "filters/postprocess", Args: []string{python, "testdata/nms_peer.py", e.peersDir(), "nms", boxes, "0.01",
					e.work("nms-out"), "5"}}, err
			}, Parse: JSONField(nil, field, 1)}}
}
