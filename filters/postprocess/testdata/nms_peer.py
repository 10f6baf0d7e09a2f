#!/usr/bin/python3
"""NMS peers for the Go tests (../shared/peers/bench_nms.py, run with internal/testenv's Python).

  nms_peer.py PEERS_DIR gen OUT.bin            the benchmark's 2000 boxes: gen_data.main's rng
                                               (seed 20240501) after gen_cloud(120000), then gen_boxes
  nms_peer.py PEERS_DIR nms BOXES.bin THR OUTDIR [REPS]
      OUTDIR/numpy.i64 = bench_nms.nms_numpy kept indices (score order), OUTDIR/cv2.i64 = cv2.dnn.NMSBoxesRotated
      kept indices; prints {"numpy_ms": median over REPS, "cv2_ms": ...} as JSON
"""
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, sys.argv[1])
op = sys.argv[2]
if op == "gen":
    import gen_data
    rng = np.random.default_rng(20240501)
    gen_data.gen_cloud(120000, rng)
    gen_data.gen_boxes(rng).tofile(sys.argv[3])
    sys.exit(0)

import bench_nms  # noqa: E402

boxes = np.fromfile(sys.argv[3], np.float32).reshape(-1, 8)
thr = float(sys.argv[4])
out = sys.argv[5]
reps = int(sys.argv[6]) if len(sys.argv) > 6 else 1


def timed(fn):
    fn()
    ts = []
    r = None
    for _ in range(max(reps, 1)):
        t = time.perf_counter()
        r = fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return r, statistics.median(ts)


res = {}
k, res["numpy_ms"] = timed(lambda: bench_nms.nms_numpy(boxes, thr))
np.asarray(k, np.int64).tofile(os.path.join(out, "numpy.i64"))
import cv2  # noqa: F401,E402  (bench_nms.nms_cv2 needs it)
k, res["cv2_ms"] = timed(lambda: bench_nms.nms_cv2(boxes, thr))
np.asarray(k, np.int64).tofile(os.path.join(out, "cv2.i64"))
print(json.dumps(res))
