"""Reference for TestTFTreeScipy, independent of ds3d-go: chains
tf2-style transforms with scipy.spatial.transform.

stdin: {"edges": [{"parent", "child", "static", "samples": [{"t", "xyz", "q"}]}],
        "queries": [{"target", "source", "t"}]}   (q is x y z w, t in ns)
stdout: one row-major 4x4 (16 numbers) per query, as JSON.

Dynamic edges are interpolated at t: translation linearly (numpy.interp),
rotation with scipy's Slerp. A query's transform maps source points into
target: T(target <- root)^-1 . T(root <- source), both walked up to the
tree's root (the chains share their top, so the common part cancels).
"""
import json
import sys

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

req = json.load(sys.stdin)
edges = {e["child"]: e for e in req["edges"]}


def edge_at(e, t):
    s = e["samples"]
    if e["static"] or len(s) == 1:
        return np.array(s[0]["xyz"], float), Rotation.from_quat(s[0]["q"])
    ts = np.array([x["t"] for x in s], float)
    xyz = np.array([x["xyz"] for x in s], float)
    trans = np.array([np.interp(t, ts, xyz[:, k]) for k in range(3)])
    rot = Slerp(ts, Rotation.from_quat([x["q"] for x in s]))([t])[0]
    return trans, rot


def to_root(frame, t):
    m = np.eye(4)
    while frame in edges:
        e = edges[frame]
        tr, rot = edge_at(e, t)
        step = np.eye(4)
        step[:3, :3] = rot.as_matrix()
        step[:3, 3] = tr
        m = step @ m
        frame = e["parent"]
    return m


out = []
for q in req["queries"]:
    m = np.linalg.inv(to_root(q["target"], float(q["t"]))) @ to_root(q["source"], float(q["t"]))
    out.append([float(v) for v in m.reshape(-1)])
json.dump(out, sys.stdout)
