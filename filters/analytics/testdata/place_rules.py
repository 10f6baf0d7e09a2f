#!/usr/bin/env python3
"""Places analytics lines and a zone on MOTChallenge sequences from the
ground-truth tracks alone (gt.txt), before any tracker output is looked at.

Anchor: the bottom centre of each box (x + w/2, y + h). The main walking
direction d1 is the principal axis of the tracks' frame-to-frame motion
(the 2x2 second-moment matrix of the displacement vectors, so long moves
weigh more and opposite moves agree); d2 is perpendicular to it. With s and
q the anchors' coordinates along d1 and d2:
  - lines main_25, main_50, main_75 run along d2 at the 25/50/75 % quantiles
    of s (across the main flow), from the 5 % to the 95 % quantile of q;
  - line cross_50 runs along d1 at the median of q (across the second flow),
    from the 5 % to the 95 % quantile of s;
  - zone centre is the rectangle of the 25..75 % quantiles of s and q.
Writes JSON: {seq: {"lines": {id: [[x0,y0],[x1,y1]]}, "zones": {id: [[x,y]...]}}}.
usage: place_rules.py OUT.json SEQDIR...
"""
import json
import os
import sys

import numpy as np


def read_gt(path):
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    rows = rows[rows[:, 6] >= 1]  # MOT15 marks every used box with conf 1
    return rows


def place(rows):
    ax = rows[:, 2] + rows[:, 4] / 2
    ay = rows[:, 3] + rows[:, 5]
    moves = []
    for tid in np.unique(rows[:, 1]):
        m = rows[:, 1] == tid
        order = np.argsort(rows[m, 0])
        x, y = ax[m][order], ay[m][order]
        moves.append(np.stack([np.diff(x), np.diff(y)], axis=1))
    d = np.concatenate(moves)
    w, v = np.linalg.eigh(d.T @ d)
    d1 = v[:, np.argmax(w)]
    d2 = np.array([-d1[1], d1[0]])
    pts = np.stack([ax, ay], axis=1)
    s, q = pts @ d1, pts @ d2

    def at(si, qi):
        p = si * d1 + qi * d2
        return [round(float(p[0]), 1), round(float(p[1]), 1)]

    qlo, qhi = np.quantile(q, [0.05, 0.95])
    slo, shi = np.quantile(s, [0.05, 0.95])
    lines = {}
    for pct in (25, 50, 75):
        sv = np.quantile(s, pct / 100)
        lines["main_%d" % pct] = [at(sv, qlo), at(sv, qhi)]
    qm = np.quantile(q, 0.5)
    lines["cross_50"] = [at(slo, qm), at(shi, qm)]
    s25, s75 = np.quantile(s, [0.25, 0.75])
    q25, q75 = np.quantile(q, [0.25, 0.75])
    zone = [at(s25, q25), at(s75, q25), at(s75, q75), at(s25, q75)]
    return {"lines": lines, "zones": {"centre": zone},
            "main_direction": [round(float(d1[0]), 4), round(float(d1[1]), 4)]}


def main():
    out = {}
    for seq in sys.argv[2:]:
        out[os.path.basename(seq.rstrip("/"))] = place(read_gt(os.path.join(seq, "gt.txt")))
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
