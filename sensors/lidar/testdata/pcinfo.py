#!/usr/bin/python3
"""Independent point-cloud reader for cross-checking the Go package: numpy only, written
from the format specs (PCD: pointclouds.org "The PCD file format" + liblzf's format; PLY:
Turk 1994 / paulbourke.net; raw .bin: float32 records). Shares no code with the Go side.

  pcinfo.py [--stride N] [--intensity NAME] FILE...

Prints one JSON object per file: points, nans (points with NaN x/y/z), min/max of x,y,z over
points with finite x,y,z, intensity range over those points, and per field: type, count,
sum of finite values (float64) and the values of points 0, n//2 and n-1 (NaN -> null).
"""
import json
import math
import sys

import numpy as np

PCD_TYPES = {('F', 4): 'f4', ('F', 8): 'f8', ('U', 1): 'u1', ('U', 2): 'u2', ('U', 4): 'u4',
             ('U', 8): 'u8', ('I', 1): 'i1', ('I', 2): 'i2', ('I', 4): 'i4', ('I', 8): 'i8'}
PLY_TYPES = {'char': 'i1', 'uchar': 'u1', 'short': 'i2', 'ushort': 'u2', 'int': 'i4', 'uint': 'u4',
             'float': 'f4', 'double': 'f8', 'int8': 'i1', 'uint8': 'u1', 'int16': 'i2', 'uint16': 'u2',
             'int32': 'i4', 'uint32': 'u4', 'float32': 'f4', 'float64': 'f8'}
NAMES = {'f4': 'float32', 'f8': 'float64', 'u1': 'uint8', 'u2': 'uint16', 'u4': 'uint32', 'u8': 'uint64',
         'i1': 'int8', 'i2': 'int16', 'i4': 'int32', 'i8': 'int64'}


def lzf_decompress(src, out_len):
    out = bytearray()
    i, n = 0, len(src)
    while i < n:
        ctrl = src[i]
        i += 1
        if ctrl < 32:
            out += src[i:i + ctrl + 1]
            i += ctrl + 1
            continue
        ln = ctrl >> 5
        if ln == 7:
            ln += src[i]
            i += 1
        ln += 2
        ref = len(out) - ((ctrl & 0x1f) << 8) - src[i] - 1
        i += 1
        if ref + ln <= len(out):
            out += out[ref:ref + ln]
        else:
            for _ in range(ln):
                out.append(out[ref])
                ref += 1
    if len(out) != out_len:
        raise ValueError('lzf: %d bytes, expected %d' % (len(out), out_len))
    return bytes(out)


def text_column(tok, code):
    """tok: array of str; parse as the field's type."""
    if code[0] == 'f':
        return np.array([float(t) for t in tok], dtype=np.float64).astype(code)
    return np.array([int(float(t)) if ('.' in t or 'e' in t.lower()) else int(t) for t in tok], dtype=code)


def read_pcd(b):
    hdr, pos = {}, 0
    while True:
        nl = b.index(b'\n', pos)
        line = b[pos:nl].decode('ascii').strip()
        pos = nl + 1
        if not line or line.startswith('#'):
            continue
        k, _, v = line.partition(' ')
        hdr[k.upper()] = v.split()
        if k.upper() == 'DATA':
            break
    names = hdr['FIELDS']
    sizes = [int(s) for s in hdr['SIZE']]
    types = hdr['TYPE']
    counts = [int(c) for c in hdr.get('COUNT', ['1'] * len(names))]
    width = int(hdr['WIDTH'][0])
    height = int(hdr.get('HEIGHT', ['1'])[0])
    n = int(hdr.get('POINTS', [str(width * height)])[0])
    codes = [PCD_TYPES[(t, s)] for t, s in zip(types, sizes)]
    mode = hdr['DATA'][0]
    cols = []
    if mode == 'ascii':
        rows = [r.split() for r in b[pos:].decode('ascii').split('\n') if r.strip()][:n]
        tok = np.array(rows, dtype=object).reshape(n, -1) if n else np.zeros((0, sum(counts)), object)
        k = 0
        for code, c in zip(codes, counts):
            cols.append(text_column(tok[:, k:k + c].reshape(-1), code).reshape(n, c))
            k += c
    elif mode == 'binary':
        rec = sum(s * c for s, c in zip(sizes, counts))
        raw = np.frombuffer(b, dtype=np.uint8, count=rec * n, offset=pos).reshape(n, rec)
        off = 0
        for code, s, c in zip(codes, sizes, counts):
            cols.append(raw[:, off:off + s * c].copy().view('<' + code).reshape(n, c))
            off += s * c
    else:
        csz, usz = np.frombuffer(b, dtype='<u4', count=2, offset=pos)
        raw = lzf_decompress(b[pos + 8:pos + 8 + int(csz)], int(usz))
        off = 0
        for code, s, c in zip(codes, sizes, counts):
            cols.append(np.frombuffer(raw, dtype='<' + code, count=n * c, offset=off).reshape(n, c))
            off += n * s * c
    return dict(format='pcd', encoding=mode, width=width, height=height,
                fields=list(zip(names, codes, counts, cols)))


def read_ply(b):
    pos, elems, fmt = 0, [], None
    while True:
        nl = b.index(b'\n', pos)
        w = b[pos:nl].decode('ascii').split()
        pos = nl + 1
        if not w:
            continue
        if w[0] == 'format':
            fmt = w[1]
        elif w[0] == 'element':
            elems.append((w[1], int(w[2]), []))
        elif w[0] == 'property':
            if w[1] == 'list':
                elems[-1][2].append((w[4], PLY_TYPES[w[3]], PLY_TYPES[w[2]]))
            else:
                elems[-1][2].append((w[2], PLY_TYPES[w[1]], None))
        elif w[0] == 'end_header':
            break
    bo = '>' if fmt == 'binary_big_endian' else '<'
    if fmt == 'ascii':
        tok = b[pos:].decode('ascii').split()
        t = 0
        for name, cnt, props in elems:
            if name == 'vertex':
                np_ = len(props)
                m = np.array(tok[t:t + cnt * np_], dtype=object).reshape(cnt, np_)
                return dict(format='ply', encoding=fmt, width=cnt, height=1,
                            fields=[(p[0], p[1], 1, text_column(m[:, i], p[1]).reshape(cnt, 1))
                                    for i, p in enumerate(props)])
            for _ in range(cnt):
                for pn, code, ctype in props:
                    t += 1 + (int(tok[t]) if ctype else 0)
    for name, cnt, props in elems:
        if name == 'vertex':
            dt = np.dtype([('p%d' % i, bo + p[1]) for i, p in enumerate(props)])
            a = np.frombuffer(b, dtype=dt, count=cnt, offset=pos)
            return dict(format='ply', encoding=fmt, width=cnt, height=1,
                        fields=[(p[0], p[1], 1, a['p%d' % i].astype(p[1]).reshape(cnt, 1))
                                for i, p in enumerate(props)])
        for _ in range(cnt):
            for pn, code, ctype in props:
                sz = np.dtype(code).itemsize
                if ctype:
                    k = int(np.frombuffer(b, dtype=bo + ctype, count=1, offset=pos)[0])
                    pos += np.dtype(ctype).itemsize + k * sz
                else:
                    pos += sz
    raise ValueError('no vertex element')


def read_bin(path, stride):
    a = np.fromfile(path, dtype='<f4').reshape(-1, stride)
    names = ['x', 'y', 'z', 'intensity'] + ['ring' if (stride == 5 and k == 4) else 'f%d' % k for k in range(4, stride)]
    return dict(format='bin', encoding='float32', width=a.shape[0], height=1,
                fields=[(names[k], 'f4', 1, a[:, k:k + 1]) for k in range(stride)])


def read_xyz(path):
    a = np.loadtxt(path, usecols=(0, 1, 2), ndmin=2)
    return dict(format='xyz', encoding='ascii', width=a.shape[0], height=1,
                fields=[(nm, 'f4', 1, a[:, k:k + 1].astype('f4')) for k, nm in enumerate('xyz')])


def num(v):
    v = float(v)
    return None if math.isnan(v) else v


def summarise(path, stride, intensity):
    if path.endswith('.pcd.bin'):
        d = read_bin(path, stride or 5)
    elif path.endswith('.bin'):
        d = read_bin(path, stride or 4)
    elif path.endswith('.xyz'):
        d = read_xyz(path)
    else:
        b = open(path, 'rb').read()
        d = read_ply(b) if b.startswith(b'ply') else read_pcd(b)
    cols = {}
    for name, code, c, col in d['fields']:
        cols.setdefault(name, col)
    n = cols['x'].shape[0]
    xyz = np.stack([cols[a][:, 0].astype(np.float32) for a in 'xyz'], axis=1)
    fin = np.isfinite(xyz).all(axis=1)
    out = dict(points=n, nans=int(np.isnan(xyz).any(axis=1).sum()), encoding=d['encoding'],
               width=d['width'], height=d['height'])
    if fin.any():
        out['min'] = [float(v) for v in xyz[fin].min(axis=0)]
        out['max'] = [float(v) for v in xyz[fin].max(axis=0)]
        if intensity in cols:
            iv = cols[intensity][:, 0].astype(np.float32)[fin]
            iv = iv[~np.isnan(iv)]
            if iv.size:
                out['imin'], out['imax'] = float(iv.min()), float(iv.max())
    out['fields'] = []
    for name, code, c, col in d['fields']:
        f = dict(name=name, type=NAMES[code], count=c)
        v = col.astype(np.float64)
        f['sum'] = float(v[np.isfinite(v)].sum())
        f['samples'] = {str(i): [num(x) for x in col[i]] for i in sorted({0, n // 2, n - 1}) if n}
        out['fields'].append(f)
    return out


def main():
    args, stride, intensity = sys.argv[1:], 0, 'intensity'
    while args and args[0].startswith('--'):
        if args[0] == '--stride':
            stride = int(args[1])
        elif args[0] == '--intensity':
            intensity = args[1]
        args = args[2:]
    for p in args:
        print(json.dumps(summarise(p, stride, intensity)))


if __name__ == '__main__':
    main()
