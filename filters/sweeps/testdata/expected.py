#!/usr/bin/python3
"""Independent reference for sweep_accumulator (numpy, general 4x4 inverse).

  expected.py DIR NSWEEPS COLS
DIR holds sweep{j}.f32 (float32 [N_j, COLS], j = 0 oldest .. NSWEEPS-1 current), pose{j}.f64
(float64 4x4 world-from-ego, row-major), s2e.f64 (sensor-to-ego 4x4), times.i64 (ns).
Writes DIR/expected.f32: float32 [M, COLS+1] = current sweep first (dt 0), then older sweeps newest
first, each moved by inv(E_now @ S) @ E_j @ S and with dt = (t_now - t_j) * 1e-9 appended; non-finite
xyz points dropped.
"""
import sys

import numpy as np

d, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
S = np.fromfile(f"{d}/s2e.f64", np.float64).reshape(4, 4)
ts = np.fromfile(f"{d}/times.i64", np.int64)
W = [np.fromfile(f"{d}/pose{j}.f64", np.float64).reshape(4, 4) @ S for j in range(n)]
inv_now = np.linalg.inv(W[n - 1])
out = []
for j in range(n - 1, -1, -1):
    p = np.fromfile(f"{d}/sweep{j}.f32", np.float32).reshape(-1, c)
    p = p[np.isfinite(p[:, :3]).all(axis=1)]
    T = inv_now @ W[j]
    xyz = p[:, :3].astype(np.float64) @ T[:3, :3].T + T[:3, 3]
    q = np.empty((p.shape[0], c + 1), np.float32)
    q[:, :3] = xyz.astype(np.float32)
    q[:, 3:c] = p[:, 3:]
    q[:, c] = np.float32((ts[n - 1] - ts[j]) * 1e-9)
    out.append(q)
np.concatenate(out).tofile(f"{d}/expected.f32")
