// nms.cu -- device code for package gpu: greedy rotated-BEV NMS with the
// exact semantics of filters/postprocess (nms.go, iou.go). Device code only;
// gen-ptx.sh compiles it to nms.ptx with clang-16.
//
// The host sorts the boxes by score (postprocess's stable key) and computes
// each box's footprint (corners, centre, area, radius) in float64 exactly as
// postprocess.makeRect, so that the GPU sees the same doubles. nms_mask then
// evaluates every pair (i < j in rank order) with postprocess.interArea's
// operations in the same order (-ffp-contract=off: mul.rn/add.rn, IEEE
// division): the same IoU bits, the same "IoU > thr" decisions. nms_greedy
// runs the greedy pass over the bit matrix in one block.
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __attribute__((always_inline)) inline

#define NMS_BLOCK 64       // boxes per mask word
#define MAX_POLY 12        // postprocess.maxPoly
#define NMS_MAX_WORDS 1024 // nms_greedy's shared "removed" words: at most 65,536 boxes
#define RECT 12            // doubles per footprint: 4 corners (x, y), cx, cy, area, r

typedef unsigned long long u64;

// inter_area is postprocess.interArea: Sutherland–Hodgman clipping of a by
// b's four edges (counter-clockwise, borders inside), then the shoelace sum.
static __device__ double inter_area(const double* a, const double* b) {
  if (a[10] == 0.0 || b[10] == 0.0) return 0.0;
  double buf[2][MAX_POLY][2];
  double(*in)[2] = buf[0];
  double(*out)[2] = buf[1];
  int n = 4;
  for (int i = 0; i < 4; i++) in[i][0] = a[2 * i], in[i][1] = a[2 * i + 1];
  for (int e = 0; e < 4 && n > 0; e++) {
    double e0x = b[2 * e], e0y = b[2 * e + 1];
    int e1 = (e + 1) & 3;
    double ex = b[2 * e1] - e0x, ey = b[2 * e1 + 1] - e0y;
    int m = 0;
    double px = in[n - 1][0], py = in[n - 1][1];
    double dp = ex * (py - e0y) - ey * (px - e0x);
    for (int i = 0; i < n; i++) {
      double qx = in[i][0], qy = in[i][1];
      double dq = ex * (qy - e0y) - ey * (qx - e0x);
      if (dq >= 0.0) {
        if (dp < 0.0 && dq > 0.0 && m < MAX_POLY) {
          double t = dp / (dp - dq);
          out[m][0] = px + t * (qx - px), out[m][1] = py + t * (qy - py);
          m++;
        }
        if (m < MAX_POLY) {
          out[m][0] = qx, out[m][1] = qy;
          m++;
        }
      } else if (dp >= 0.0 && m < MAX_POLY) {
        if (dp > 0.0) {
          double t = dp / (dp - dq);
          out[m][0] = px + t * (qx - px), out[m][1] = py + t * (qy - py);
          m++;
        }
      }
      px = qx, py = qy, dp = dq;
    }
    double(*tmp)[2] = in;
    in = out, out = tmp;
    n = m;
  }
  if (n < 3) return 0.0;
  double s = 0.0;
  for (int i = 0; i < n; i++) {
    int j = i + 1 == n ? 0 : i + 1;
    s += in[i][0] * in[j][1] - in[i][1] * in[j][0];
  }
  s = __builtin_fabs(s) / 2.0;
  if (!(s > 0.0)) return 0.0;
  double mab = a[10] < b[10] ? a[10] : b[10];
  return s < mab ? s : mab;
}

// nms_mask: block (cb, rb) decides, for the boxes i of row block rb and j of
// column block cb with j > i (ranks), whether i suppresses j if i is kept:
// bit j%64 of mask[i*nw + cb]. As postprocess.NMS.run: both footprints have
// area, the circumscribed circles overlap (dx² + dy² < (ra + rb)²), the
// classes match when cls is not null, and inter > 0 with inter/union > thr.
// Blocks below the diagonal exit: the greedy pass never reads those words.
extern "C" __global__ void nms_mask(const double* __restrict__ rects, const int* __restrict__ cls, int n, int nw,
                                    double thr, u64* __restrict__ mask) {
  int rb = blockIdx.y, cb = blockIdx.x;
  if (cb < rb) return;
  __shared__ double col[NMS_BLOCK * RECT];
  __shared__ int ccls[NMS_BLOCK];
  int t = threadIdx.x;
  int ncol = n - cb * NMS_BLOCK < NMS_BLOCK ? n - cb * NMS_BLOCK : NMS_BLOCK;
  for (int k = t; k < ncol * RECT; k += NMS_BLOCK) col[k] = rects[(long)cb * NMS_BLOCK * RECT + k];
  if (t < ncol) ccls[t] = cls ? cls[cb * NMS_BLOCK + t] : 0;
  __syncthreads();
  int i = rb * NMS_BLOCK + t;
  if (i >= n) return;
  double a[RECT];
  for (int k = 0; k < RECT; k++) a[k] = rects[(long)i * RECT + k];
  int ca = cls ? cls[i] : 0;
  u64 bits = 0;
  if (a[10] > 0.0) {
    int j0 = cb == rb ? t + 1 : 0;
    for (int jj = j0; jj < ncol; jj++) {
      const double* b = col + jj * RECT;
      if (!(b[10] > 0.0)) continue;
      double dx = a[8] - b[8], dy = a[9] - b[9];
      double rr = a[11] + b[11];
      if (dx * dx + dy * dy >= rr * rr) continue;
      if (ccls[jj] != ca) continue;
      double in = inter_area(a, b);
      if (in > 0.0 && in / (a[10] + b[10] - in) > thr) bits |= 1ull << jj;
    }
  }
  mask[(long)i * nw + cb] = bits;
}

// nms_greedy: the greedy pass in one block of 1024 threads, 64 boxes (one
// mask word) at a time: thread 0 walks the chunk's diagonal word in order
// (kept unless an earlier kept box removed it; a kept box removes its row),
// then all threads OR the kept rows into the later words. keep gets the
// kept ranks in ascending rank (descending score) order, keep_n their number.
extern "C" __global__ void nms_greedy(const u64* __restrict__ mask, int n, int nw, int* __restrict__ keep,
                                      int* __restrict__ keep_n) {
  __shared__ u64 removed[NMS_MAX_WORDS];
  __shared__ u64 diag[NMS_BLOCK];
  __shared__ u64 kept_bits;
  __shared__ int nkept;
  int t = threadIdx.x;
  for (int w = t; w < nw; w += blockDim.x) removed[w] = 0;
  if (t == 0) nkept = 0;
  __syncthreads();
  for (int c = 0; c < nw; c++) {
    int nc = n - c * NMS_BLOCK < NMS_BLOCK ? n - c * NMS_BLOCK : NMS_BLOCK;
    if (t < nc) diag[t] = mask[(long)(c * NMS_BLOCK + t) * nw + c];
    __syncthreads();
    if (t == 0) {
      u64 r = removed[c], kb = 0;
      for (int b = 0; b < nc; b++) {
        u64 k = ((r >> b) & 1ull) ^ 1ull;  // 1: kept
        r |= diag[b] & (0ull - k);
        kb |= k << b;
      }
      kept_bits = kb;
    }
    __syncthreads();
    u64 kb = kept_bits;
    int base = nkept;
    if (t < NMS_BLOCK && ((kb >> t) & 1ull))
      keep[base + __builtin_popcountll(kb & ((1ull << t) - 1ull))] = c * NMS_BLOCK + t;
    int rest = nw - c - 1;
    if (rest > 0 && kb) {
      int groups = (int)blockDim.x / rest;
      if (groups < 1) groups = 1;
      if (groups > NMS_BLOCK) groups = NMS_BLOCK;
      for (int idx = t; idx < rest * groups; idx += blockDim.x) {
        int w = c + 1 + idx % rest, g = idx / rest;
        u64 acc = 0, bits = kb;
        while (bits) {
          int b = __builtin_ctzll(bits);
          bits &= bits - 1;
          if (b % groups == g) acc |= mask[(long)(c * NMS_BLOCK + b) * nw + w];
        }
        if (acc) __nvvm_atom_or_gen_ll((long long*)&removed[w], (long long)acc);
      }
    }
    __syncthreads();
    if (t == 0) nkept = base + __builtin_popcountll(kb);
    __syncthreads();
  }
  if (t == 0) *keep_n = nkept;
}
