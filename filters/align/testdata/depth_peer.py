#!/usr/bin/python3
"""numpy projection peer for the Go tests (../shared/peers/bench_numpy.py project_depth).

  depth_peer.py PEERS_DIR CLOUD.bin CALIB.txt OUTDIR [REPS]
      OUTDIR/M.f32     the float32 3x4 matrix (P2 @ R0_rect @ Tr_velo_to_cam, cast to float32)
      OUTDIR/uvw.f32   pts[:, :3] @ M[:, :3].T + M[:, 3] (float32, N x 3)
      OUTDIR/depth.f32 bench_numpy.project_depth(pts, M) (375 x 1242 float32)
      prints {"numpy_ms": median of REPS runs of project_depth, "pixels": nonzero pixels}
"""
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, sys.argv[1])
import bench_numpy as bn  # noqa: E402

pts = bn.load(sys.argv[2])
out = sys.argv[4]
reps = int(sys.argv[5]) if len(sys.argv) > 5 else 1
P2, M4 = bn.read_calib(sys.argv[3])
M = (P2 @ M4).astype(np.float32)
M.tofile(os.path.join(out, "M.f32"))
(pts[:, :3] @ M[:, :3].T + M[:, 3]).astype(np.float32).tofile(os.path.join(out, "uvw.f32"))
dm = bn.project_depth(pts, M)
dm.tofile(os.path.join(out, "depth.f32"))
ts = []
for _ in range(max(reps, 1)):
    t = time.perf_counter()
    bn.project_depth(pts, M)
    ts.append((time.perf_counter() - t) * 1e3)
print(json.dumps({"numpy_ms": statistics.median(ts), "pixels": int((dm > 0).sum())}))
