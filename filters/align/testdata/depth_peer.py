#!/usr/bin/python3
"""numpy projection peer for the Go tests (../shared/peers/bench_numpy.py project_depth).

  depth_peer.py PEERS_DIR CLOUD.bin CALIB.txt OUTDIR [REPS]
      OUTDIR/M.f32     the float32 3x4 matrix float32(P2 @ (R0_rect @ Tr_velo_to_cam))
      OUTDIR/uvw.f32   M[:, :3] @ xyz + M[:, 3] per point (float32, N x 3)
      OUTDIR/depth.f32 project_depth(pts, M) (375 x 1242 float32)
      prints {"numpy_ms": median of REPS runs of bench_numpy.project_depth,
              "pixels": nonzero pixels, "blas_points_differ": points whose
              BLAS (u, v, w) differs from the exact one}

The reference must not depend on the CPU. numpy's `@` goes through BLAS
(OpenBLAS here), whose kernel (SSE, AVX2 with FMA, AVX-512; summation
order) is chosen at run time from the CPU and OPENBLAS_CORETYPE: on KITTI
about 55,000 points per frame come out 1 ulp apart between kernels. So the
products here are written as numpy element-wise operations, each a single
correctly rounded IEEE operation whatever SIMD numpy picks, in a fixed order:
  M  = float32 of the float64 products summed left to right (ds3d.Mat4.Mul and
       calib.KITTI.VeloToImage);
  u  = ((m00*x + m01*y) + m02*z) + m03 in float32, each product and sum
       rounded (align's project; no fused multiply-add),
and depth.f32 is bench_numpy.project_depth line for line on that uvw. The
timing still runs bench_numpy.project_depth itself.
"""
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, sys.argv[1])
import bench_numpy as bn  # noqa: E402


def matmul_ordered(a, b):
    """a @ b with each entry summed left to right over k, no BLAS."""
    out = a[:, 0:1] * b[0:1, :]
    for k in range(1, a.shape[1]):
        out = out + a[:, k:k + 1] * b[k:k + 1, :]
    return out


def project_exact(pts, M):
    """(u, v, w) per point: float32 products and sums, left to right."""
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    rows = []
    for r in range(3):
        m = [np.float32(M[r, c]) for c in range(4)]
        rows.append(((m[0] * x + m[1] * y) + m[2] * z) + m[3])
    uvw = np.stack(rows, axis=1)
    assert uvw.dtype == np.float32
    return uvw


def project_depth(uvw):
    """bench_numpy.project_depth after its uvw line."""
    w = uvw[:, 2]
    front = w > 1e-3
    uvw = uvw[front]
    w = uvw[:, 2]
    u = np.floor(uvw[:, 0] / w).astype(np.int32)
    v = np.floor(uvw[:, 1] / w).astype(np.int32)
    ok = (u >= 0) & (u < bn.W_IMG) & (v >= 0) & (v < bn.H_IMG)
    u, v, w = u[ok], v[ok], w[ok]
    order = np.argsort(-w)                  # far first, near last: last write wins
    depth = np.zeros((bn.H_IMG, bn.W_IMG), np.float32)
    depth.ravel()[(v * bn.W_IMG + u)[order]] = w[order]
    return depth


pts = bn.load(sys.argv[2])
out = sys.argv[4]
reps = int(sys.argv[5]) if len(sys.argv) > 5 else 1
cal = {}
with open(sys.argv[3]) as f:
    for line in f:
        if ":" in line:
            k, v = line.split(":", 1)
            cal[k.strip()] = np.array([float(t) for t in v.split()], np.float64)
P2 = cal["P2"].reshape(3, 4)
R0 = np.eye(4)
R0[:3, :3] = cal["R0_rect"].reshape(3, 3)
Tr = np.eye(4)
Tr[:3, :] = cal["Tr_velo_to_cam"].reshape(3, 4)
M = matmul_ordered(P2, matmul_ordered(R0, Tr)).astype(np.float32)
M.tofile(os.path.join(out, "M.f32"))
uvw = project_exact(pts, M)
uvw.tofile(os.path.join(out, "uvw.f32"))
dm = project_depth(uvw)
dm.tofile(os.path.join(out, "depth.f32"))
blas = (pts[:, :3] @ M[:, :3].T + M[:, 3]).astype(np.float32)
ts = []
for _ in range(max(reps, 1)):
    t = time.perf_counter()
    bn.project_depth(pts, M)
    ts.append((time.perf_counter() - t) * 1e3)
print(json.dumps({"numpy_ms": statistics.median(ts), "pixels": int((dm > 0).sum()),
                  "blas_points_differ": int((blas.view(np.uint32) != uvw.view(np.uint32)).any(axis=1).sum())}))
