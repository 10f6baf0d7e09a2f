#!/usr/bin/python3
"""Peers of `make perf` that have no script of their own elsewhere; one JSON line per timing,
in ../shared/peers/benchlib.py's format ({"op", "peer", "ms_median", "ms_min", "reps", ...}).

  peers.py PEERS_DIR load_bin  CLOUD.bin REPS     numpy fromfile().reshape(-1, 4)
  peers.py PEERS_DIR numpy     CLOUD.bin REPS OP  bench_numpy.py's crop_roi | voxel_centroid | pillarize
  peers.py PEERS_DIR unproject REPS               640x480 u16 depth (BenchmarkUnproject's image) to points, numpy
  peers.py PEERS_DIR imdecode  IMAGE REPS THREADS open().read() + cv2.imdecode(IMREAD_COLOR), cv2.setNumThreads
"""
import sys

sys.path.insert(0, sys.argv[1])
import numpy as np  # noqa: E402
from benchlib import run  # noqa: E402

op = sys.argv[2]
NP = "numpy-" + np.__version__
if op == "load_bin":
    path, reps = sys.argv[3], int(sys.argv[4])
    run("load_bin", NP, lambda: np.fromfile(path, dtype=np.float32).reshape(-1, 4), None, reps=reps)
elif op == "numpy":
    import bench_numpy as bn
    path, reps, fn = sys.argv[3], int(sys.argv[4]), sys.argv[5]
    pts = bn.load(path)
    run(fn, NP, lambda: getattr(bn, fn)(pts), pts.shape[0], reps=reps)
elif op == "unproject":
    reps = int(sys.argv[3])
    w, h, fx, fy, cx, cy, unit = 640, 480, 525.0, 525.0, 319.5, 239.5, 0.001
    d = (500 + np.arange(w * h) % 3000).astype(np.uint16).reshape(h, w)
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def unproject():
        z = d.astype(np.float32) * np.float32(unit)
        x = (u - np.float32(cx)) * z / np.float32(fx)
        y = (v - np.float32(cy)) * z / np.float32(fy)
        return np.stack([x, y, z], axis=-1).reshape(-1, 3)

    run("unproject", NP, unproject, w * h, reps=reps)
elif op == "imdecode":
    import cv2
    path, reps, th = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    cv2.setNumThreads(th)

    def load():
        with open(path, "rb") as f:
            return cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)

    run("imdecode", "opencv-" + cv2.__version__, load, None, reps=reps, threads=th)
else:
    sys.exit("peers.py: unknown op " + op)
