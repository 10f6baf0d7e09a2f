#!/usr/bin/python3
"""Export the ds3d-go model zoo to ONNX with random weights.

Usage: export.py OUT_DIR [NAME ...]   (no names: every model; --list prints the names)

For each model NAME it writes OUT_DIR/NAME.onnx, OUT_DIR/NAME.input.bin (the random
input, raw little-endian float32 in the shape of the manifest entry) and finally
OUT_DIR/NAME.json (input name and shape, output names, opset, dynamic axes). Nothing
is downloaded: torchvision builders run with weights=None, every model is built after
torch.manual_seed(0), and BatchNorm statistics are randomised so that folding them
is exercised. Needs Debian's python3-torch, python3-torchvision and python3-onnx.
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def randomise_bn(model):
    """BatchNorm with mean 0 / var 1 folds into nothing; give it real statistics."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            if m.weight is not None:
                m.weight.data.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.bias.data.copy_(torch.rand(n, generator=g) * 0.2 - 0.1)
    return model


# --- small hand-written models ------------------------------------------------

def conv_bn(cin, cout, k=3, s=1, act=nn.ReLU):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), act())


class PillarHead(nn.Module):
    """PointPillars (SECOND backbone + FPN neck + SSD head) on the BEV pseudo-image.

    The pillar feature net and its scatter run outside the export (see
    core2d/infer's custom-op example); this is the part an exported
    PointPillars/CenterPoint-pillar model spends its time in.
    """

    def __init__(self, cin=64, anchors=6, classes=3):
        super().__init__()
        def block(ci, co, n, s):
            return nn.Sequential(conv_bn(ci, co, 3, s), *[conv_bn(co, co) for _ in range(n)])
        self.b1, self.b2, self.b3 = block(cin, 64, 3, 2), block(64, 128, 5, 2), block(128, 256, 5, 2)
        def up(ci, s):
            return nn.Sequential(nn.ConvTranspose2d(ci, 128, s, s, bias=False), nn.BatchNorm2d(128), nn.ReLU())
        self.u1, self.u2, self.u3 = up(64, 1), up(128, 2), up(256, 4)
        self.cls = nn.Conv2d(384, anchors * classes, 1)
        self.box = nn.Conv2d(384, anchors * 7, 1)
        self.dir = nn.Conv2d(384, anchors * 2, 1)

    def forward(self, bev):
        x1 = self.b1(bev)
        x2 = self.b2(x1)
        x3 = self.b3(x2)
        x = torch.cat([self.u1(x1), self.u2(x2), self.u3(x3)], 1)
        return torch.sigmoid(self.cls(x)), self.box(x), self.dir(x)


def yconv(cin, cout, k=1, s=1):
    return conv_bn(cin, cout, k, s, nn.SiLU)


class Bottleneck(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = yconv(c, c, 3), yconv(c, c, 3)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    def __init__(self, cin, cout, n=1):
        super().__init__()
        self.c = cout // 2
        self.cv1 = yconv(cin, 2 * self.c)
        self.cv2 = yconv((2 + n) * self.c, cout)
        self.m = nn.ModuleList(Bottleneck(self.c) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = yconv(c, c // 2), yconv(c * 2, c)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class YOLOLike(nn.Module):
    """A YOLOv8n-like CSP detector (C2f, SPPF, PAN neck, decoupled head with DFL),
    exported with dynamic batch, height and width; boxes are left undecoded."""

    def __init__(self, nc=80, w=(16, 32, 64, 128, 256), reg=16):
        super().__init__()
        self.nc, self.reg = nc, reg
        self.stem = nn.Sequential(yconv(3, w[0], 3, 2), yconv(w[0], w[1], 3, 2), C2f(w[1], w[1]))
        self.p3 = nn.Sequential(yconv(w[1], w[2], 3, 2), C2f(w[2], w[2], 2))
        self.p4 = nn.Sequential(yconv(w[2], w[3], 3, 2), C2f(w[3], w[3], 2))
        self.p5 = nn.Sequential(yconv(w[3], w[4], 3, 2), C2f(w[4], w[4]), SPPF(w[4]))
        self.n4 = C2f(w[4] + w[3], w[3])
        self.n3 = C2f(w[3] + w[2], w[2])
        self.d3, self.o4 = yconv(w[2], w[2], 3, 2), C2f(w[2] + w[3], w[3])
        self.d4, self.o5 = yconv(w[3], w[3], 3, 2), C2f(w[3] + w[4], w[4])
        c2, c3 = max(16, w[2] // 4, reg * 4), max(w[2], nc)
        self.box = nn.ModuleList(nn.Sequential(yconv(c, c2, 3), yconv(c2, c2, 3), nn.Conv2d(c2, 4 * reg, 1)) for c in w[2:])
        self.cls = nn.ModuleList(nn.Sequential(yconv(c, c3, 3), yconv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in w[2:])
        self.dfl = nn.Conv2d(reg, 1, 1, bias=False)
        self.dfl.weight.data[:] = torch.arange(reg, dtype=torch.float).view(1, reg, 1, 1)

    def forward(self, x):
        x = self.stem(x)
        p3 = self.p3(x)
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        n4 = self.n4(torch.cat([F.interpolate(p5, scale_factor=2.0, mode="nearest"), p4], 1))
        n3 = self.n3(torch.cat([F.interpolate(n4, scale_factor=2.0, mode="nearest"), p3], 1))
        o4 = self.o4(torch.cat([self.d3(n3), n4], 1))
        o5 = self.o5(torch.cat([self.d4(o4), p5], 1))
        b = x.shape[0]
        feats = [torch.cat([self.box[i](f), self.cls[i](f)], 1).view(b, 4 * self.reg + self.nc, -1)
                 for i, f in enumerate((n3, o4, o5))]
        y = torch.cat(feats, 2)
        box, cls = y.split((4 * self.reg, self.nc), 1)
        a = box.shape[2]
        dist = self.dfl(box.view(b, 4, self.reg, a).transpose(2, 1).softmax(1)).view(b, 4, a)
        return torch.cat([dist, cls.sigmoid()], 1)


# --- torchvision wrappers -----------------------------------------------------

class SSDHead(nn.Module):
    """SSDlite320-MobileNetV3 backbone and head, without anchors, decoding and NMS."""

    def __init__(self):
        super().__init__()
        m = torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91)
        self.backbone, self.head = m.backbone, m.head

    def forward(self, x):
        f = list(self.backbone(x).values())
        out = self.head(f)
        return out["bbox_regression"], out["cls_logits"]


class SegOut(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(weights=None, **kw)


def small_vit():
    # ViT-S/16 widths (hidden 384, 6 heads) with 6 of its 12 layers: vit_b_16 is
    # 17.6 GFLOP, too slow for a 2-core machine's test runs.
    return torchvision.models.VisionTransformer(image_size=224, patch_size=16, num_layers=6, num_heads=6,
                                                hidden_dim=384, mlp_dim=1536, num_classes=1000)


# name: (builder, input shape, opset, dynamic axes of the input or None)
MODELS = {
    "mobilenetv3_small": (tv("mobilenet_v3_small"), (1, 3, 224, 224), 13, None),
    "mobilenetv3_large": (tv("mobilenet_v3_large"), (1, 3, 224, 224), 15, None),
    "resnet18_112": (tv("resnet18"), (1, 3, 112, 112), 14, None),
    "resnet18": (tv("resnet18"), (1, 3, 224, 224), 14, None),
    "resnet50": (tv("resnet50"), (1, 3, 224, 224), 13, None),
    "efficientnet_b0": (tv("efficientnet_b0"), (1, 3, 224, 224), 14, None),
    "regnet_y_400mf": (tv("regnet_y_400mf"), (1, 3, 224, 224), 15, None),
    # Opset 17: the exporter emits LayerNormalization (the ViT, at 14, keeps the
    # decomposed ReduceMean/Sub/Pow/Sqrt/Div chain).
    "convnext_tiny": (tv("convnext_tiny"), (1, 3, 224, 224), 17, None),
    "vit_s16_l6": (small_vit, (1, 3, 224, 224), 14, None),
    "ssdlite320_mobilenetv3": (SSDHead, (1, 3, 320, 320), 16, None),
    "lraspp_mobilenetv3": (lambda: SegOut(torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=21)), (1, 3, 224, 224), 16, None),
    "deeplabv3_mobilenetv3": (lambda: SegOut(torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=21, aux_loss=False)), (1, 3, 224, 224), 15, None),
    "pointpillars_head": (PillarHead, (1, 64, 128, 128), 13, None),
    # The exported graph has dynamic batch/height/width; the input file is for 1x3x256x320.
    "yolo_dynamic": (YOLOLike, (1, 3, 256, 320), 17, {0: "batch", 2: "height", 3: "width"}),
}


def export(name, out_dir):
    build, shape, opset, dyn = MODELS[name]
    torch.manual_seed(0)
    model = randomise_bn(build()).eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal(shape, dtype=np.float32))
    with torch.no_grad():
        ys = model(x)
    if isinstance(ys, torch.Tensor):
        ys = (ys,)
    outs = ["output%d" % i for i in range(len(ys))]
    path = os.path.join(out_dir, name + ".onnx")
    # Exported with autograd on: nn.MultiheadAttention otherwise takes its
    # fused fast path (aten::_native_multi_head_attention), which has no ONNX form.
    torch.onnx.export(model, x, path + ".tmp", opset_version=opset, input_names=["input"], output_names=outs,
                      dynamic_axes={"input": dyn} if dyn else None, do_constant_folding=True)
    x.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".input.bin"))
    os.replace(path + ".tmp", path)
    meta = {"name": name, "opset": opset, "inputs": [{"name": "input", "shape": list(shape)}],
            "outputs": [{"name": o, "shape": list(y.shape)} for o, y in zip(outs, ys)],
            "dynamic_axes": {str(k): v for k, v in (dyn or {}).items()},
            "torch": torch.__version__, "torchvision": torchvision.__version__}
    # The .json is written last: its presence means the export is complete.
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)


def main(argv):
    if argv[1:2] == ["--list"]:
        print("\n".join(MODELS))
        return 0
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, names = argv[1], argv[2:] or list(MODELS)
    for n in names:
        if n not in MODELS:
            print("export.py: unknown model %r (have %s)" % (n, ", ".join(MODELS)), file=sys.stderr)
            return 2
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for n in names:
        export(n, out_dir)
        print(n, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
