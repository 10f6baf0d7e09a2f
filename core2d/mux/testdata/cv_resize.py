"""Peer for core2d/mux's resampler: OpenCV cv2.resize INTER_LINEAR.

  cv_resize.py IN.png W H OUT.raw        resize IN to W×H (RGB), write raw bytes
  cv_resize.py --bench SW SH W H N       time N resizes of a SW×SH RGB image
"""
import sys, time
import cv2
import numpy as np

if sys.argv[1] == "--bench":
    sw, sh, w, h, n = map(int, sys.argv[2:7])
    cv2.setNumThreads(1)
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
    out = np.empty((h, w, 3), np.uint8)
    for _ in range(20):
        cv2.resize(img, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
    t = time.perf_counter()
    for _ in range(n):
        cv2.resize(img, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
    dt = (time.perf_counter() - t) / n
    print(f"opencv {cv2.__version__} resize {sw}x{sh}->{w}x{h} rgb INTER_LINEAR 1 thread: {dt*1e3:.3f} ms/frame")
else:
    src, w, h, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    img = cv2.cvtColor(cv2.imread(src, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    open(dst, "wb").write(np.ascontiguousarray(out).tobytes())
