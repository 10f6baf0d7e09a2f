"""Writes an MCAP file of sensor_msgs/msg/PointCloud2 messages made from a
KITTI velodyne .bin, independently of ds3d-go: the MCAP records are laid out
by hand from the MCAP specification (mcap.dev/spec) and the CDR bytes from
the OMG CDR rules as ROS 2's rmw writes them. It also writes, for each
message, the [N,4] float32 x y z intensity the message holds, computed with
numpy, as OUT.K.f32.

usage: pointcloud2_bag.py KITTI.bin OUT.mcap
"""
import struct
import sys

import numpy as np

MAGIC = b"\x89MCAP0\r\n"

SCHEMA = """std_msgs/Header header
uint32 height
uint32 width
PointField[] fields
bool    is_bigendian
uint32  point_step
uint32  row_step
uint8[] data
bool is_dense
================================================================================
MSG: std_msgs/Header
builtin_interfaces/Time stamp
string frame_id
================================================================================
MSG: builtin_interfaces/Time
int32 sec
uint32 nanosec
================================================================================
MSG: sensor_msgs/PointField
uint8 INT8    = 1
uint8 UINT8   = 2
uint8 INT16   = 3
uint8 UINT16  = 4
uint8 INT32   = 5
uint8 UINT32  = 6
uint8 FLOAT32 = 7
uint8 FLOAT64 = 8
string name
uint32 offset
uint8  datatype
uint32 count
"""


class CDR:
    """XCDR1 writer: alignment counted from the end of the 4-byte header."""

    def __init__(self, big):
        self.e = ">" if big else "<"
        self.b = bytearray(b"\x00\x00\x00\x00" if big else b"\x00\x01\x00\x00")

    def align(self, n):
        while (len(self.b) - 4) % n:
            self.b.append(0)

    def put(self, fmt, v):
        n = struct.calcsize(fmt)
        self.align(n)
        self.b += struct.pack(self.e + fmt, v)

    def string(self, s):
        s = s.encode() + b"\x00"
        self.put("I", len(s))
        self.b += s


def pointcloud2(big, sec, nsec, frame, height, width, fields, is_big, step, data, dense):
    c = CDR(big)
    c.put("i", sec)
    c.put("I", nsec)
    c.string(frame)
    c.put("I", height)
    c.put("I", width)
    c.put("I", len(fields))
    for name, off, dt, cnt in fields:
        c.string(name)
        c.put("I", off)
        c.put("B", dt)
        c.put("I", cnt)
    c.put("B", int(is_big))
    c.put("I", step)
    c.put("I", step * width)
    c.put("I", len(data))
    c.b += data
    c.put("B", int(dense))
    return bytes(c.b)


def mstr(s):
    s = s.encode()
    return struct.pack("<I", len(s)) + s


def record(op, body):
    return struct.pack("<BQ", op, len(body)) + body


def main():
    src, out = sys.argv[1], sys.argv[2]
    pts = np.fromfile(src, dtype="<f4").reshape(-1, 4)
    n = len(pts)
    msgs, expected = [], []

    # 1. The KITTI layout: little-endian float32 x y z intensity, point_step 16.
    msgs.append(pointcloud2(False, 1, 500, "velo_link", 1, n,
                            [("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1), ("intensity", 12, 7, 1)],
                            False, 16, pts.astype("<f4").tobytes(), True))
    expected.append(pts.astype(np.float32))

    # 2. Padding and extra columns, an organised 2-row cloud: x y z at 0 4 8,
    #    ring uint16 at 12, intensity float32 at 16, point_step 24.
    m = n - n % 2
    rec = np.zeros(m, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("ring", "<u2"),
                             ("pad", "V2"), ("intensity", "<f4"), ("t", "<f4")])
    for k in ("x", "y", "z", "intensity"):
        rec[k] = pts[:m, "xyzi".index(k[0]) if k != "intensity" else 3]
    rec["ring"] = np.arange(m) % 64
    assert rec.dtype.itemsize == 24
    msgs.append(pointcloud2(False, 2, 0, "velo_link", 2, m // 2,
                            [("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1), ("ring", 12, 4, 1),
                             ("intensity", 16, 7, 1), ("t", 20, 7, 1)],
                            False, 24, rec.tobytes(), False))
    expected.append(pts[:m].astype(np.float32))

    # 3. Big-endian CDR and point data: float64 x y z, uint8 intensity.
    rec = np.zeros(n, dtype=[("x", ">f8"), ("y", ">f8"), ("z", ">f8"), ("intensity", "u1"), ("pad", "V7")])
    rec["x"], rec["y"], rec["z"] = pts[:, 0], pts[:, 1], pts[:, 2]
    rec["intensity"] = np.round(pts[:, 3] * 255).astype(np.uint8)
    msgs.append(pointcloud2(True, 3, 0, "velo_link", 1, n,
                            [("x", 0, 8, 1), ("y", 8, 8, 1), ("z", 16, 8, 1), ("intensity", 24, 2, 1)],
                            True, 32, rec.tobytes(), True))
    e = np.stack([rec["x"].astype(np.float32), rec["y"].astype(np.float32), rec["z"].astype(np.float32),
                  rec["intensity"].astype(np.float32)], axis=1)
    expected.append(e)

    # 4. No intensity column: x y z only, point_step 12.
    msgs.append(pointcloud2(False, 4, 0, "velo_link", 1, n,
                            [("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1)],
                            False, 12, pts[:, :3].astype("<f4").tobytes(), True))
    e = pts.astype(np.float32).copy()
    e[:, 3] = 0
    expected.append(e)

    body = MAGIC
    body += record(0x01, mstr("ros2") + mstr("ds3d-go testdata/pointcloud2_bag.py"))
    sch = SCHEMA.encode()
    body += record(0x03, struct.pack("<H", 1) + mstr("sensor_msgs/msg/PointCloud2") + mstr("ros2msg")
                   + struct.pack("<I", len(sch)) + sch)
    body += record(0x04, struct.pack("<HH", 1, 1) + mstr("/kitti/velo") + mstr("cdr") + struct.pack("<I", 0))
    for i, msg in enumerate(msgs):
        t = (i + 1) * 100_000_000
        body += record(0x05, struct.pack("<HIQQ", 1, i, t, t) + msg)
    body += record(0x0F, struct.pack("<I", 0))
    body += record(0x02, struct.pack("<QQI", 0, 0, 0))
    body += MAGIC
    with open(out, "wb") as f:
        f.write(body)
    for i, e in enumerate(expected):
        np.ascontiguousarray(e, dtype="<f4").tofile("%s.%d.f32" % (out, i))
    print("messages", len(msgs), "points", n)


if __name__ == "__main__":
    main()
