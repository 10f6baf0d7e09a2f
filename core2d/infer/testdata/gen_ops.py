#!/usr/bin/env python3
"""Writes ops_golden.json: small ONNX op cases with outputs computed by
straightforward numpy (float64) reference implementations written from the
ONNX operator spec, independently of the Go engine. Run:
    /usr/bin/python3 gen_ops.py > ops_golden.json
Each case: op, attrs (name -> int | float | string | [ints]), inputs
(name, shape, data, const, int), outputs (shape, data), tol."""
import json
import numpy as np

rng = np.random.default_rng(7)
cases = []


def T(a, const=False, isint=False):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": [float(v) for v in a.ravel()], "const": const, "int": isint}


def add(name, op, attrs, inputs, outputs, tol=1e-5, nodes=None):
    cases.append({"name": name, "op": op, "attrs": attrs, "inputs": inputs,
                  "outputs": [T(o) for o in outputs], "tol": tol, "nodes": nodes})


def conv_ref(x, w, b, strides, pads, dil, group):
    N, C, H, W = x.shape
    M, Cg, KH, KW = w.shape
    pt, pl, pb, pr = pads
    xp = np.zeros((N, C, H + pt + pb, W + pl + pr))
    xp[:, :, pt:pt + H, pl:pl + W] = x
    OH = (H + pt + pb - (KH - 1) * dil[0] - 1) // strides[0] + 1
    OW = (W + pl + pr - (KW - 1) * dil[1] - 1) // strides[1] + 1
    y = np.zeros((N, M, OH, OW))
    mg = M // group
    for n in range(N):
        for m in range(M):
            g = m // mg
            for oy in range(OH):
                for ox in range(OW):
                    s = 0.0
                    for c in range(Cg):
                        for ky in range(KH):
                            for kx in range(KW):
                                s += w[m, c, ky, kx] * xp[n, g * Cg + c, oy * strides[0] + ky * dil[0], ox * strides[1] + kx * dil[1]]
                    y[n, m, oy, ox] = s + (b[m] if b is not None else 0)
    return y


def r(*shape):
    # float32-representable values, so the engine sees exactly these inputs
    return rng.standard_normal(shape).astype(np.float32).astype(np.float64)


# --- Conv
for name, xs, ws, st, pd, dl, g, bias in [
    ("conv3x3-pad1", (1, 3, 6, 7), (4, 3, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 1, True),
    ("conv3x3-stride2-asym-pad", (1, 2, 7, 8), (3, 2, 3, 3), [2, 2], [1, 0, 1, 2], [1, 1], 1, True),
    ("conv1x1-nobias", (2, 5, 3, 4), (7, 5, 1, 1), [1, 1], [0, 0, 0, 0], [1, 1], 1, False),
    ("conv-group2", (1, 4, 5, 5), (6, 2, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 2, True),
    ("conv-depthwise-s1", (1, 5, 9, 11), (5, 1, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 5, True),
    ("conv-depthwise-s2", (1, 3, 9, 10), (3, 1, 3, 3), [2, 2], [1, 1, 1, 1], [1, 1], 3, True),
    ("conv-depthwise-5x5-dil2", (1, 2, 12, 12), (2, 1, 5, 5), [1, 1], [4, 4, 4, 4], [2, 2], 2, True),
    ("conv-large-k", (1, 40, 6, 6), (9, 40, 3, 3), [1, 1], [1, 1, 1, 1], [1, 1], 1, True),
]:
    x, w = r(*xs), r(*ws) * 0.5
    b = r(ws[0]) if bias else None
    y = conv_ref(x, w, b, st, pd, dl, g)
    ins = [dict(T(x), name="x"), dict(T(w, True), name="w")]
    if bias:
        ins.append(dict(T(b, True), name="b"))
    add(name, "Conv", {"strides": st, "pads": pd, "dilations": dl, "group": g, "kernel_shape": list(ws[2:])}, ins, [y], tol=1e-4)

# Conv + Sigmoid + Mul (SiLU, fused by the engine) and Conv + Sigmoid
x, w, b = r(1, 3, 5, 5), r(4, 3, 3, 3) * 0.5, r(4)
y = conv_ref(x, w, b, [1, 1], [1, 1, 1, 1], [1, 1], 1)
sig = 1 / (1 + np.exp(-y))
attrs = {"strides": [1, 1], "pads": [1, 1, 1, 1], "group": 1}
ins = [dict(T(x), name="x"), dict(T(w, True), name="w"), dict(T(b, True), name="b")]
add("conv-silu", "Conv", attrs, ins, [y * sig], tol=1e-4, nodes=[
    {"op": "Conv", "inputs": ["x", "w", "b"], "outputs": ["c"], "attrs": attrs},
    {"op": "Sigmoid", "inputs": ["c"], "outputs": ["s"]},
    {"op": "Mul", "inputs": ["c", "s"], "outputs": ["y"]}])
add("conv-sigmoid", "Conv", attrs, ins, [sig], tol=1e-4, nodes=[
    {"op": "Conv", "inputs": ["x", "w", "b"], "outputs": ["c"], "attrs": attrs},
    {"op": "Sigmoid", "inputs": ["c"], "outputs": ["y"]}])
# Conv + BatchNormalization (folded by the engine)
sc, bb, mean, var = r(4), r(4), r(4), np.abs(r(4)) + 0.5
bn = (y - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-3) * sc[None, :, None, None] + bb[None, :, None, None]
ins2 = ins + [dict(T(sc, True), name="sc"), dict(T(bb, True), name="bb"), dict(T(mean, True), name="mean"), dict(T(var, True), name="var")]
add("conv-bn", "Conv", attrs, ins2, [bn], tol=1e-4, nodes=[
    {"op": "Conv", "inputs": ["x", "w", "b"], "outputs": ["c"], "attrs": attrs},
    {"op": "BatchNormalization", "inputs": ["c", "sc", "bb", "mean", "var"], "outputs": ["y"], "attrs": {"epsilon": 1e-3}}])
xb = r(1, 4, 3, 3)
bn2 = (xb - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5) * sc[None, :, None, None] + bb[None, :, None, None]
add("batchnorm", "BatchNormalization", {}, [dict(T(xb), name="x"), dict(T(sc, True), name="sc"), dict(T(bb, True), name="bb"),
                                             dict(T(mean, True), name="mean"), dict(T(var, True), name="var")], [bn2])

# --- elementwise
x = r(2, 3, 4) * 3
add("sigmoid", "Sigmoid", {}, [dict(T(x), name="x")], [1 / (1 + np.exp(-x))], tol=2e-6)
add("exp", "Exp", {}, [dict(T(x), name="x")], [np.exp(x)], tol=1e-5)
add("relu", "Relu", {}, [dict(T(x), name="x")], [np.maximum(x, 0)])
xs = np.array([-30.0, -18.5, -9.0, -1e-3, 0.0, 2.5, 17.0, 40.0])
add("sigmoid-range", "Sigmoid", {}, [dict(T(xs), name="x")], [1 / (1 + np.exp(-xs))], tol=2e-6)
a, b2 = r(2, 3, 4), r(2, 3, 4)
add("add-same", "Add", {}, [dict(T(a), name="a"), dict(T(b2), name="b")], [a + b2])
add("mul-same", "Mul", {}, [dict(T(a), name="a"), dict(T(b2), name="b")], [a * b2])
c = r(3, 1)
add("add-broadcast", "Add", {}, [dict(T(a), name="a"), dict(T(c), name="b")], [a + c])
v4 = r(4)
add("sub-broadcast-const", "Sub", {}, [dict(T(a), name="a"), dict(T(v4, True), name="b")], [a - v4])
s = r(1)
add("div-scalar", "Div", {}, [dict(T(a), name="a"), dict(T(s + 3.0, True), name="b")], [a / (s + 3.0)], tol=1e-6)

# --- pooling
x = r(1, 2, 7, 7)


def maxpool(x, k, s, p, ceil=False):
    N, C, H, W = x.shape
    xp = np.full((N, C, H + p[0] + p[2] + k[0], W + p[1] + p[3] + k[1]), -np.inf)
    xp[:, :, p[0]:p[0] + H, p[1]:p[1] + W] = x
    f = np.ceil if ceil else np.floor
    OH = int(f((H + p[0] + p[2] - k[0]) / s[0])) + 1
    OW = int(f((W + p[1] + p[3] - k[1]) / s[1])) + 1
    y = np.zeros((N, C, OH, OW))
    for oy in range(OH):
        for ox in range(OW):
            y[:, :, oy, ox] = xp[:, :, oy * s[0]:oy * s[0] + k[0], ox * s[1]:ox * s[1] + k[1]].max(axis=(2, 3))
    return y


add("maxpool-spp5", "MaxPool", {"kernel_shape": [5, 5], "pads": [2, 2, 2, 2], "strides": [1, 1]}, [dict(T(x), name="x")], [maxpool(x, [5, 5], [1, 1], [2, 2, 2, 2])])
add("maxpool-2x2s2", "MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}, [dict(T(x), name="x")], [maxpool(x, [2, 2], [2, 2], [0, 0, 0, 0])])
add("maxpool-3x3s2-ceil", "MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, [dict(T(x), name="x")], [maxpool(x, [3, 3], [2, 2], [0, 0, 0, 0], True)])
avg = np.zeros((1, 2, 3, 3))
for oy in range(3):
    for ox in range(3):
        avg[:, :, oy, ox] = x[:, :, oy * 2:oy * 2 + 3, ox * 2:ox * 2 + 3].mean(axis=(2, 3))
add("avgpool-3x3s2", "AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2]}, [dict(T(x), name="x")], [avg])
add("globalavgpool", "GlobalAveragePool", {}, [dict(T(x), name="x")], [x.mean(axis=(2, 3), keepdims=True)])

# --- Resize (opset 11: X, roi, scales[, sizes])
x = r(1, 2, 3, 4)
empty = {"shape": [0], "data": [], "const": True, "int": False}
sc2 = np.array([1.0, 1.0, 2.0, 2.0])
add("resize-nearest-asym-floor", "Resize", {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
    [dict(T(x), name="x"), dict(empty, name="roi"), dict(T(sc2, True), name="scales")], [x.repeat(2, axis=2).repeat(2, axis=3)])


def src_half(o, s, n):
    return (o + 0.5) / s - 0.5


sc3 = np.array([1.0, 1.0, 1.5, 2.5])
OH, OW = int(3 * 1.5), int(4 * 2.5)
yn = np.zeros((1, 2, OH, OW))
yl = np.zeros((1, 2, OH, OW))
for oy in range(OH):
    for ox in range(OW):
        fy, fx = src_half(oy, 1.5, 3), src_half(ox, 2.5, 4)
        iy = min(max(int(np.ceil(fy - 0.5)), 0), 2)  # round_prefer_floor
        ix = min(max(int(np.ceil(fx - 0.5)), 0), 3)
        yn[:, :, oy, ox] = x[:, :, iy, ix]
        fy, fx = min(max(fy, 0), 2), min(max(fx, 0), 3)
        y0, x0 = int(np.floor(fy)), int(np.floor(fx))
        y1, x1 = min(y0 + 1, 2), min(x0 + 1, 3)
        wy, wx = fy - y0, fx - x0
        yl[:, :, oy, ox] = (x[:, :, y0, x0] * (1 - wy) * (1 - wx) + x[:, :, y0, x1] * (1 - wy) * wx +
                            x[:, :, y1, x0] * wy * (1 - wx) + x[:, :, y1, x1] * wy * wx)
add("resize-nearest-halfpixel", "Resize", {"mode": "nearest"}, [dict(T(x), name="x"), dict(empty, name="roi"), dict(T(sc3, True), name="scales")], [yn])
add("resize-linear-halfpixel", "Resize", {"mode": "linear"}, [dict(T(x), name="x"), dict(empty, name="roi"), dict(T(sc3, True), name="scales")], [yl])

# --- movement
x = r(1, 3, 6, 8)
i64 = lambda v: dict(T(np.array(v), True, True))
add("slice-focus", "Slice", {}, [dict(T(x), name="x"), dict(i64([1]), name="st"), dict(i64([2**63 - 1]), name="en"),
                                 dict(i64([3]), name="ax"), dict(i64([2]), name="sp")], [x[:, :, :, 1::2]])
add("slice-neg", "Slice", {}, [dict(T(x), name="x"), dict(i64([-1, 4]), name="st"), dict(i64([0, 1]), name="en"),
                               dict(i64([1, 2]), name="ax"), dict(i64([-1, -2]), name="sp")], [x[:, -1:0:-1, 4:1:-2, :]])
a2, b3 = r(1, 2, 3, 4), r(1, 5, 3, 4)
add("concat-axis1", "Concat", {"axis": 1}, [dict(T(a2), name="a"), dict(T(b3), name="b")], [np.concatenate([a2, b3], 1)])
add("concat-axis-neg1", "Concat", {"axis": -1}, [dict(T(a2), name="a"), dict(T(a2 * 2), name="b")], [np.concatenate([a2, a2 * 2], -1)])
x3 = r(1, 5, 7)
add("transpose-021", "Transpose", {"perm": [0, 2, 1]}, [dict(T(x3), name="x")], [x3.transpose(0, 2, 1)])
x4 = r(2, 3, 4, 5)
add("transpose-4d", "Transpose", {"perm": [3, 1, 0, 2]}, [dict(T(x4), name="x")], [x4.transpose(3, 1, 0, 2)])
add("reshape-neg1", "Reshape", {}, [dict(T(x4), name="x"), dict(i64([2, -1, 5]), name="s")], [x4.reshape(2, -1, 5)])
add("reshape-zero", "Reshape", {}, [dict(T(x4), name="x"), dict(i64([0, 12, -1]), name="s")], [x4.reshape(2, 12, 5)])
add("flatten", "Flatten", {"axis": 2}, [dict(T(x4), name="x")], [x4.reshape(6, 20)])
add("split-attr", "Split", {"axis": 1, "split": [1, 2]}, [dict(T(x4), name="x")], [x4[:, :1], x4[:, 1:]])
add("gather-axis1", "Gather", {"axis": 1}, [dict(T(x4), name="x"), dict(i64([2, 0]), name="i")], [x4[:, [2, 0]]])
add("unsqueeze-squeeze", "Unsqueeze", {"axes": [0, 3]}, [dict(T(a2[0]), name="x")], [a2[0][None, :, :, None, :]])

# Kernel-path cases (added with the direct stem tile and the 3×3 depthwise
# assembly kernel): rows wider than 16 columns with a partial last vector,
# several row bands with a short last one, 32 output channels, asymmetric
# pads, and each fused activation kind (SiLU, Sigmoid, Relu, none).
def fused_conv(name, xs, ws, st, pd, g, act):
    x, w, b = r(*xs), r(*ws) * 0.5, r(ws[0])
    y = conv_ref(x, w, b, st, pd, [1, 1], g)
    attrs = {"strides": st, "pads": pd, "group": g, "kernel_shape": list(ws[2:])}
    ins = [dict(T(x), name="x"), dict(T(w, True), name="w"), dict(T(b, True), name="b")]
    conv = {"op": "Conv", "inputs": ["x", "w", "b"], "outputs": ["c" if act else "y"], "attrs": attrs}
    sig = 1 / (1 + np.exp(-y))
    if act == "silu":
        out, nodes = y * sig, [conv, {"op": "Sigmoid", "inputs": ["c"], "outputs": ["s"]},
                               {"op": "Mul", "inputs": ["c", "s"], "outputs": ["y"]}]
    elif act == "sigmoid":
        # a Sigmoid whose output is a graph output is not fused; the Relu
        # after it (the identity on [0, 1]) keeps it inside the graph
        out, nodes = sig, [conv, {"op": "Sigmoid", "inputs": ["c"], "outputs": ["s"]},
                           {"op": "Relu", "inputs": ["s"], "outputs": ["y"]}]
    elif act == "relu":
        out, nodes = np.maximum(y, 0), [conv, {"op": "Relu", "inputs": ["c"], "outputs": ["y"]}]
    else:
        out, nodes = y, [conv]
    add(name, "Conv", attrs, ins, [out], tol=1e-4, nodes=nodes)


fused_conv("conv3x3-direct-asym-pad", (1, 3, 19, 37), (32, 3, 3, 3), [1, 1], [1, 1, 2, 1], 1, None)
fused_conv("conv3x3-direct-silu", (1, 4, 11, 16), (16, 4, 3, 3), [1, 1], [1, 1, 1, 1], 1, "silu")
fused_conv("conv3x3-direct-sigmoid", (1, 2, 9, 20), (16, 2, 3, 3), [1, 1], [0, 0, 0, 0], 1, "sigmoid")
fused_conv("conv3x3-direct-relu", (1, 3, 10, 20), (16, 3, 3, 3), [1, 1], [1, 1, 1, 1], 1, "relu")
fused_conv("conv-depthwise-s1-wide-silu", (1, 3, 5, 35), (3, 1, 3, 3), [1, 1], [1, 1, 1, 1], 3, "silu")
fused_conv("conv-depthwise-s2-wide-sigmoid", (1, 2, 7, 41), (2, 1, 3, 3), [2, 2], [1, 1, 1, 1], 2, "sigmoid")
fused_conv("conv-depthwise-s2-narrow-silu", (1, 4, 26, 26), (4, 1, 3, 3), [2, 2], [1, 1, 1, 1], 4, "silu")
fused_conv("conv-depthwise-s1-relu", (1, 2, 6, 18), (2, 1, 3, 3), [1, 1], [1, 1, 1, 1], 2, "relu")
fused_conv("conv-depthwise-s1-w32-silu", (1, 2, 4, 32), (2, 1, 3, 3), [1, 1], [1, 1, 1, 1], 2, "silu")
fused_conv("conv-depthwise-s1-w16-h1", (1, 3, 1, 16), (3, 1, 3, 3), [1, 1], [1, 1, 1, 1], 3, None)

# stride-1 max pools of several widths (slidingMax's doubling: k = 13 takes
# windows 2, 4, 8 and then two overlapping 8-wide ones; k = 3 and 7 the
# other shapes), with asymmetric pads
xp = r(1, 2, 13, 15)
for k, pd in ((13, [6, 6, 6, 6]), (3, [1, 0, 1, 2]), (7, [3, 2, 3, 4]), (2, [0, 0, 1, 1])):
    add("maxpool-s1-k%d" % k, "MaxPool", {"kernel_shape": [k, k], "pads": pd, "strides": [1, 1]}, [dict(T(xp), name="x")],
        [maxpool(xp, [k, k], [1, 1], pd)])

print(json.dumps(cases))
