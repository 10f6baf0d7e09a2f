#!/usr/bin/python3
"""Runs the numpy reference (../shared/peers/bench_numpy.py) for the Go tests.

  peer.py PEERS_DIR gen OUT.bin                   synthetic cloud of gen_data.py (gen_cloud, seed 20240501, 120000 points)
  peer.py PEERS_DIR crop CLOUD.bin OUTDIR x0 y0 z0 x1 y1 z1
      OUTDIR/crop.f32 = bench_numpy.crop_roi(pts, lo, hi) bytes; OUTDIR/crop_idx.i64 = indices of the same mask
  peer.py PEERS_DIR pillar CLOUD.bin OUTDIR x0 y0 z0 x1 y1 z1 vs nx ny maxpts maxpillars
      OUTDIR/feat.f32 [P,maxpts,10], coords.i32 [P,2] (y,x), npts.f32 [P] from bench_numpy.pillarize
      (its module constants set to the arguments)
"""
import os
import sys

import numpy as np

peers = sys.argv[1]
sys.path.insert(0, peers)
op = sys.argv[2]
if op == "gen":
    import gen_data
    gen_data.gen_cloud(120000, np.random.default_rng(20240501)).tofile(sys.argv[3])
    sys.exit(0)

import bench_numpy as bn  # noqa: E402

pts = np.fromfile(sys.argv[3], dtype=np.float32).reshape(-1, 4)
out = sys.argv[4]
a = [float(v) for v in sys.argv[5:]]
if op == "crop":
    lo, hi = tuple(a[0:3]), tuple(a[3:6])
    bn.crop_roi(pts, lo, hi).tofile(os.path.join(out, "crop.f32"))
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    m = (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (z >= lo[2]) & (z <= hi[2])
    np.flatnonzero(m).astype(np.int64).tofile(os.path.join(out, "crop_idx.i64"))
elif op == "pillar":
    bn.PP_RANGE = tuple(a[0:6])
    bn.PP_VS = a[6]
    bn.PP_NX, bn.PP_NY = int(a[7]), int(a[8])
    bn.PP_MAXPTS, bn.PP_MAXPILLARS = int(a[9]), int(a[10])
    with np.errstate(invalid="ignore"):
        feat, coords, npts = bn.pillarize(pts)
    np.ascontiguousarray(feat, np.float32).tofile(os.path.join(out, "feat.f32"))
    np.ascontiguousarray(coords, np.int32).tofile(os.path.join(out, "coords.i32"))
    np.ascontiguousarray(npts, np.float32).tofile(os.path.join(out, "npts.f32"))
else:
    sys.exit("unknown op " + op)
