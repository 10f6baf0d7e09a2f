#!/usr/bin/env python3
"""Writes ops_extra_golden.json: cases for the ops and opset variants that the
ONNX 1.12 node tests of libonnx-testdata do not reach (opset < 13 Softmax,
opset 18 Reduce axes inputs, opset < 11 Clip/Pad attributes, batched and
broadcast MatMul, large Gemm, TopK/ArgMax indices used downstream, …).
Expected outputs come from numpy (float64) written from the ONNX operator
spec, independently of the Go engine. Run:
    /usr/bin/python3 gen_ops_extra.py > ops_extra_golden.json
Same format as gen_ops.py plus "opset"; a float attribute with an integer
value is written as {"float": v}."""
import json
import numpy as np

rng = np.random.default_rng(11)
cases = []


def T(a, const=False, isint=False):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()], "const": const, "int": isint}


def I(name, a, const=False, isint=False):
    d = T(a, const, isint)
    d["name"] = name
    return d


def add(name, op, attrs, inputs, outputs, opset, tol=1e-5, nodes=None):
    cases.append({"name": name, "op": op, "attrs": attrs, "inputs": inputs,
                  "outputs": [T(o) for o in outputs], "tol": tol, "nodes": nodes, "opset": opset})


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32).astype(np.float64)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --- Softmax / LogSoftmax: opset < 13 flattens to 2-D at axis
x = r(2, 3, 4)
f = x.reshape(2, 12)
add("softmax-opset11-axis1", "Softmax", {"axis": 1}, [I("x", x)], [softmax(f, 1).reshape(x.shape)], 11)
add("softmax-opset11-default", "Softmax", {}, [I("x", x)], [softmax(f, 1).reshape(x.shape)], 11)
f0 = x.reshape(1, 24)
add("softmax-opset11-axis0", "Softmax", {"axis": 0}, [I("x", x)], [softmax(f0, 1).reshape(x.shape)], 11)
add("softmax-opset13-axis1", "Softmax", {"axis": 1}, [I("x", x)], [softmax(x, 1)], 13)
add("logsoftmax-opset11-axis2", "LogSoftmax", {"axis": 2}, [I("x", x)], [np.log(softmax(x, 2))], 11)

# --- Reduce: axes as input (opset 18), noop_with_empty_axes
x = r(2, 3, 4)
add("reducemean-opset18-axes-input", "ReduceMean", {"keepdims": 0},
    [I("x", x), I("axes", [1], const=True, isint=True)], [x.mean(axis=1)], 18)
add("reducemax-opset18-axes-input", "ReduceMax", {"keepdims": 1},
    [I("x", x), I("axes", [0, -1], const=True, isint=True)], [x.max(axis=(0, 2), keepdims=True)], 18)
add("reducemin-opset18-all", "ReduceMin", {"keepdims": 0}, [I("x", x)], [np.array(x.min())], 18)
add("reducesum-opset13-noop", "ReduceSum", {"noop_with_empty_axes": 1}, [I("x", x)], [x], 13)
add("reducemean-opset11-attr", "ReduceMean", {"axes": [0, 2]}, [I("x", x)], [x.mean(axis=(0, 2), keepdims=True)], 11)

# --- Clip with attributes (opset 6) and HardSigmoid with non-default attributes
x = r(3, 5)
add("clip-opset6-attrs", "Clip", {"min": -0.5, "max": 0.7}, [I("x", x)], [np.clip(x, -0.5, 0.7)], 6)
add("hardsigmoid-attrs", "HardSigmoid", {"alpha": 0.3, "beta": 0.4}, [I("x", x)], [np.clip(0.3 * x + 0.4, 0, 1)], 11)

# --- Pad: attributes (opset 2), negative pads (crop), axes input (opset 18)
x = r(1, 2, 4, 5)
add("pad-opset2-reflect", "Pad", {"mode": "reflect", "pads": [0, 0, 2, 1, 0, 0, 1, 3]}, [I("x", x)],
    [np.pad(x, ((0, 0), (0, 0), (2, 1), (1, 3)), mode="reflect")], 2)
add("pad-opset2-constant-value", "Pad", {"pads": [0, 1, 1, 0, 0, 0, 2, 2], "value": 1.5}, [I("x", x)],
    [np.pad(x, ((0, 0), (1, 0), (1, 2), (0, 2)), constant_values=1.5)], 2)
add("pad-opset11-crop-edge", "Pad", {"mode": "edge"},
    [I("x", x), I("pads", [0, 0, -1, 2, 0, 0, 1, -2], const=True, isint=True)],
    [np.pad(x[:, :, 1:, :3], ((0, 0), (0, 0), (0, 1), (2, 0)), mode="edge")], 11)
add("pad-opset18-axes", "Pad", {},
    [I("x", x), I("pads", [1, 2, 3, 0], const=True, isint=True), I("cv", [-2.0], const=True), I("axes", [-1, 1], const=True, isint=True)],
    [np.pad(x, ((0, 0), (2, 0), (0, 0), (1, 3)), constant_values=-2.0)], 18)

# --- MatMul: batch broadcasting, 1-D operands, constant operands
a, b = r(2, 1, 3, 4), r(3, 4, 5)
add("matmul-bcast-batch", "MatMul", {}, [I("a", a), I("b", b)], [np.matmul(a, b)], 13)
a, b = r(4), r(2, 4, 3)
add("matmul-1d-left", "MatMul", {}, [I("a", a), I("b", b)], [np.matmul(a, b)], 13)
a, b = r(2, 3, 4), r(4)
add("matmul-1d-right", "MatMul", {}, [I("a", a), I("b", b, const=True)], [np.matmul(a, b)], 13)
a, b = r(2, 3, 7, 4), r(4, 5)
add("matmul-batched-a-2d-b", "MatMul", {}, [I("a", a), I("b", b, const=True)], [np.matmul(a, b)], 13)
a, b = r(5, 6), r(3, 6, 7)
add("matmul-const-a", "MatMul", {}, [I("a", a, const=True), I("b", b)], [np.matmul(a, b)], 13)

# --- Gemm: K above one 256 block, N above two 32-column panels (so two
# threads split it), constant transposed B, vector C; one-decimal inputs keep
# the file small
a, b, c = np.round(r(5, 260), 1), np.round(r(66, 260), 1), r(66)
add("gemm-large-transB-const", "Gemm", {"alpha": 0.5, "beta": {"float": 2.0}, "transB": 1},
    [I("a", a), I("b", b, const=True), I("c", c, const=True)], [0.5 * a @ b.T + 2 * c], 13, tol=1e-4)
a, b, c = r(6, 5), r(6, 9), r(5, 1)
add("gemm-transA-const-colC", "Gemm", {"transA": 1},
    [I("a", a, const=True), I("b", b), I("c", c)], [a.T @ b + c], 13)
a, b = r(3, 4), r(5, 4)
add("gemm-transB-runtime", "Gemm", {"transB": 1}, [I("a", a), I("b", b)], [a @ b.T], 13)

# --- TopK / ArgMax indices used by later ops (carried as float32)
x = np.round(r(3, 40) * 2) / 2  # many ties
order = np.argsort(-x, axis=1, kind="stable")[:, :5]
vals = np.take_along_axis(x, order, axis=1)
add("topk-indices-downstream", None, {}, [I("x", x), I("k", [5], const=True, isint=True)], [vals + order], 11,
    nodes=[{"op": "TopK", "inputs": ["x", "k"], "outputs": ["v", "i"], "attrs": {"axis": 1}},
           {"op": "Cast", "inputs": ["i"], "outputs": ["fi"], "attrs": {"to": 1}},
           {"op": "Add", "inputs": ["v", "fi"], "outputs": ["y"], "attrs": {}}])
order = np.argsort(x, axis=0, kind="stable")[:2]
add("topk-smallest-axis0", "TopK", {"axis": 0, "largest": 0}, [I("x", x), I("k", [2], const=True, isint=True)],
    [np.take_along_axis(x, order, axis=0), order], 11)
am = np.argmax(x, axis=1)
add("argmax-downstream", None, {}, [I("x", x)], [am.astype(np.float64) * 2], 13,
    nodes=[{"op": "ArgMax", "inputs": ["x"], "outputs": ["a"], "attrs": {"axis": 1, "keepdims": 0}},
           {"op": "Cast", "inputs": ["a"], "outputs": ["fa"], "attrs": {"to": 1}},
           {"op": "Add", "inputs": ["fa", "fa"], "outputs": ["y"], "attrs": {}}])

# --- Expand, Where on a computed condition, variadic Max, Pow with an int exponent
x = r(2, 1, 4)
add("expand-lower-rank-shape", "Expand", {}, [I("x", x), I("s", [3, 1], const=True, isint=True)],
    [np.broadcast_to(x, (2, 3, 4))], 13)
x, z = r(2, 3), r(3)
add("where-greater", None, {}, [I("x", x), I("z", z)], [np.maximum(x, z)], 16,
    nodes=[{"op": "Greater", "inputs": ["x", "z"], "outputs": ["c"], "attrs": {}},
           {"op": "Where", "inputs": ["c", "x", "z"], "outputs": ["y"], "attrs": {}}])
p, q, s = r(2, 3), r(3), r(2, 1)
add("max-3-inputs-bcast", "Max", {}, [I("p", p), I("q", q), I("s", s)], [np.maximum(np.maximum(p, q), s)], 13)
add("min-3-inputs-bcast", "Min", {}, [I("p", p), I("q", q), I("s", s)], [np.minimum(np.minimum(p, q), s)], 13)
x = r(2, 5)
add("pow-int-exponent", "Pow", {}, [I("x", x), I("e", [3], const=True, isint=True)], [x ** 3], 13)
x = r(4, 3)
add("hardswish-odd", "HardSwish", {}, [I("x", x * 4)], [x * 4 * np.clip(x * 4 / 6 + 0.5, 0, 1)], 14)

# --- Resize linear, asymmetric (not among the node tests), numpy reference
def lin_axis(n_in, n_out, scale, ctm):
    idx = []
    for o in range(n_out):
        if ctm == "asymmetric":
            f = o / scale
        else:  # half_pixel
            f = (o + 0.5) / scale - 0.5
        f = min(max(f, 0), n_in - 1)
        l = int(np.floor(f))
        idx.append((l, min(l + 1, n_in - 1), f - l))
    return idx


def resize_linear(x, scales, ctm):
    N, C, H, W = x.shape
    OH, OW = int(np.floor(H * scales[2])), int(np.floor(W * scales[3]))
    ys, xs = lin_axis(H, OH, scales[2], ctm), lin_axis(W, OW, scales[3], ctm)
    y = np.zeros((N, C, OH, OW))
    for i, (y0, y1, wy) in enumerate(ys):
        for j, (x0, x1, wx) in enumerate(xs):
            top = x[:, :, y0, x0] * (1 - wx) + x[:, :, y0, x1] * wx
            bot = x[:, :, y1, x0] * (1 - wx) + x[:, :, y1, x1] * wx
            y[:, :, i, j] = top * (1 - wy) + bot * wy
    return y


x = r(1, 2, 3, 5)
sc = [1.0, 1.0, 2.5, 1.6]
add("resize-linear-asymmetric", "Resize", {"mode": "linear", "coordinate_transformation_mode": "asymmetric"},
    [I("x", x), I("roi", np.zeros(0), const=True), I("scales", sc, const=True)], [resize_linear(x, sc, "asymmetric")], 13)

json.dump(cases, __import__("sys").stdout)
