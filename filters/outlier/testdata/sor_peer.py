#!/usr/bin/python3
"""SOR peers for the Go tests: Open3D remove_statistical_outlier(16, 1.0) as in
../shared/peers/bench_open3d.py (float64 xyz, k includes the point itself) and
bench_numpy.sor (scipy cKDTree, PCL semantics, workers=1), on a KITTI .bin.

  sor_peer.py CLOUD.bin REPS      prints {"open3d_ms", "open3d_cpu_ms", "open3d_kept", "scipy_ms", "scipy_kept"}
                                  (medians; *_cpu_ms: process CPU time, the figure to compare on a loaded
                                  machine when OMP_NUM_THREADS=1)
"""
import json
import statistics
import sys
import time

import numpy as np

path, reps = sys.argv[1], int(sys.argv[2])
arr = np.fromfile(path, np.float32).reshape(-1, 4)


cpu = {}


def timed(fn, name=None):
    r = fn()
    ts, cs = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        r = fn()
        ts.append((time.perf_counter() - t) * 1e3)
        cs.append((time.process_time() - c) * 1e3)
    if name:
        cpu[name] = statistics.median(cs)
    return r, statistics.median(ts)


res = {}
import open3d as o3d  # noqa: E402
pc = o3d.geometry.PointCloud()
pc.points = o3d.utility.Vector3dVector(arr[:, :3].astype(np.float64))
r, res["open3d_ms"] = timed(lambda: pc.remove_statistical_outlier(16, 1.0), "open3d_cpu_ms")
res["open3d_kept"] = len(r[1])
from scipy.spatial import cKDTree  # noqa: E402


def sor():
    xyz = arr[:, :3]
    d, _ = cKDTree(xyz).query(xyz, k=17, workers=1)
    md = d[:, 1:].mean(1)
    return arr[md <= md.mean() + md.std(ddof=1)]


r, res["scipy_ms"] = timed(sor)
res["scipy_kept"] = int(r.shape[0])
res.update(cpu)
print(json.dumps(res))
