#!/usr/bin/python3
"""Independent PointPainting reference for paint's nuScenes test (numpy,
float64): projects the keyframe's LIDAR_TOP points through each camera's
cam2img and lidar2cam from the info JSON and paints them with the 2D boxes
in dets.json.

usage: paint_ref.py INFO.json LIDAR.bin DETS.json OUT_PREFIX [--time]
(--time: also print the mean time of 20 paintings, the peer figure of
BenchmarkNuScenes)

dets.json: {"cameras": [name, ...], "width": W, "height": H, "near": m,
            "margin": px, "classes": ["car", "bicycle|motorcycle", ...],
            "dets": [[{"label", "score", "l", "t", "r", "b"}, ...] per camera]}
Writes OUT_PREFIX.scores (float32 [N, C+1]: class channels, background =
1 - max) and OUT_PREFIX.ambiguous (uint8 [N]: 1 where a camera sees the
point within `margin` pixels of an image or box edge, or within 1e-4 m of
the near plane, so float32 rounding may decide it either way).
"""
import json
import sys

import numpy as np

info_path, lidar_path, dets_path, out = sys.argv[1:5]
info = json.load(open(info_path))["data_list"][0]
cfg = json.load(open(dets_path))
W, H, near, margin = cfg["width"], cfg["height"], cfg["near"], cfg["margin"]
label_to_class = {}
for c, entry in enumerate(cfg["classes"]):
    for name in entry.split("|"):
        label_to_class[name] = c
C = len(cfg["classes"])



def paint_all(pts):
    N = len(pts)
    hom = np.hstack([pts, np.ones((N, 1))])
    scores = np.zeros((N, C), dtype=np.float32)
    ambiguous = np.zeros(N, dtype=bool)

    for cam, dets in zip(cfg["cameras"], cfg["dets"]):
        K = np.array(info["images"][cam]["cam2img"], dtype=np.float64)[:3, :3]
        E = np.array(info["images"][cam]["lidar2cam"], dtype=np.float64)
        pc = hom @ E[:3, :].T          # camera frame
        depth = pc[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uvw = pc @ K.T
            u, v = uvw[:, 0] / depth, uvw[:, 1] / depth
        front = depth > near
        inside = front & (u >= 0) & (u < W) & (v >= 0) & (v < H)
        # points whose fate float32 rounding could flip
        amb = np.abs(depth - near) < 1e-4
        near_edge = lambda x, e: np.abs(x - e) < margin
        cand = depth > near - 1e-4
        amb |= cand & (near_edge(u, 0) | near_edge(u, W) | near_edge(v, 0) | near_edge(v, H))
        for d in dets:
            c = label_to_class.get(d["label"])
            if c is None:
                continue
            l, t, r, b = (np.float64(np.float32(d[k])) for k in "ltrb")
            s = np.float32(d["score"])
            inbox = inside & (u >= l) & (u < r) & (v >= t) & (v < b)
            scores[inbox, c] = np.maximum(scores[inbox, c], s)
            spanv = (v > t - margin) & (v < b + margin)
            spanu = (u > l - margin) & (u < r + margin)
            amb |= cand & ((spanv & (near_edge(u, l) | near_edge(u, r))) | (spanu & (near_edge(v, t) | near_edge(v, b))))
        ambiguous |= amb

    return scores, ambiguous


pts = np.fromfile(lidar_path, dtype=np.float32).reshape(-1, 5)[:, :3].astype(np.float64)
N = len(pts)
scores, ambiguous = paint_all(pts)
bg = np.clip(np.float32(1) - scores.max(axis=1), 0, 1).astype(np.float32)
np.hstack([scores, bg[:, None]]).astype(np.float32).tofile(out + ".scores")
ambiguous.astype(np.uint8).tofile(out + ".ambiguous")
print(f"points {N} painted {(scores.max(axis=1) > 0).sum()} ambiguous {ambiguous.sum()}")

if len(sys.argv) > 5 and sys.argv[5] == "--time":
    import time
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        paint_all(pts)
    print(f"numpy paint_all: {(time.perf_counter() - t0) / reps * 1e3:.2f} ms/frame (float64, incl. the ambiguity flags)")
