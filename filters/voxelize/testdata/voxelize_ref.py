"""Independent numpy reference for hard voxelization (mmcv hard_voxelize,
first-seen voxel order), written with whole-array operations instead of the
sequential loop the Go code runs.

usage: voxelize_ref.py IN.f32 C x0 y0 z0 x1 y1 z1 sx sy sz P V F PAD OUTPREFIX
IN.f32 holds one or more clouds: a header-less concatenation, with the point
counts of each cloud in IN.f32.counts (one integer per line). Writes
OUTPREFIX.feat (f32 [B,V,P,F]), .coords (i32 [B,V,4]), .num (i32 [B,V]),
.nvox (i32 [B,1]).
"""
import sys
import numpy as np

a = sys.argv[1:]
path, C = a[0], int(a[1])
rng = np.array([float(v) for v in a[2:8]], dtype=np.float32)
vsz = np.array([float(v) for v in a[8:11]], dtype=np.float32)
P, V, F, pad, out = int(a[11]), int(a[12]), int(a[13]), a[14] == "1", a[15]
counts = [int(l) for l in open(path + ".counts").read().split()]
allpts = np.fromfile(path, dtype="<f4").reshape(-1, C)
# C's round(): half away from zero (grid sizes are positive)
grid = np.floor((rng[3:] - rng[:3]) / vsz + np.float32(0.5)).astype(np.int64)

res = []
off = 0
for b, n in enumerate(counts):
    pts = allpts[off:off + n]
    off += n
    with np.errstate(invalid="ignore", over="ignore"):
        c = np.floor((pts[:, :3] - rng[:3]) / vsz)  # float32 throughout
        ok = np.all((c >= 0) & (c < grid), axis=1)  # NaN compares false
    idx = np.nonzero(ok)[0]
    ci = c[idx].astype(np.int64)
    key = (ci[:, 2] * grid[1] + ci[:, 1]) * grid[0] + ci[:, 0]
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # voxels by their first point
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    vid = rank[inv.reshape(-1)]
    keepv = vid < V
    idx, vid = idx[keepv], vid[keepv]
    srt = np.argsort(vid, kind="stable")  # input order inside each voxel
    sv = vid[srt]
    slot_sorted = np.arange(len(sv)) - np.searchsorted(sv, sv, side="left")
    slot = np.empty_like(slot_sorted)
    slot[srt] = slot_sorted
    keep = slot < P
    nvox = min(len(uniq), V)
    feat = np.zeros((nvox, P, F), np.float32)
    feat[vid[keep], slot[keep]] = pts[idx[keep], :F]
    k = uniq[order][:nvox]
    coords = np.stack([np.full(nvox, b), k // (grid[0] * grid[1]), (k // grid[0]) % grid[1], k % grid[0]], axis=1).astype(np.int32)
    num = np.bincount(vid[keep], minlength=nvox).astype(np.int32)
    res.append((feat, coords, num))

Vo = V if pad else max(r[0].shape[0] for r in res)
B = len(res)
feat = np.zeros((B, Vo, P, F), np.float32)
coords = np.zeros((B, Vo, 4), np.int32)
num = np.zeros((B, Vo), np.int32)
for b, (f, c, n) in enumerate(res):
    feat[b, :len(f)] = f
    coords[b, :len(c)] = c
    num[b, :len(n)] = n
feat.astype("<f4").tofile(out + ".feat")
coords.astype("<i4").tofile(out + ".coords")
num.astype("<i4").tofile(out + ".num")
np.array([[r[0].shape[0]] for r in res], "<i4").tofile(out + ".nvox")
