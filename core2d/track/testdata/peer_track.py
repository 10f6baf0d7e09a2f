#!/usr/bin/python3
"""The tracking ops of ../shared/peers/bench_2d.py alone (that script also decodes, resizes and runs
ONNX nets on a frames folder): kalman_100tracks (100 cv2.KalmanFilter, 8-state constant velocity,
predict + correct) and assign_100x100 (scipy.optimize.linear_sum_assignment on a 100x100 cost), copied
verbatim so BenchmarkSORT's peer runs in seconds, in the same shell.

  /usr/bin/python3 core2d/track/testdata/peer_track.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../shared/peers"))
from benchlib import run  # noqa: E402

import cv2  # noqa: E402

PEER = "opencv-" + cv2.__version__
cv2.setNumThreads(1)
rng = np.random.default_rng(0)
kfs = []
for _ in range(100):
    kf = cv2.KalmanFilter(8, 4)
    kf.transitionMatrix = np.eye(8, dtype=np.float32) + np.eye(8, k=4, dtype=np.float32)
    kf.measurementMatrix = np.eye(4, 8, dtype=np.float32)
    kf.processNoiseCov = np.eye(8, dtype=np.float32) * 1e-2
    kf.measurementNoiseCov = np.eye(4, dtype=np.float32) * 1e-1
    kf.errorCovPost = np.eye(8, dtype=np.float32)
    kfs.append(kf)
meas = rng.uniform(0, 500, (100, 4, 1)).astype(np.float32)


def kstep():
    for kf, m in zip(kfs, meas):
        kf.predict()
        kf.correct(m)


run("kalman_100tracks", PEER, kstep, None, threads=1, note="predict+correct, 8-state cv model")
import scipy  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

cost = 1.0 - rng.uniform(0, 1, (100, 100))
run("assign_100x100", "scipy-" + scipy.__version__, lambda: linear_sum_assignment(cost), None, threads=1)
