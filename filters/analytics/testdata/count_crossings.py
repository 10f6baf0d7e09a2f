#!/usr/bin/env python3
"""Counts line crossings and zone entries/exits of MOTChallenge tracks, for
checking the analytics filter against ground truth. Independent of the Go
code: its own segment intersection and point-in-polygon.

Semantics (docs/ANALYTICS.md): the anchor is the bottom centre of the box;
each track's consecutive rows (by frame) are its steps. A step crosses line
A->B when its end is strictly on one side, the track was last strictly on
the other side, and the step's segment meets the segment A-B (end points
included). Its direction is +1 when it ends where cross(B-A, P-A) > 0. A
point on a zone's border is inside; an entry is a step from outside to
inside (the track's first row never enters), an exit the reverse.
With margins (the filter's line_margin, zone_margin): a point within
LINE_MARGIN of a line has no side, so a crossing happens on the step that
takes the track beyond the margin on the other side, provided its path met
the segment since it was last beyond the margin; a track changes in/out of
a zone only once it is more than ZONE_MARGIN past the border.
usage: count_crossings.py RULES.json SEQ TRACKS.txt [LINE_MARGIN ZONE_MARGIN] -> JSON on stdout
"""
import json
import math
import struct
import sys
from fractions import Fraction


def orient(a, b, c):
    v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (v > 0) - (v < 0)


def between(a, b, p):
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def meet(p, q, a, b):
    o1, o2, o3, o4 = orient(a, b, p), orient(a, b, q), orient(p, q, a), orient(p, q, b)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    return ((o1 == 0 and between(a, b, p)) or (o2 == 0 and between(a, b, q)) or
            (o3 == 0 and between(p, q, a)) or (o4 == 0 and between(p, q, b)))


def inside(poly, p):
    n = len(poly)
    hit = False
    for i in range(n):
        a, b = poly[i], poly[i - 1]
        if orient(a, b, p) == 0 and between(a, b, p):
            return True
        if (a[1] > p[1]) != (b[1] > p[1]):
            # x of the edge at p's height, exactly
            xi = Fraction(a[0]) + (Fraction(p[1]) - Fraction(a[1])) * (Fraction(b[0]) - Fraction(a[0])) / (Fraction(b[1]) - Fraction(a[1]))
            if p[0] < xi:
                hit = not hit
    return hit


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def tracks(path):
    out = {}
    with open(path) as f:
        for line in f:
            c = line.strip().split(",")
            if len(c) < 6 or (len(c) > 6 and float(c[6]) < 1):
                continue
            fr, tid = int(float(c[0])), int(float(c[1]))
            x, y, w, h = (float(v) for v in c[2:6])
            # float32 like the tracker's boxes, then the anchor in float64
            x, y, w, h = f32(x), f32(y), f32(w), f32(h)
            out.setdefault(tid, []).append((fr, (x + w / 2, y + h)))
    for t in out.values():
        t.sort()
    return out


def side(a, b, p, margin):
    v = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    if margin > 0 and abs(v) / math.hypot(b[0] - a[0], b[1] - a[1]) <= margin:
        return 0
    return (v > 0) - (v < 0)


def border_distance(poly, p):
    best = math.inf
    for i in range(len(poly)):
        a, b = poly[i - 1], poly[i]
        dx, dy = b[0] - a[0], b[1] - a[1]
        t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)
        t = max(0.0, min(1.0, t))
        best = min(best, math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy))
    return best


def count(rules, trs, lm=0.0, zm=0.0):
    res = {"lines": {}, "zones": {}}
    for lid, (a, b) in rules["lines"].items():
        pos = neg = 0
        for t in trs.values():
            last, met = side(a, b, t[0][1], lm), False
            for (_, p), (_, q) in zip(t, t[1:]):
                met = met or meet(p, q, a, b)
                s = side(a, b, q, lm)
                if s == 0:
                    continue
                if last != 0 and s != last and met:
                    if s > 0:
                        pos += 1
                    else:
                        neg += 1
                last, met = s, False
        res["lines"][lid] = {"positive": pos, "negative": neg}
    for zid, poly in rules["zones"].items():
        ent = ext = 0
        for t in trs.values():
            was = inside(poly, t[0][1])
            for _, q in t[1:]:
                now = inside(poly, q)
                if zm > 0 and now != was and border_distance(poly, q) <= zm:
                    now = was
                ent += now and not was
                ext += was and not now
                was = now
        res["zones"][zid] = {"entries": ent, "exits": ext}
    return res


def main():
    rules = json.load(open(sys.argv[1]))[sys.argv[2]]
    lm = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    zm = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    json.dump(count(rules, tracks(sys.argv[3]), lm, zm), sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
