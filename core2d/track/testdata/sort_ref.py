#!/usr/bin/python3
"""Reference SORT (Bewley et al. 2016) in numpy + scipy, written from the
paper and the published parameters of abewley/sort's sort.py (max_age 1,
min_hits 3, iou_threshold 0.3, Kalman noise as there, filterpy's Joseph-form
update). Used only to produce "SORT's output" on the shared MOT15 detections,
which the Go evaluator then scores; it is not part of the Go build.

  /usr/bin/python3 sort_ref.py DET.txt OUT.txt
"""
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment


def iou_batch(a, b):
    a = a[:, None]
    b = b[None]
    w = np.maximum(0., np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]))
    h = np.maximum(0., np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]))
    inter = w * h
    return inter / ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) +
                    (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter)


def to_z(b):
    w, h = b[2] - b[0], b[3] - b[1]
    return np.array([b[0] + w / 2., b[1] + h / 2., w * h, w / float(h)])


def to_box(x):
    w = np.sqrt(x[2] * x[3])
    h = x[2] / w
    return np.array([x[0] - w / 2., x[1] - h / 2., x[0] + w / 2., x[1] + h / 2.])


class Track:
    count = 0
    F = np.eye(7) + np.eye(7, k=4)
    H = np.eye(4, 7)
    R = np.diag([1., 1., 10., 10.])
    Q = np.diag([1., 1., 1., 1., .01, .01, .0001])

    def __init__(self, b):
        self.x = np.zeros(7)
        self.x[:4] = to_z(b)
        self.P = np.diag([10., 10., 10., 10., 1e4, 1e4, 1e4])
        Track.count += 1
        self.id = Track.count
        self.tsu = 0
        self.hit_streak = 0

    def predict(self):
        if self.x[6] + self.x[2] <= 0:
            self.x[6] = 0.
        self.x = self.F @ self.x
        self.P = self.F @ self.P @ self.F.T + self.Q
        if self.tsu > 0:
            self.hit_streak = 0
        self.tsu += 1
        return to_box(self.x)

    def update(self, b):
        self.tsu = 0
        self.hit_streak += 1
        S = self.H @ self.P @ self.H.T + self.R
        K = self.P @ self.H.T @ np.linalg.inv(S)
        self.x = self.x + K @ (to_z(b) - self.H @ self.x)
        I_KH = np.eye(7) - K @ self.H
        self.P = I_KH @ self.P @ I_KH.T + K @ self.R @ K.T


def associate(dets, trks, thr):
    if len(trks) == 0 or len(dets) == 0:
        return [], list(range(len(dets)))
    m = iou_batch(dets, trks)
    a = (m > thr).astype(int)
    if a.sum(1).max() == 1 and a.sum(0).max() == 1:
        pairs = np.stack(np.where(a), axis=1)
    else:
        r, c = linear_sum_assignment(-m)
        pairs = np.stack([r, c], axis=1)
    matched = [(d, t) for d, t in pairs if m[d, t] >= thr]
    md = {d for d, _ in matched}
    return matched, [d for d in range(len(dets)) if d not in md]


def main():
    det = np.loadtxt(sys.argv[1], delimiter=',')
    out = open(sys.argv[2], 'w')
    tracks, max_age, min_hits, thr = [], 1, 3, 0.3
    for frame in range(1, int(det[:, 0].max()) + 1):
        d = det[det[:, 0] == frame, 2:7].copy()
        d[:, 2:4] += d[:, 0:2]
        preds = [t.predict() for t in tracks]
        keep = [i for i, p in enumerate(preds) if not np.any(np.isnan(p))]
        tracks = [tracks[i] for i in keep]
        preds = np.array([preds[i] for i in keep]).reshape(-1, 4)
        matched, unmatched = associate(d[:, :4], preds, thr)
        for di, ti in matched:
            tracks[ti].update(d[di, :4])
        for di in unmatched:
            tracks.append(Track(d[di, :4]))
        alive = []
        for t in tracks:
            if t.tsu < 1 and (t.hit_streak >= min_hits or frame <= min_hits):
                b = to_box(t.x)
                out.write('%d,%d,%.2f,%.2f,%.2f,%.2f,1,-1,-1,-1\n' % (frame, t.id, b[0], b[1], b[2] - b[0], b[3] - b[1]))
            if t.tsu <= max_age:
                alive.append(t)
        tracks = alive


if __name__ == '__main__':
    main()
